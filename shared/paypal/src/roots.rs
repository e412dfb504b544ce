//! The roots PayPal's certificates are checked against: the system's CA
//! bundle file alone, as the AWS SDK's client does
//! (`khamsa_aws::https`): hyper-rustls' native roots read every file of
//! the certificate directory too, milliseconds of a cold start (issue 11).
//! `provided.al2023` keeps the bundle at `/etc/pki/tls/certs/ca-bundle.crt`.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// First found wins: Lambda's image, then Debian's.
const CA_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The bundle's PEM; `None` (use the native roots) when `SSL_CERT_FILE`
/// or `SSL_CERT_DIR` asks for others, when there is no bundle, or when
/// rustls cannot take one of its certificates as a root (the SDK's
/// connector would panic on it; its native loading skips such ones).
pub(crate) fn bundle() -> Option<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    /// This machine (Debian) has a bundle full of roots (whatever
    /// `SSL_CERT_*` says here: Lambda sets neither).
    #[test]
    fn the_system_bundle_gives_roots() {
        let pem = super::first_bundle().expect("a CA bundle");
        assert!(
            rustls::pki_types::pem::PemObject::pem_slice_iter(&pem)
                .filter_map(Result::<rustls::pki_types::CertificateDer, _>::ok)
                .count()
                > 50
        );
    }
}
