//! Tracks: create (with a cover handle), read, list by collection, partial update, delete.

use serde_json::json;

use api_service::testing::TestApp;

#[tokio::test]
async fn a_track_can_be_created_read_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Album").await;
    let created = app
        .post(
            "/v1/track",
            &json!({
                "collection_id": collection,
                "index": 1,
                "duration": 215.5,
                "file_name": "song.mp3",
                "order": 3,
                "player_title": "Song",
                "metadata": { "isrc": "X" },
            }),
        )
        .await;
    let created = created.ok();
    let id = created["track_id"].as_str().unwrap();
    let track = &created["track"];
    assert_eq!(track["collection_id"], collection);
    assert_eq!(track["duration"], 215.5);
    assert_eq!(track["track_status_id"], "initialized");
    assert_eq!(track["organization_index"], 1);
    assert_eq!(created["track_cover_upload"]["method"], "POST");

    assert_eq!(
        app.get(&format!("/v1/track/{id}")).await.ok()["track"],
        *track
    );

    let updated = app
        .put(
            &format!("/v1/track/{id}"),
            &json!({ "player_subtitle": "Remix" }),
        )
        .await;
    let updated = &updated.ok()["track"];
    assert_eq!(updated["player_subtitle"], "Remix");
    assert_eq!(updated["player_title"], "Song");

    let moved = app
        .put(
            &format!("/v1/track/{id}"),
            &json!({ "collection_id": collection }),
        )
        .await;
    assert!(
        moved
            .assert_error(400, "invalid_field")
            .contains("`collection_id`")
    );

    assert_eq!(
        app.delete(&format!("/v1/track/{id}")).await.ok()["track_id"],
        id
    );
    app.get(&format!("/v1/track/{id}"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_track_in_an_unknown_collection_is_404() {
    let app = TestApp::spawn().await;
    let body = json!({ "collection_id": uuid::Uuid::new_v4() });
    app.post("/v1/track", &body)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_collections_tracks_are_listed_in_order_with_paging() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Album").await;
    let other = app.collection_id("Other").await;
    app.track_id(&other).await;
    for (title, order) in [("third", 3), ("first", 1), ("second", 2)] {
        let body = json!({ "collection_id": collection, "player_title": title, "order": order });
        app.post("/v1/track", &body).await.ok();
    }
    let list = app.get(&format!("/v1/collection/{collection}/track")).await;
    let titles: Vec<_> = list.ok()["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|track| track["player_title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["first", "second", "third"]);
    assert_eq!(list.body["count"], 3);
    let page = app
        .get(&format!(
            "/v1/collection/{collection}/track?limit=2&offset=2"
        ))
        .await;
    assert_eq!(page.ok()["tracks"][0]["player_title"], "third");
    assert_eq!(page.body["count"], 1);
}

#[tokio::test]
async fn a_track_cover_is_409_when_the_collection_is_not_cover_overridable() {
    let app = TestApp::spawn().await;
    let created = app
        .create_collection(json!({ "title": "Locked", "is_cover_overridable": false }))
        .await;
    let collection = created["collection_id"].as_str().unwrap();
    let track = app
        .post("/v1/track", &json!({ "collection_id": collection }))
        .await;
    // The track is created, but without a handle the collection would refuse.
    assert_eq!(track.ok()["track_cover_upload"], serde_json::Value::Null);
    let track_id = track.body["track_id"].as_str().unwrap();
    let answer = app
        .post(&format!("/v1/track/{track_id}/cover"), &json!({}))
        .await;
    answer.assert_error(409, "cover_not_overridable");

    let pending = app
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM cover_uploads WHERE track_id IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(pending, 0);
}
