//! https in tests: a CA made in the test ([`TestCa`], like the bank's internal CA) and a TLS
//! server on 127.0.0.1 presenting a certificate it signed, in front of a plain HTTP server
//! ([`TlsFront`]: it ends TLS and passes the bytes on). A client reaches the server behind it
//! over https only when it trusts the CA (`…ca_bundle` = [`TestCa::pem_file`]).

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::Arc;

/// A CA of the test's own.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub pem: String,
    certificate: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        Self {
            pem: certificate.pem(),
            certificate,
            key,
        }
    }

    /// The CA certificate in a PEM file, removed when the path is dropped.
    pub fn pem_file(&self) -> tempfile::TempPath {
        let file = tempfile::Builder::new()
            .prefix("ccbridge-test-ca-")
            .suffix(".pem")
            .tempfile()
            .unwrap();
        std::fs::write(file.path(), &self.pem).unwrap();
        file.into_temp_path()
    }

    /// A server configuration for 127.0.0.1 whose certificate this CA signed.
    pub fn server_config(&self, subject: &str) -> Arc<rustls::ServerConfig> {
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, subject);
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.certificate, &self.key).unwrap();
        let chain: Vec<CertificateDer<'static>> = vec![certificate.der().clone()];
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                chain,
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// https://127.0.0.1:port in front of a plain server: each connection's TLS is ended here with a
/// certificate from the given CA and its bytes go to `upstream` and back. Stops when dropped.
pub struct TlsFront {
    /// `https://127.0.0.1:port`
    pub url: String,
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(ca: &TestCa, upstream: SocketAddr) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config("server behind a test TLS front"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Self {
            url: format!("https://127.0.0.1:{port}"),
            port,
            task,
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
