//! Presigned S3 URLs for files (product.md "Files"), signed with
//! `aws-sigv4` alone: the whole S3 SDK is not linked for two URL shapes.
//! The bucket is private; a URL lets its holder PUT one object of the
//! declared type and size, or GET one as an attachment, for a few minutes.
//!
//! An upload signs `x-amz-tagging: khamsa-file=unattached`, which the
//! bucket's lifecycle expires after a day; attaching the file sends one
//! `PutObjectTagging` (`khamsa-file=attached`), signed the same way and
//! sent on the functions' HTTPS connector, whose `404` says the bytes
//! never arrived. An ended order's files go by one `DeleteObject` each,
//! on the same connector, 90 days after the order ended (the timers).

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningInstructions,
    SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;
use base64::Engine;
use khamsa_app::ports::{
    FileUrls, StoreError, StoreResult, TAG_ATTACHED, TAG_UNATTACHED, TAGGING_HEADER,
};
use khamsa_domain::Timestamp;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct S3Urls {
    bucket: String,
    region: String,
    /// Path-style base (`http://127.0.0.1:5000`) for an emulator, from
    /// `AWS_ENDPOINT_URL_S3`; virtual-hosted AWS otherwise.
    endpoint: Option<String>,
    credentials: SharedCredentialsProvider,
    /// For tagging; `None` where only URLs are made (unit tests). Built
    /// on the first tagging request, not at start-up: a connector parses
    /// the CA bundle, and most requests tag nothing (issue 11).
    http: Option<Http>,
}

struct Http {
    make: Box<dyn Fn() -> aws_smithy_http_client::Connector + Send + Sync>,
    built: std::sync::OnceLock<aws_smithy_http_client::Connector>,
}

impl S3Urls {
    pub fn new(
        bucket: String,
        region: String,
        endpoint: Option<String>,
        credentials: SharedCredentialsProvider,
    ) -> S3Urls {
        S3Urls {
            bucket,
            region,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            credentials,
            http: None,
        }
    }

    /// Sends tagging requests on the connector `make` builds, once, when
    /// the first is sent.
    pub fn with_connector(
        mut self,
        make: impl Fn() -> aws_smithy_http_client::Connector + Send + Sync + 'static,
    ) -> S3Urls {
        self.http = Some(Http {
            make: Box::new(make),
            built: std::sync::OnceLock::new(),
        });
        self
    }

