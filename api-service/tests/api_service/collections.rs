//! Collections: create (with a cover handle), read, list with paging, partial update, delete.

use serde_json::json;

use api_service::testing::TestApp;

#[tokio::test]
async fn a_collection_can_be_created_read_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let created = app
        .create_collection(json!({
            "title": "Blue Album",
            "creator_id": "artist-1",
            "metadata": { "genre": "rock" },
            "player_subtitle": "Live",
            "is_theme_overridable": false,
        }))
        .await;
    let id = created["collection_id"].as_str().unwrap();
    let collection = &created["collection"];
    assert_eq!(collection["id"], id);
    assert_eq!(
        collection["organization_id"],
        app.organization_id.to_string()
    );
    assert_eq!(collection["title"], "Blue Album");
    assert_eq!(collection["metadata"], json!({ "genre": "rock" }));
    assert_eq!(collection["organization_index"], 1);
    assert_eq!(collection["is_cover_overridable"], true);
    assert_eq!(collection["is_theme_overridable"], false);
    assert_eq!(collection["player_color"], serde_json::Value::Null);

    let read = app.get(&format!("/v1/collection/{id}")).await;
    assert_eq!(read.ok()["collection"], *collection);

    let updated = app
        .put(
            &format!("/v1/collection/{id}"),
            &json!({ "title": "Red Album", "player_color": "#aa0011" }),
        )
        .await;
    let updated = &updated.ok()["collection"];
    assert_eq!(updated["title"], "Red Album");
    assert_eq!(updated["player_color"], "#aa0011");
    // Fields absent from the PUT are unchanged.
    assert_eq!(updated["creator_id"], "artist-1");
    assert_eq!(updated["metadata"], json!({ "genre": "rock" }));
    assert_eq!(updated["is_theme_overridable"], false);

    let deleted = app.delete(&format!("/v1/collection/{id}")).await;
    assert_eq!(deleted.ok()["collection_id"], id);
    app.get(&format!("/v1/collection/{id}"))
        .await
        .assert_error(404, "not_found");
    app.delete(&format!("/v1/collection/{id}"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn creating_a_collection_returns_a_cover_handle_and_records_a_pending_upload() {
    let app = TestApp::spawn().await;
    let created = app
        .create_collection(json!({ "title": "With cover" }))
        .await;
    let handle = &created["collection_cover_upload"];
    assert_eq!(handle["method"], "POST");
    assert_eq!(handle["ttl"], 3600);
    assert_eq!(handle["file_field"], "file");
    let upload_id = handle["id"].as_str().unwrap();
    let upload = app.get(&format!("/v1/cover_upload/{upload_id}")).await;
    let upload = &upload.ok()["cover_upload"];
    assert_eq!(upload["status"], "pending");
    assert_eq!(upload["target_kind"], "collection");
    assert_eq!(upload["collection_id"], created["collection_id"]);
}

#[tokio::test]
async fn collections_are_listed_oldest_first_with_limit_and_offset() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for title in ["one", "two", "three"] {
        ids.push(app.collection_id(title).await);
    }
    let all = app.get("/v1/collection").await;
    assert_eq!(all.ok()["count"], 3);
    let titles: Vec<_> = all.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|collection| collection["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["one", "two", "three"]);
    let indexes: Vec<_> = all.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|collection| collection["organization_index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 2, 3]);

    let page = app.get("/v1/collection?limit=1&offset=1").await;
    assert_eq!(page.ok()["count"], 1);
    assert_eq!(page.body["collections"][0]["id"], ids[1]);
    let past_end = app.get("/v1/collection?offset=3").await;
    assert_eq!(past_end.ok()["collections"], json!([]));
}

/// What one organization's key reads is its own: no shared cache may keep it, nor its
/// errors (a 404 or a 401 cached by a proxy would answer the next caller).
#[tokio::test]
async fn answers_to_api_keys_are_never_cached() {
    let app = TestApp::spawn().await;
    let id = app.collection_id("Private").await;
    let get = reqwest::Method::GET;
    for request in [
        app.request(get.clone(), "/v1/collection"),
        app.request(get.clone(), &format!("/v1/collection/{id}")),
        app.request(
            get.clone(),
            &format!("/v1/collection/{}", uuid::Uuid::new_v4()),
        ),
        app.request(get, "/v1/collection").bearer_auth("ck_wrong"),
    ] {
        let response = request.send().await.unwrap();
        let url = response.url().clone();
        assert_eq!(response.headers()["cache-control"], "no-store", "{url}");
    }
}

#[tokio::test]
async fn a_client_may_set_a_theme_and_reads_the_true_ratios_of_its_colors() {
    let app = TestApp::spawn().await;
    let scheme = |background: &str, text: &str| {
        json!({
            "background": background, "text": text, "text_secondary": "#777777",
            "accent": "#000000", "on_accent": "#ffffff",
            // What a theme read from the API carries: ignored, recomputed.
            "contrast": {"text": 21, "text_secondary": 21, "accent": 21, "on_accent": 21},
        })
    };
    let theme = json!({
        "cover": scheme("#FFFFFF", "#767676"),
        "light": scheme("#ffffff", "#000000"),
        "dark": scheme("#000000", "#ffffff"),
    });
    let created = app
        .create_collection(json!({"title": "Set by hand", "theme": theme}))
        .await;
    let cover = &created["collection"]["theme"]["cover"];
    assert_eq!(cover["background"], "#ffffff", "stored lowercase");
    assert_eq!(cover["text"], "#767676");
    assert_eq!(cover["contrast"]["text"], 4.54);
    assert_eq!(
        cover["contrast"]["text_secondary"], 4.47,
        "shown as set, not enforced"
    );
    assert_eq!(cover["contrast"]["accent"], 21.0);

    let path = format!(
        "/v1/collection/{}",
        created["collection_id"].as_str().unwrap()
    );
    let mut bad = theme.clone();
    bad["dark"]["on_accent"] = json!("white");
    let message = app
        .put(&path, &json!({"theme": bad}))
        .await
        .assert_error(400, "invalid_field")
        .to_owned();
    assert!(message.contains("`theme.dark.on_accent`"), "{message}");
    let mut partial = theme.clone();
    partial["light"].as_object_mut().unwrap().remove("accent");
    let message = app
        .put(&path, &json!({"theme": partial}))
        .await
        .assert_error(400, "invalid_field")
        .to_owned();
    assert!(
        message.contains("`theme.light`: missing field `accent`"),
        "{message}"
    );
    let unchanged = app.get(&path).await.ok()["collection"]["theme"].clone();
    assert_eq!(unchanged, created["collection"]["theme"]);
}
