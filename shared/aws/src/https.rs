//! The AWS SDK's HTTPS client, trusting exactly the system's CA bundle
//! file. The SDK's default reads the bundle and then every file of the
//! certificate directory (292 on a Debian machine), which was about 4 ms
//! of a function's 7 ms start-up (issue 11); one file holds the same roots.
//!
//! Lambda's `provided.al2023` image keeps its bundle at
//! `/etc/pki/tls/certs/ca-bundle.crt`; Debian and Ubuntu at
//! `/etc/ssl/certs/ca-certificates.crt`. `SSL_CERT_FILE` or `SSL_CERT_DIR`,
//! when set, win: the SDK's own loading honours them.
//!
//! The crypto is ring, not the SDK default's aws-lc: about 0.4 MB less in
//! every Lambda zip (issue 11's 3 MB budget). The SDK crates are built
//! without `default-https-client`, so every client must come from
//! [`sdk_defaults`].

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Where the CA bundle is, first found wins: Lambda's image, then Debian's.
pub const CA_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The Lambda functions' SDK timeouts (issue 9), well inside their 10 s:
/// a connection in 1 s, one attempt in 3 s, a whole operation with its
/// retries in 5 s. Without them a hung call waits for the function's
/// timeout. The request's own budget (`khamsa_functions::budget`) still
/// decides when to answer `503`.
pub fn lambda_timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// `aws_config::defaults` for the latest behaviour, on our HTTPS client:
/// trusting the bundle alone when there is one, else the platform's roots
/// (which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`).
pub fn sdk_defaults() -> ConfigLoader {
    let trust = match ca_bundle() {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem),
        None => TrustStore::default(),
    };
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(tls) => loader.http_client(https_client(tls)),
        // Never for these trust stores; the SDK then fails its first call
        // with "no HTTP client", which the caller logs.
        Err(e) => {
            tracing::error!(error = %e, "no TLS context for the AWS SDK");
            loader
        }
    }
}

/// The bundle's PEM, when no `SSL_CERT_*` variable asks for other roots,
/// one of [`CA_BUNDLES`] exists, and rustls takes every certificate in it
/// as a root (the SDK would panic on one it cannot take; then its own
/// loading, which skips such certificates, is the safer path).
pub fn ca_bundle() -> Option<Vec<u8>> {
    if ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return None;
    }
    first_bundle()
}

/// The first of [`CA_BUNDLES`] there is, if rustls takes all of it.
fn first_bundle() -> Option<Vec<u8>> {
    let pem = CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok())?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.ok()?).ok()?;
    }
    (!roots.is_empty()).then_some(pem)
}

/// The SDK's default HTTPS client (rustls, proxy settings from the
/// environment), on ring and trusting `tls`'s roots; its connector is
/// built on the first request (see [`FirstUse`]).
fn https_client(tls: TlsContext) -> SharedHttpClient {
    SharedHttpClient::new(FirstUse(https_connectors(tls)))
}

/// An HTTP client whose connector is built on first use only. The SDK's
/// own client builds and drops a whole connector (a parse of the CA
/// bundle included) when each SDK client is made, to check its config:
/// DynamoDB, SQS, and the STS client of the default credentials chain.
/// That was about a third of `order`'s cold start (issue 11's profile).
/// The connector actually used is built on the first request and cached.
#[derive(Debug)]
struct FirstUse(SharedHttpClient);

impl HttpClient for FirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

fn https_connectors(tls: TlsContext) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut conn = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls.clone());
        conn.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            conn.set_sleep_impl(c.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// A bare connector on the same TLS set-up, for the one S3 request the
/// functions send without an S3 SDK (tagging a file, issue 12): a
/// connection in 1 s and a read in 3 s, as [`lambda_timeouts`].
pub fn connector(sdk: &aws_config::SdkConfig) -> aws_smithy_http_client::Connector {
    use aws_smithy_runtime_api::client::http::HttpConnectorSettings;
    use std::time::Duration;
    let mut conn = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
    if let Some(pem) = ca_bundle() {
        let trust = TrustStore::empty().with_pem_certificate(pem);
        if let Ok(tls) = TlsContext::builder().with_trust_store(trust).build() {
            conn = conn.tls_context(tls);
        }
    }
    conn.set_connector_settings(Some(
        HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(3))
            .build(),
    ));
    conn.set_sleep_impl(sdk.sleep_impl());
    conn.set_proxy_config(Some(ProxyConfig::from_env()));
    conn.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine (Debian) has a bundle, and every root in it parses
    /// (whatever `SSL_CERT_*` says here: Lambda sets neither).
    #[test]
    fn the_system_bundle_is_found_and_parses() {
        let pem = first_bundle().expect("a CA bundle at one of CA_BUNDLES");
        assert!(CertificateDer::pem_slice_iter(&pem).count() > 50);
        let trust = TrustStore::empty().with_pem_certificate(pem);
        assert!(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .is_ok()
        );
    }
}
