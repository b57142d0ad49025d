//! Bad input gets a precise 400/413 naming the field, in the error envelope.

use reqwest::Method;
use serde_json::json;

use api_service::testing::{JSON_BODY_LIMIT, TestApp};

#[tokio::test]
async fn a_malformed_uuid_in_the_path_is_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for (method, path, name) in [
        (Method::GET, "/v1/collection/not-a-uuid", "collection_id"),
        (Method::POST, "/v1/collection/123/cover", "collection_id"),
        (Method::GET, "/v1/collection/123/track", "collection_id"),
        (Method::GET, "/v1/track/xyz", "track_id"),
        (Method::POST, "/v1/track/xyz/cover", "track_id"),
        (Method::GET, "/v1/cover_upload/xyz", "cover_upload_id"),
    ] {
        let answer = app.send(app.request(method, path)).await;
        let message = answer.assert_error(400, "invalid_id");
        assert!(message.contains(name), "{path}: {message}");
    }
}

#[tokio::test]
async fn invalid_json_is_400_invalid_json() {
    let app = TestApp::spawn().await;
    let request = app
        .request(Method::POST, "/v1/collection")
        .header("Content-Type", "application/json")
        .body("{\"title\": ");
    app.send(request).await.assert_error(400, "invalid_json");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let request = app
        .request(Method::POST, "/v1/collection")
        .header("Content-Type", "text/plain")
        .body("title=x");
    app.send(request)
        .await
        .assert_error(415, "unsupported_media_type");
}

#[tokio::test]
async fn a_wrong_field_type_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Typed").await;
    for (path, body, field) in [
        ("/v1/collection".to_owned(), json!({ "title": 42 }), "title"),
        (
            format!("/v1/collection/{collection}"),
            json!({ "is_cover_overridable": "no" }),
            "is_cover_overridable",
        ),
        (
            "/v1/track".to_owned(),
            json!({ "collection_id": collection, "duration": "long" }),
            "duration",
        ),
        (
            "/v1/track".to_owned(),
            json!({ "collection_id": "nope" }),
            "collection_id",
        ),
        (
            "/v1/collection".to_owned(),
            json!({ "title": "x", "image_colors": [{ "hex": 1 }] }),
            "image_colors[0].hex",
        ),
    ] {
        let method = if path.starts_with("/v1/collection/") {
            Method::PUT
        } else {
            Method::POST
        };
        let answer = app.send(app.request(method, &path).json(&body)).await;
        let message = answer.assert_error(400, "invalid_field");
        assert!(message.contains(&format!("`{field}`")), "{body}: {message}");
    }
}

#[tokio::test]
async fn an_unknown_field_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let answer = app
        .post("/v1/collection", &json!({ "title": "x", "colour": "red" }))
        .await;
    let message = answer.assert_error(400, "invalid_field");
    assert!(message.contains("colour"), "{message}");
}

#[tokio::test]
async fn a_missing_required_field_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let answer = app
        .post("/v1/collection", &json!({ "creator_id": "me" }))
        .await;
    assert!(
        answer
            .assert_error(400, "invalid_field")
            .contains("`title`")
    );
    let answer = app
        .post("/v1/track", &json!({ "player_title": "Song" }))
        .await;
    assert!(
        answer
            .assert_error(400, "invalid_field")
            .contains("`collection_id`")
    );
}

#[tokio::test]
async fn a_player_color_that_is_not_rrggbb_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Colors").await;
    let track = app.track_id(&collection).await;
    for (path, field, value) in [
        (
            format!("/v1/collection/{collection}"),
            "player_color",
            "red",
        ),
        (
            format!("/v1/collection/{collection}"),
            "player_color_dark",
            "#12345",
        ),
        (format!("/v1/track/{track}"), "player_color", "#12345G"),
        (format!("/v1/track/{track}"), "player_color_light", "123456"),
    ] {
        let answer = app.put(&path, &json!({ field: value })).await;
        let message = answer.assert_error(400, "invalid_field");
        assert!(message.contains(&format!("`{field}`")), "{message}");
    }
    let answer = app
        .put(
            &format!("/v1/track/{track}"),
            &json!({ "player_color": "#A1b2C3" }),
        )
        .await;
    assert_eq!(answer.ok()["track"]["player_color"], "#A1b2C3");
}

#[tokio::test]
async fn metadata_that_is_not_an_object_is_400() {
    let app = TestApp::spawn().await;
    let answer = app
        .post("/v1/collection", &json!({ "title": "x", "metadata": [1] }))
        .await;
    assert!(
        answer
            .assert_error(400, "invalid_field")
            .contains("`metadata`")
    );
}

#[tokio::test]
async fn limit_outside_1_to_200_and_negative_offset_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Paged").await;
    for query in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=-1",
        "offset=-1",
        "offset=x",
    ] {
        let name = query.split('=').next().unwrap();
        for path in [
            "/v1/collection".to_owned(),
            format!("/v1/collection/{collection}/track"),
        ] {
            let answer = app.get(&format!("{path}?{query}")).await;
            let message = answer.assert_error(400, "invalid_query");
            assert!(message.contains(&format!("`{name}`")), "{query}: {message}");
        }
    }
    let answer = app.get("/v1/collection?page=2").await;
    assert!(answer.assert_error(400, "invalid_query").contains("`page`"));
    app.get("/v1/collection?limit=200&offset=0").await.ok();
    app.get("/v1/collection?limit=1").await.ok();
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::spawn().await;
    let body = json!({ "title": "x".repeat(JSON_BODY_LIMIT + 1) });
    let answer = app.post("/v1/collection", &body).await;
    let message = answer.assert_error(413, "payload_too_large");
    assert!(message.contains(&JSON_BODY_LIMIT.to_string()), "{message}");
    let collections = app.get("/v1/collection").await;
    assert_eq!(collections.ok()["count"], 0);
}

#[tokio::test]
async fn an_unknown_route_is_404_in_the_error_envelope() {
    let app = TestApp::spawn().await;
    app.get("/v1/albums").await.assert_error(404, "not_found");
}
