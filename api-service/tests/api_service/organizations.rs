//! The caller's organization: read and partially updated by its own unscoped keys only, its
//! cover handle stored under `covers/organization/…`, and its colors and theme the fallback of
//! collections and tracks that have none.

use reqwest::Method;
use serde_json::{Value, json};

use api_service::testing::{TestApp, upload};

fn path(app: &TestApp) -> String {
    format!("/v1/organization/{}", app.organization_id)
}

#[tokio::test]
async fn an_organization_reads_and_updates_itself_and_nothing_else() {
    let app = TestApp::spawn().await;
    let read = app.get(&path(&app)).await;
    let body = read.ok();
    assert_eq!(body["organization_id"], app.organization_id.to_string());
    let organization = &body["organization"];
    assert_eq!(organization["name"], "Test org");
    assert_eq!(organization["is_cover_overridable"], true);
    assert_eq!(organization["is_theme_overridable"], true);
    for unset in [
        "cover_image",
        "blurhash",
        "image_colors",
        "player_color",
        "theme",
    ] {
        assert_eq!(organization[unset], Value::Null, "{unset}");
    }

    let update =
        json!({"name": "Renamed", "player_color": "#aa0011", "is_theme_overridable": false});
    let updated = app.put(&path(&app), &update).await;
    let organization = &updated.ok()["organization"];
    assert_eq!(organization["name"], "Renamed");
    assert_eq!(organization["player_color"], "#aa0011");
    assert_eq!(organization["is_theme_overridable"], false);
    assert_eq!(organization["is_cover_overridable"], true, "left unchanged");
    assert_eq!(
        app.get(&path(&app)).await.ok()["organization"],
        *organization
    );

    // Another organization's id, existing or not, reads as missing; a malformed one is 400.
    let other = app.other_organization_key().await;
    app.as_key(&other, Method::GET, &path(&app))
        .await
        .assert_error(404, "not_found");
    let unknown = format!("/v1/organization/{}", uuid::Uuid::new_v4());
    app.get(&unknown).await.assert_error(404, "not_found");
    app.get("/v1/organization/not-a-uuid")
        .await
        .assert_error(400, "invalid_id");
    // A key scoped to one collection may not touch the organization.
    let collection = app.collection_id("Scoped").await;
    let scoped = app.new_key(Some(&collection)).await;
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::PUT, ""),
        (Method::POST, "/cover"),
    ] {
        let request = app
            .client
            .request(method, format!("{}{}{suffix}", app.address, path(&app)))
            .bearer_auth(&scoped)
            .json(&json!({}));
        app.send(request).await.assert_error(403, "forbidden");
    }
}

#[tokio::test]
async fn bad_organization_updates_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"name": ""}), "`name`"),
        (json!({"name": "x".repeat(201)}), "`name`"),
        (json!({"player_color": "red"}), "`player_color`"),
        (json!({"theme": {"light": {"background": "#fff"}}}), "theme"),
    ];
    for (body, named) in cases {
        let answer = app.put(&path(&app), &body).await;
        let message = answer.assert_error(400, "invalid_field");
        assert!(message.contains(named), "{body}: {message}");
    }
    let answer = app.put(&path(&app), &json!({"title": "not a field"})).await;
    let message = answer.assert_error(400, "invalid_field");
    assert!(message.contains("unknown field `title`"), "{message}");
    let organization = app.get(&path(&app)).await.ok()["organization"].clone();
    assert_eq!(organization["name"], "Test org", "nothing changed");
}

#[tokio::test]
async fn an_organization_cover_handle_uploads_under_the_organization_key() {
    let app = TestApp::spawn().await;
    let answer = app.post(&format!("{}/cover", path(&app)), &json!({})).await;
    let body = answer.ok();
    assert_eq!(body["organization"]["name"], "Test org");
    let handle = &body["organization_cover_upload"];
    let key = format!(
        "covers/organization/{}/{}",
        app.organization_id,
        handle["id"].as_str().unwrap()
    );
    assert_eq!(handle["fields"]["key"], key);
    let status = upload(handle, vec![0x89, b'P', b'N', b'G'], "image/png", None).await;
    assert!(status.is_success(), "upload answered {status}");
    assert!(
        app.s3
            .storage()
            .unwrap()
            .head(&key)
            .await
            .unwrap()
            .is_some()
    );

    let upload_path = format!("/v1/cover_upload/{}", handle["id"].as_str().unwrap());
    let cover_upload = app.get(&upload_path).await.ok()["cover_upload"].clone();
    assert_eq!(cover_upload["target_kind"], "organization");
    assert_eq!(cover_upload["status"], "pending");
    assert_eq!(cover_upload["collection_id"], Value::Null);
    assert_eq!(cover_upload["track_id"], Value::Null);
    let collection = app.collection_id("Scoped").await;
    let scoped = app.new_key(Some(&collection)).await;
    app.as_key(&scoped, Method::GET, &upload_path)
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test]
async fn collections_and_tracks_without_colors_show_the_organizations() {
    let app = TestApp::spawn().await;
    let theme = json!({"background": "#10203a", "text": "#f0f0f0", "text_secondary": "#c0c0c0",
                       "accent": "#e8a33d", "on_accent": "#1a1206"});
    let colors = json!({"player_color": "#aa0011", "theme": {"cover": theme, "light": theme, "dark": theme}});
    let organization = app.put(&path(&app), &colors).await.ok()["organization"].clone();
    let collection_id = app.collection_id("Plain").await;
    let track_path = format!("/v1/track/{}", app.track_id(&collection_id).await);
    let collection_path = format!("/v1/collection/{collection_id}");
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_eq!(record["player_color"], "#aa0011", "{name}");
        assert_eq!(record["theme"], organization["theme"], "{name}");
    }

    // The collection's own color wins over the organization's, for it and its track.
    app.put(&collection_path, &json!({"player_color": "#00aa11"}))
        .await
        .ok();
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_eq!(record["player_color"], "#00aa11", "{name}");
    }
    // Unless the organization refuses it.
    app.put(&path(&app), &json!({"is_theme_overridable": false}))
        .await
        .ok();
    let listed = app.get("/v1/collection").await.ok()["collections"][0].clone();
    assert_eq!(listed["player_color"], "#aa0011");
    let listed = app.get(&format!("{collection_path}/track")).await.ok()["tracks"][0].clone();
    assert_eq!(listed["player_color"], "#aa0011");
}
