//! The cover lab and `/docs` as a browser gets them: embedded files, a strict
//! Content-Security-Policy naming only this API and the object store, and nothing from a CDN.
//! (`scripts/browser/lab-test.mjs` drives the page itself in Chromium.)

use api_service::testing::TestApp;

#[tokio::test]
async fn the_lab_is_served_under_a_policy_that_allows_only_this_api_and_the_store() {
    let app = TestApp::spawn().await;
    // The app reaches the store through its proxy, so that is the origin the page uploads to.
    let store = format!("http://{}", app.s3_proxy.addr());
    for (path, content_type) in [
        ("/lab", "text/html; charset=utf-8"),
        ("/lab/lab.js", "text/javascript; charset=utf-8"),
        ("/lab/lab.css", "text/css; charset=utf-8"),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; script-src 'self'; style-src 'self';"));
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(
            policy.contains(&format!("connect-src 'self' {store}")),
            "{policy}"
        );
        assert!(
            policy.contains(&format!("form-action {store};")),
            "{policy}"
        );
    }
    let page = app
        .client
        .get(format!("{}/lab", app.address))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/lab/lab.js">"#));
    assert!(!html.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn docs_serve_swagger_ui_for_the_openapi_document_from_embedded_files() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();

    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = get("/docs/").await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "nothing from another origin: {html}"
    );
    let initializer = get("/docs/swagger-initializer.js")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    let bundle = get("/docs/swagger-ui-bundle.js").await.unwrap();
    assert_eq!(bundle.status(), 200);
}