    /// From the SDK's settings: region, credentials, and
    /// `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) when set.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: String) -> Result<S3Urls, String> {
        let credentials = sdk
            .credentials_provider()
            .ok_or("no AWS credentials provider")?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok()
            .filter(|e| !e.is_empty());
        let sdk = sdk.clone();
        Ok(S3Urls::new(bucket, region, endpoint, credentials)
            .with_connector(move || crate::https::connector(&sdk)))
    }

    /// The object's URL, before signing.
    pub fn object_url(&self, key: &str) -> String {
        match &self.endpoint {
            Some(e) => format!("{e}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket, self.region
            ),
        }
    }

    /// `PutObjectTagging` with one `khamsa-file` tag: `Ok(false)` when
    /// the object is not there (`404 NoSuchKey`).
    async fn put_tagging(&self, key: &str, tagging: &str) -> StoreResult<bool> {
        let body = tagging_xml(tagging);
        let digest = Sha256::digest(body.as_bytes());
        // S3 wants a checksum of a tagging body (Content-MD5 or this one).
        let checksum = base64::engine::general_purpose::STANDARD.encode(digest);
        let url = format!("{}?tagging", self.object_url(key));
        let headers = [
            ("content-type", "application/xml"),
            ("x-amz-checksum-sha256", checksum.as_str()),
        ];
        let status = self.send_signed("PUT", &url, &headers, body).await?;
        // The body streams; the status says enough: 404 is NoSuchKey (a
        // missing bucket would fail every upload first).
        match status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(StoreError::Unavailable(format!(
                "S3 tagging {key}: status {status}"
            ))),
        }
    }

    /// `DeleteObject`: `204`, and `404` for an object (or version) already
    /// gone, are both done.
    async fn delete_object(&self, key: &str) -> StoreResult<()> {
        let url = self.object_url(key);
        let status = self.send_signed("DELETE", &url, &[], String::new()).await?;
        match status {
            200..=299 | 404 => Ok(()),
            _ => Err(StoreError::Unavailable(format!(
                "S3 delete {key}: status {status}"
            ))),
        }
    }

    /// One SigV4-signed request (headers, payload hash in
    /// `x-amz-content-sha256`) on the connector, built on first use; its
    /// status.
    async fn send_signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> StoreResult<u16> {
        let http = self
            .http
            .as_ref()
            .map(|h| h.built.get_or_init(|| (h.make)()))
            .ok_or_else(|| StoreError::Unavailable("no HTTPS connector for S3".into()))?;
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let instructions = self
            .sign_s3(
                method,
                url,
                headers,
                SignableBody::Bytes(body.as_bytes()),
                settings,
                SystemTime::now(),
            )
            .await?;
        let mut req = Request::new(SdkBody::from(body));
        req.set_method(method)
            .map_err(|e| StoreError::Unavailable(format!("S3 request: {e}")))?;
        req.set_uri(url)
            .map_err(|e| StoreError::Unavailable(format!("S3 request: {e}")))?;
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            req.headers_mut().insert(k.to_owned(), v.to_owned());
        }
        let resp = http
            .call(req)
            .await
            .map_err(|e| StoreError::Unavailable(format!("S3 {method}: {e}")))?;
        Ok(resp.status().as_u16())
    }

    /// SigV4 for S3 with the provider's current credentials, as of `time`:
    /// the headers or query parameters to add. The path is signed as sent
    /// (no double encoding, no normalizing), as S3 expects; `settings` says
    /// the rest (where the signature goes, how long it lasts, the payload).
    async fn sign_s3(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: SignableBody<'_>,
        mut settings: SigningSettings,
        time: SystemTime,
    ) -> StoreResult<SigningInstructions> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| StoreError::Unavailable(format!("credentials: {e}")))?;
        let identity = creds.into();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode =
            aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        let refused = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("sign: {e}"));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| refused(&e))?
            .into();
        let signable = SignableRequest::new(method, url, headers.iter().copied(), body)
            .map_err(|e| refused(&e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| refused(&e))?
            .into_parts();
        Ok(instructions)
    }

    async fn presign(
        &self,
        method: &str,
        url: String,
        headers: &[(&str, &str)],
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String> {
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        let secs = (expires.millis() - now.millis()).div_euclid(1000).max(1) as u64;
        settings.expires_in = Some(Duration::from_secs(secs));
        let at = UNIX_EPOCH + Duration::from_millis(now.millis().max(0) as u64);
        let instructions = self
            .sign_s3(
                method,
                &url,
                headers,
                SignableBody::UnsignedPayload,
                settings,
                at,
            )
            .await?;
        let mut out = url;
        let mut sep = if out.contains('?') { '&' } else { '?' };
        for (k, v) in instructions.params() {
            out.push(sep);
            out.push_str(k);
            out.push('=');
            out.push_str(&pct(v));
            sep = '&';
        }
        Ok(out)
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `attachment; filename*=UTF-8''…` (RFC 6266): never rendered inline,
/// saved under its original (Arabic too) name.
pub fn attachment_disposition(name: &str) -> String {
    format!("attachment; filename*=UTF-8''{}", pct(name))
}

#[async_trait]
impl FileUrls for S3Urls {
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String> {
        // Type and length are signed: the PUT must send exactly these.
        let size = size.to_string();
        let headers = [
            ("content-type", content_type),
            ("content-length", &size),
            (TAGGING_HEADER, TAG_UNATTACHED),
        ];
        self.presign("PUT", self.object_url(key), &headers, now, expires)
            .await
    }

    async fn download_url(
        &self,
        key: &str,
        name: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<String> {
        let url = format!(
            "{}?response-content-disposition={}",
            self.object_url(key),
            pct(&attachment_disposition(name))
        );
        self.presign("GET", url, &[], now, expires).await
    }

    async fn tag(&self, key: &str, attached: bool) -> StoreResult<bool> {
        let tagging = if attached {
            TAG_ATTACHED
        } else {
            TAG_UNATTACHED
        };
        self.put_tagging(key, tagging).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.delete_object(key).await
    }
}

/// A `key=value` tag as S3's tagging documents write it (the body of
/// `PutObjectTagging`, the answer of `GetObjectTagging`).
pub fn tagging_xml(tag: &str) -> String {
    let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
    format!("<Tagging><TagSet><Tag><Key>{key}</Key><Value>{value}</Value></Tag></TagSet></Tagging>")
}

/// Wall time, for the bucket set-up outside any request.
pub fn wall_now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[tokio::test]
    async fn urls_carry_the_signature_the_expiry_and_the_attachment_name() {
        let s3 = S3Urls::new(
            "files".into(),
            "eu-west-1".into(),
            None,
            SharedCredentialsProvider::new(Credentials::new("AKID", "secret", None, None, "t")),
        );
        let now = Timestamp(1_700_000_000_000);
        let put = s3
            .upload_url("orders/o1/f1", "image/png", 10, now, now.plus_ms(300_000))
            .await
            .unwrap();
        assert!(put.starts_with("https://files.s3.eu-west-1.amazonaws.com/orders/o1/f1?"));
        assert!(put.contains("X-Amz-Expires=300"), "{put}");
        assert!(
            put.contains(
                "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-tagging"
            ),
            "{put}"
        );
        let get = s3
            .download_url("orders/o1/f1", "شعار.png", now, now.plus_ms(300_000))
            .await
            .unwrap();
        assert!(
            get.contains(
                "response-content-disposition=attachment%3B%20filename%2A%3DUTF-8%27%27%25D8%25B4"
            ),
            "{get}"
        );
        assert!(get.contains("X-Amz-Signature="), "{get}");
    }
}
