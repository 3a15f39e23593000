//! The bank's identity provider is reached over https: its discovery document and its keys
//! (JWKS) are fetched with rustls (ring), the certificate checked against the public roots plus
//! `auth.persons.ca_bundle` (the bank's own CA). Here a provider of the test's own (discovery,
//! JWKS, an ES256 key made here) stands behind a TLS server on 127.0.0.1 whose certificate a CA
//! made in the test signed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use service_kit::configuration::PersonSettings;
use service_kit::persons::{PersonTokenError, PersonVerifier, VouchedBy};
use std::sync::{Arc, Mutex};
use test_support::tls::{TestCa, TlsFront};

const AUDIENCE: &str = "https://ccbridge.test";
const KID: &str = "test-key-1";

/// A provider on plain http (behind the TLS front): discovery naming `issuer`, and its JWKS.
/// Answers how many requests it got.
fn provider(listener: std::net::TcpListener, issuer: String, jwk: serde_json::Value) -> Arc<Mutex<usize>> {
    let served = Arc::new(Mutex::new(0usize));
    let count = served.clone();
    let server = actix_web::HttpServer::new(move || {
        let (issuer, jwk, count) = (issuer.clone(), jwk.clone(), count.clone());
        let discovery_count = count.clone();
        actix_web::App::new()
            .route(
                "/.well-known/openid-configuration",
                actix_web::web::get().to(move || {
                    *discovery_count.lock().unwrap() += 1;
                    let body = serde_json::json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
                    async move { actix_web::HttpResponse::Ok().json(body) }
                }),
            )
            .route(
                "/jwks",
                actix_web::web::get().to(move || {
                    *count.lock().unwrap() += 1;
                    let body = serde_json::json!({ "keys": [jwk] });
                    async move { actix_web::HttpResponse::Ok().json(body) }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    served
}

fn settings(issuer: &str, ca_bundle: &str) -> PersonSettings {
    PersonSettings {
        algorithms: vec!["ES256".to_owned()],
        ca_bundle: ca_bundle.to_owned(),
        ..PersonSettings::new(issuer, AUDIENCE)
    }
}

#[tokio::test]
async fn a_token_is_verified_with_the_keys_of_a_provider_on_https() {
    // The provider's signing key and its JWK.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = key.public_key_raw();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
        "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
    });

    let ca = TestCa::new("Bank identity provider CA (test)");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front = TlsFront::start(&ca, listener.local_addr().unwrap()).await;
    let issuer = front.url.clone();
    let served = provider(listener, issuer.clone(), jwk);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": issuer, "aud": AUDIENCE, "sub": "person-1", "name": "Dana Example",
        "iat": now, "exp": now + 300,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(KID.to_owned());
    header.typ = Some("at+jwt".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der()),
    )
    .unwrap();

    let bundle = ca.pem_file();
    let verifier = PersonVerifier::new(&settings(&issuer, bundle.to_str().unwrap())).unwrap();
    let person = verifier.verify(&token).await.unwrap();
    assert_eq!(person.subject, "person-1");
    assert_eq!(person.display_name, "Dana Example");
    assert_eq!(person.vouched_by, VouchedBy::Provider);
    assert_eq!(*served.lock().unwrap(), 2, "discovery and keys, over https");

    // Without the bank's CA the provider is a stranger: its keys are not taken.
    let stranger = PersonVerifier::new(&settings(&issuer, "")).unwrap();
    assert_eq!(
        stranger.verify(&token).await.unwrap_err(),
        PersonTokenError::ProviderUnavailable
    );
    assert_eq!(*served.lock().unwrap(), 2, "nothing was asked of the untrusted server");
}
