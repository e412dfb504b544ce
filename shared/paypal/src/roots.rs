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

/// The bundle's roots; `None` (use the native roots) when `SSL_CERT_FILE`
/// or `SSL_CERT_DIR` asks for others, or no bundle gives any.
pub(crate) fn bundle() -> Option<RootCertStore> {
    if ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return None;
    }
    first_bundle()
}

/// The roots of the first of [`CA_BUNDLES`] there is.
fn first_bundle() -> Option<RootCertStore> {
    let pem = CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok())?;
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    (!roots.is_empty()).then_some(roots)
}

#[cfg(test)]
mod tests {
    /// This machine (Debian) has a bundle full of roots (whatever
    /// `SSL_CERT_*` says here: Lambda sets neither).
    #[test]
    fn the_system_bundle_gives_roots() {
        assert!(super::first_bundle().expect("a CA bundle").len() > 50);
    }
}
