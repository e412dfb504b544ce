//! Files in memory mode: the local server hands out presigned-looking URLs
//! to itself and keeps the bytes, so the same client steps (PUT the bytes
//! to `upload_url`, follow the download's redirect) work with no S3. A URL
//! carries its expiry and a keyed SHA-256 over everything it allows, as a
//! presigned S3 URL does; the expiry reads the business clock, so
//! `/dev/clock` can make one expire.

use async_trait::async_trait;
use http_body_util::Full;
use hyper::body::Bytes;
use khamsa_app::ports::{Clock, FileUrls, StoreResult, TAG_ATTACHED, TAG_UNATTACHED};
use khamsa_aws::s3::{attachment_disposition, pct, tagging_xml};
use khamsa_domain::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the local server serves its files.
pub const PREFIX: &str = "/dev/files/";

struct Blob {
    /// Tagged attached (kept), as S3 tags it; pending uploads are not.
    attached: bool,
    content_type: String,
    bytes: Bytes,
}

pub struct LocalFiles {
    base: String,
    secret: [u8; 32],
    clock: Arc<dyn Clock>,
    blobs: Mutex<HashMap<String, Blob>>,
}

impl LocalFiles {
    pub fn new(public_url: &str, clock: Arc<dyn Clock>) -> LocalFiles {
        LocalFiles {
            base: public_url.trim_end_matches('/').to_owned(),
            secret: rand::random(),
            clock,
            blobs: Mutex::new(HashMap::new()),
        }
    }

    fn sig(&self, parts: &[&str]) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Answers `PUT` or `GET` on [`PREFIX`]`{key}?…`: 403 for a URL that is
    /// forged, expired, or sent with another type or size than it allows
    /// (as S3 answers a signature mismatch), 404 for bytes never uploaded.
    pub fn serve(
        &self,
        method: &str,
        key: &str,
        query: &str,
        content_type: Option<&str>,
        tagging: Option<&str>,
        body: Bytes,
    ) -> hyper::Response<Full<Bytes>> {
        // A file's lifecycle tag, as S3's `GetObjectTagging` answers it, so
        // the tests can check it here as on moto. Unsigned: this is the dev
        // server, and a tag says nothing of the bytes.
        if method == "GET" && query == "tagging" {
            let blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
            return match blobs.get(key) {
                None => status(404, "NoSuchKey"),
                Some(b) => {
                    let tag = if b.attached {
                        TAG_ATTACHED
                    } else {
                        TAG_UNATTACHED
                    };
                    hyper::Response::builder()
                        .status(200)
                        .header("content-type", "application/xml")
                        .body(Full::new(Bytes::from(tagging_xml(tag))))
                        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
                }
            };
        }
        let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
        let expires = get("expires");
        let expired = expires
            .parse::<i64>()
            .ok()
            .is_none_or(|e| self.clock.now() > Timestamp(e));
        let parts: Vec<&str> = match method {
            "PUT" => vec!["PUT", key, get("type"), get("size"), expires],
            "GET" => vec!["GET", key, get("name"), expires],
            _ => return status(405, "method not allowed"),
        };
        if get("sig") != self.sig(&parts) {
            return status(403, "SignatureDoesNotMatch");
        }
        if expired {
            return status(403, "AccessDenied: Request has expired");
        }
        let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        if method == "PUT" {
            if tagging != Some(TAG_UNATTACHED) {
                return status(403, "SignatureDoesNotMatch: x-amz-tagging missing");
            }
            if content_type != Some(get("type")) || body.len().to_string() != get("size") {
                return status(403, "SignatureDoesNotMatch: type or size differs");
            }
            blobs.insert(
                key.to_owned(),
                Blob {
                    attached: false,
                    content_type: get("type").to_owned(),
                    bytes: body,
                },
            );
            return status(200, "");
        }
        match blobs.get(key) {
            None => status(404, "NoSuchKey"),
            Some(b) => hyper::Response::builder()
                .status(200)
                .header("content-type", b.content_type.as_str())
                .header("content-disposition", attachment_disposition(get("name")))
                .header("x-content-type-options", "nosniff")
                .body(Full::new(b.bytes.clone()))
                .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))),
        }
    }
}

fn status(code: u16, text: &str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(code)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(text.to_owned())))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

#[async_trait]
impl FileUrls for LocalFiles {
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        _now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String> {
        let (size, exp) = (size.to_string(), expires.millis().to_string());
        let sig = self.sig(&["PUT", key, content_type, &size, &exp]);
        Ok(format!(
            "{}{PREFIX}{key}?type={}&size={size}&expires={exp}&sig={sig}",
            self.base,
            pct(content_type)
        ))
    }

    async fn tag(&self, key: &str, attached: bool) -> StoreResult<bool> {
        let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(blobs.get_mut(key).map(|b| b.attached = attached).is_some())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        blobs.remove(key);
        Ok(())
    }

    async fn download_url(
        &self,
        key: &str,
        name: &str,
        _now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String> {
        let exp = expires.millis().to_string();
        let sig = self.sig(&["GET", key, name, &exp]);
        Ok(format!(
            "{}{PREFIX}{key}?name={}&expires={exp}&sig={sig}",
            self.base,
            pct(name)
        ))
    }
}
