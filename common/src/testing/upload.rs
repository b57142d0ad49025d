//! What a client does with an upload handle: a `multipart/form-data` POST straight to the
//! store, as a browser form or `curl -F` sends it.

use std::collections::BTreeMap;

use crate::storage::PresignedUpload;

/// A signed upload form, ready to post.
#[derive(Debug, Clone)]
pub struct BrowserUpload {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    /// The form field that carries the file.
    pub file_field: String,
}

impl From<&PresignedUpload> for BrowserUpload {
    fn from(presigned: &PresignedUpload) -> Self {
        Self {
            url: presigned.url.clone(),
            fields: presigned.fields.clone(),
            // What S3's POST Object calls it; the API's handles say the same.
            file_field: "file".to_owned(),
        }
    }
}

impl BrowserUpload {
    /// The same signed fields aimed at another key, which the policy must refuse.
    pub fn with_key(mut self, key: &str) -> Self {
        self.fields.insert("key".to_owned(), key.to_owned());
        self
    }

    /// Posts every signed field, then `Content-Type`, then the file last (the store ignores
    /// fields after the file); returns the store's answer.
    pub async fn send(&self, content_type: &str, file: Vec<u8>) -> reqwest::StatusCode {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.fields {
            form = form.text(name.clone(), value.clone());
        }
        let file = reqwest::multipart::Part::bytes(file)
            .file_name("cover")
            .mime_str(content_type)
            .expect("a valid content type");
        form = form
            .text("Content-Type", content_type.to_owned())
            .part(self.file_field.clone(), file);
        reqwest::Client::new()
            .post(&self.url)
            .multipart(form)
            .send()
            .await
            .expect("the store answers")
            .status()
    }
}
