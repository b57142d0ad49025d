//! The cover lab (`/lab`): a page to try covers on and see what the API makes of them (status,
//! placeholder, renditions, palette, player colors and theme). Its files are embedded in the
//! binary: no build step, nothing fetched from a CDN. The lab keeps its API key in the URL
//! fragment and `sessionStorage` (never sent but as `Authorization`), runs under a strict
//! Content-Security-Policy (no inline script or style, no origin but this API and the object
//! store the browser uploads to), and inserts nothing the API returns as HTML.

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpResponse, web};
use common::settings::S3Settings;

use crate::state::AppState;

const INDEX: &str = include_str!("../../static/lab/index.html");
const SCRIPT: &str = include_str!("../../static/lab/lab.js");
const STYLE: &str = include_str!("../../static/lab/lab.css");

pub async fn index(state: web::Data<AppState>) -> HttpResponse {
    file(&state, "text/html; charset=utf-8", INDEX)
}

pub async fn script(state: web::Data<AppState>) -> HttpResponse {
    file(&state, "text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style(state: web::Data<AppState>) -> HttpResponse {
    file(&state, "text/css; charset=utf-8", STYLE)
}

fn file(state: &AppState, content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((CONTENT_SECURITY_POLICY, state.lab_policy.as_str()))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((REFERRER_POLICY, "no-referrer"))
        // Revalidated, so a new release's page is picked up at once.
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// The lab's Content-Security-Policy: this API, plus the origin the browser uploads covers to
/// (`s3.public_endpoint`) and, when rendition URLs point at a CDN (`api.cover_base_url`), that
/// origin for the images (and the `fetch` that reads their size).
pub fn content_security_policy(s3: &S3Settings, cover_base_url: Option<&str>) -> String {
    let store = origin(s3.public_endpoint.as_deref().unwrap_or(&s3.endpoint));
    let images = cover_base_url
        .map(|url| format!(" {}", origin(url)))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' data:{images}; connect-src 'self' {store}{images}; \
         form-action {store}; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> &str {
    let authority_start = url.find("://").map_or(0, |at| at + 3);
    match url[authority_start..].find('/') {
        Some(path) => &url[..authority_start + path],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_store_and_the_cdn_once_each() {
        let s3 = S3Settings {
            endpoint: "http://minio:9000".to_owned(),
            public_endpoint: Some("http://127.0.0.1:9000/".to_owned()),
            ..S3Settings::default()
        };
        assert_eq!(
            content_security_policy(&s3, None),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' http://127.0.0.1:9000; form-action http://127.0.0.1:9000; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        let with_cdn = content_security_policy(&s3, Some("https://cdn.example.com/covers"));
        assert!(with_cdn.contains("img-src 'self' data: https://cdn.example.com;"));
        assert!(
            with_cdn.contains("connect-src 'self' http://127.0.0.1:9000 https://cdn.example.com;")
        );
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin("http://127.0.0.1:9000/media"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin("https://cdn.example.com"), "https://cdn.example.com");
        assert_eq!(
            origin("https://cdn.example.com/v1/cover_image"),
            "https://cdn.example.com"
        );
    }
}
