//! Who may call what: keys, revocation, organization isolation and collection scopes.

use reqwest::Method;
use serde_json::json;

use api_service::testing::TestApp;

#[tokio::test]
async fn requests_without_a_key_are_401_missing_api_key() {
    let app = TestApp::spawn().await;
    let request = app.client.get(format!("{}/v1/collection", app.address));
    app.send(request).await.assert_error(401, "missing_api_key");
}

#[tokio::test]
async fn a_malformed_authorization_header_is_401_missing_api_key() {
    let app = TestApp::spawn().await;
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", &app.key] {
        let request = app
            .client
            .get(format!("{}/v1/collection", app.address))
            .header("Authorization", header);
        app.send(request).await.assert_error(401, "missing_api_key");
    }
}

#[tokio::test]
async fn an_unknown_key_is_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let answer = app
        .as_key("ck_not-a-real-key", Method::GET, "/v1/collection")
        .await;
    answer.assert_error(401, "invalid_api_key");
}

#[tokio::test]
async fn a_revoked_key_is_401_at_once() {
    let app = TestApp::spawn().await;
    let key = app.new_key(None).await;
    app.as_key(&key, Method::GET, "/v1/collection").await.ok();
    let key_id = api_service::db::api_keys::find_active(
        &app.db.pool.get().await.unwrap(),
        &api_service::auth::hash_key(&key),
    )
    .await
    .unwrap()
    .unwrap()
    .id;
    api_service::admin::revoke_key(&app.db.pool, key_id)
        .await
        .unwrap();
    let answer = app.as_key(&key, Method::GET, "/v1/collection").await;
    answer.assert_error(401, "invalid_api_key");
}

#[tokio::test]
async fn only_a_hash_of_the_key_is_stored() {
    let app = TestApp::spawn().await;
    let client = app.db.pool.get().await.unwrap();
    let row = client
        .query_one("SELECT key_hash FROM api_keys LIMIT 1", &[])
        .await
        .unwrap();
    let stored: Vec<u8> = row.get(0);
    assert_eq!(stored, api_service::auth::hash_key(&app.key));
    assert_eq!(stored.len(), 32);
}

#[tokio::test]
async fn another_organizations_resources_are_404_like_unknown_ids() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Mine").await;
    let track = app.track_id(&collection).await;
    let upload = app
        .post(&format!("/v1/collection/{collection}/cover"), &json!({}))
        .await;
    let upload = upload.ok()["collection_cover_upload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.other_organization_key().await;
    let unknown = uuid::Uuid::new_v4();
    for (method, path, unknown_path) in [
        (
            Method::GET,
            format!("/v1/collection/{collection}"),
            format!("/v1/collection/{unknown}"),
        ),
        (
            Method::PUT,
            format!("/v1/collection/{collection}"),
            format!("/v1/collection/{unknown}"),
        ),
        (
            Method::DELETE,
            format!("/v1/collection/{collection}"),
            format!("/v1/collection/{unknown}"),
        ),
        (
            Method::POST,
            format!("/v1/collection/{collection}/cover"),
            format!("/v1/collection/{unknown}/cover"),
        ),
        (
            Method::GET,
            format!("/v1/collection/{collection}/track"),
            format!("/v1/collection/{unknown}/track"),
        ),
        (
            Method::GET,
            format!("/v1/track/{track}"),
            format!("/v1/track/{unknown}"),
        ),
        (
            Method::DELETE,
            format!("/v1/track/{track}"),
            format!("/v1/track/{unknown}"),
        ),
        (
            Method::POST,
            format!("/v1/track/{track}/cover"),
            format!("/v1/track/{unknown}/cover"),
        ),
        (
            Method::GET,
            format!("/v1/cover_upload/{upload}"),
            format!("/v1/cover_upload/{unknown}"),
        ),
    ] {
        let send = |path: String| {
            let request = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .bearer_auth(&other);
            let request = if method == Method::PUT {
                request.json(&json!({ "title": "stolen" }))
            } else {
                request
            };
            app.send(request)
        };
        let foreign = send(path.clone()).await;
        let missing = send(unknown_path).await;
        foreign.assert_error(404, "not_found");
        missing.assert_error(404, "not_found");
        assert_eq!(foreign.body["message"], missing.body["message"], "{path}");
    }
    // Nothing was changed through the other organization's key.
    let mine = app.get(&format!("/v1/collection/{collection}")).await;
    assert_eq!(mine.ok()["collection"]["title"], "Mine");
    app.get(&format!("/v1/track/{track}")).await.ok();
}

#[tokio::test]
async fn a_collection_scoped_key_is_403_on_other_collections_and_their_tracks() {
    let app = TestApp::spawn().await;
    let allowed = app.collection_id("Allowed").await;
    let other = app.collection_id("Other").await;
    let other_track = app.track_id(&other).await;
    let allowed_track = app.track_id(&allowed).await;
    let key = app.new_key(Some(&allowed)).await;

    for (method, path) in [
        (Method::GET, format!("/v1/collection/{other}")),
        (Method::POST, format!("/v1/collection/{other}/cover")),
        (Method::GET, format!("/v1/collection/{other}/track")),
        (Method::GET, format!("/v1/track/{other_track}")),
        (Method::POST, format!("/v1/track/{other_track}/cover")),
    ] {
        let answer = app.as_key(&key, method, &path).await;
        assert_eq!(answer.status, 403, "{path}: {:#}", answer.body);
        assert_eq!(answer.body["code"], "forbidden", "{path}");
    }
    let create = app
        .client
        .post(format!("{}/v1/collection", app.address))
        .bearer_auth(&key)
        .json(&json!({ "title": "New" }));
    app.send(create).await.assert_error(403, "forbidden");
    app.as_key(&key, Method::GET, &format!("/v1/collection/{allowed}"))
        .await
        .ok();
    app.as_key(
        &key,
        Method::POST,
        &format!("/v1/collection/{allowed}/cover"),
    )
    .await
    .ok();
    app.as_key(&key, Method::GET, &format!("/v1/track/{allowed_track}"))
        .await
        .ok();
    let list = app.as_key(&key, Method::GET, "/v1/collection").await;
    let ids: Vec<_> = list.ok()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|collection| collection["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [allowed]);
}
