//! TLS for every outgoing client, one way: reqwest with rustls and the ring provider (the project
//! has no aws-lc-rs), trusting the public (Mozilla) roots bundled in the binary, plus a CA bundle
//! of the bank's own where a setting names one (`auth.persons.ca_bundle`, `delivery.ca_bundle`).
//!
//! reqwest is built with `rustls-no-provider`: it takes the process's default rustls provider and
//! panics when there is none. [`install`] sets ring as that default; it is called by every entry
//! point (`Application::build`, the command line, the `gdpr` command, devstack, test-support) and by
//! [`client_builder`] itself, so a client built the one way never meets an empty slot.

use std::sync::Once;

/// Makes ring the process's rustls provider. Idempotent; a provider someone else installed first
/// stays (it can only be ring: no other is compiled in).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err: one is installed already (by a racing thread outside this Once): nothing to do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client builder trusting the public roots and `extra_roots` (a bank CA bundle, see
/// [`ca_bundle`]), nothing else: the OS certificate store is not read.
pub fn client_builder(extra_roots: &[reqwest::Certificate]) -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder().tls_certs_only(roots(extra_roots))
}

/// As [`client_builder`], for reqwest's blocking client (the OTLP exporter's, on its own thread).
pub fn blocking_client_builder(extra_roots: &[reqwest::Certificate]) -> reqwest::blocking::ClientBuilder {
    install();
    reqwest::blocking::Client::builder().tls_certs_only(roots(extra_roots))
}

fn roots(extra_roots: &[reqwest::Certificate]) -> impl Iterator<Item = reqwest::Certificate> + '_ {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| reqwest::Certificate::from_der(der.as_ref()))
        // A bundled root reqwest could not take would only be left out; none is.
        .filter_map(Result::ok)
        .chain(extra_roots.iter().cloned())
}

/// The certificates of the PEM file at `path` (setting `key`): at least one, every block a
/// certificate. Empty `path`: none. The error names the key, never the file's content.
pub fn ca_bundle(key: &str, path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let pem = std::fs::read(path).map_err(|e| format!("{key}: cannot be read ({})", e.kind()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| format!("{key}: not a PEM file of certificates"))?;
    if certificates.is_empty() {
        return Err(format!("{key}: holds no certificate"));
    }
    Ok(certificates)
}
