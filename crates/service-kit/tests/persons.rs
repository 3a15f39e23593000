//! A service verifies the person a delegating caller forwards (`X-Person-Token`) against a
//! provider of the test's own on 127.0.0.1 (discovery, JWKS, ES256 keys made here), which the test
//! can take down or make hang, behind a real actix server with service-kit's auth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{middleware::from_fn, web, App, HttpResponse, HttpServer};
use base64::Engine;
use service_kit::auth::{require, Callers};
use service_kit::configuration::{AuthSettings, CallerSettings, Environment, PersonSettings};
use service_kit::persons::{PersonTokenError, PersonVerifier};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const AUDIENCE: &str = "https://ccbridge.test";
const CONSOLE: &str = "console-token-0123456789";

service_kit::scopes! { Dpo => "dpo" }

/// A signing key of the provider and its public JWK.
struct Key {
    kid: String,
    pair: rcgen::KeyPair,
}

impl Key {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let point = self.pair.public_key_raw();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
        })
    }

    /// Signs `claims` as the provider signs an access token (`typ: at+jwt`), or with `typ`.
    fn sign_typed(&self, claims: &serde_json::Value, typ: Option<&str>) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pair.serialize_der()),
        )
        .unwrap()
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        self.sign_typed(claims, Some("at+jwt"))
    }
}

/// The test's provider: discovery and JWKS on 127.0.0.1. `up = false`: both answer 503.
/// `jwks_uri`: where discovery says the keys are (else `<issuer>/jwks`).
struct StubProvider {
    issuer: String,
    up: Arc<AtomicBool>,
    jwks_uri: Arc<Mutex<Option<String>>>,
    jwks_requests: Arc<AtomicUsize>,
    arrived: Arc<Notify>,
    gate: Arc<Notify>,
}

impl StubProvider {
    /// Serves `before` until the `hold`-th keys request, which waits on the gate and then, like
    /// every later one, serves `after`.
    fn start(before: Vec<serde_json::Value>, after: Vec<serde_json::Value>, hold: Option<usize>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let jwks_uri = Arc::new(Mutex::new(None::<String>));
        let jwks_requests = Arc::new(AtomicUsize::new(0));
        let arrived = Arc::new(Notify::new());
        let gate = Arc::new(Notify::new());
        let state = (
            issuer.clone(),
            up.clone(),
            jwks_uri.clone(),
            jwks_requests.clone(),
            arrived.clone(),
            gate.clone(),
        );
        let server = HttpServer::new(move || {
            let (issuer, up, jwks_uri, count, arrived, gate) = state.clone();
            let discovery_up = up.clone();
            let (before, after) = (before.clone(), after.clone());
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let keys = jwks_uri.lock().unwrap().clone().unwrap_or(format!("{issuer}/jwks"));
                        let body = serde_json::json!({ "issuer": issuer, "jwks_uri": keys });
                        let up = discovery_up.load(Ordering::SeqCst);
                        async move {
                            if up {
                                HttpResponse::Ok().json(body)
                            } else {
                                HttpResponse::ServiceUnavailable().finish()
                            }
                        }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let (up, count, arrived, gate) = (up.clone(), count.clone(), arrived.clone(), gate.clone());
                        let (before, after) = (before.clone(), after.clone());
                        async move {
                            if !up.load(Ordering::SeqCst) {
                                return HttpResponse::ServiceUnavailable().finish();
                            }
                            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                            let keys = match hold {
                                Some(held) if n == held => {
                                    let opened = gate.notified();
                                    arrived.notify_one();
                                    opened.await;
                                    after
                                }
                                Some(held) if n > held => after,
                                _ => before,
                            };
                            HttpResponse::Ok().json(serde_json::json!({ "keys": keys }))
                        }
                    }),
                )
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            issuer,
            up,
            jwks_uri,
            jwks_requests,
            arrived,
            gate,
        }
    }
}

fn settings(issuer: &str, refetch_seconds: u64) -> PersonSettings {
    PersonSettings {
        algorithms: vec!["ES256".to_owned()],
        jwks_refetch_seconds: refetch_seconds,
        ..PersonSettings::new(issuer, AUDIENCE)
    }
}

fn claims(issuer: &str, sub: &str) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::json!({
        "iss": issuer, "aud": AUDIENCE, "sub": sub, "name": "Dana Example",
        "iat": now, "exp": now + 300,
    })
}

/// A service on 127.0.0.1 whose `POST /requests` needs the `dpo` scope and answers 201; the
/// console may act for people verified against `persons`.
fn service(persons: PersonSettings) -> String {
    let mut auth = AuthSettings::default();
    auth.callers.insert(
        "console".to_owned(),
        CallerSettings {
            token: secrecy::SecretString::from(CONSOLE.to_owned()),
            scopes: vec!["dpo".to_owned()],
            delegates: true,
        },
    );
    auth.persons = Some(persons);
    let callers = web::Data::new(Callers::from_settings(&auth, Environment::Production).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().app_data(callers.clone()).service(
            web::resource("/requests")
                .wrap(from_fn(require::<Dpo>))
                .route(web::post().to(|| async { HttpResponse::Created().finish() })),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    url
}

/// Files as the console acting for the person of `token`: the status and the problem's detail.
async fn file(url: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/requests"))
        .bearer_auth(CONSOLE)
        .header("X-Person-Token", token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["detail"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn while_the_provider_is_down_and_no_key_is_known_a_person_is_503_and_201_once_it_is_back() {
    let key = Key::new("key-1");
    let provider = StubProvider::start(vec![key.jwk()], vec![key.jwk()], None);
    let url = service(settings(&provider.issuer, 60));
    let token = key.sign(&claims(&provider.issuer, "person-1"));

    provider.up.store(false, Ordering::SeqCst);
    for attempt in 1..=3 {
        let (status, detail) = file(&url, &token).await;
        println!("provider down, attempt {attempt}: {status} {detail}");
        assert_eq!(status, 503, "attempt {attempt}: {detail}");
    }

    provider.up.store(true, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, detail) = file(&url, &token).await;
        if status == 201 {
            println!("provider back: 201");
            break;
        }
        assert_eq!(status, 503, "while the keys are fetched again: {detail}");
        assert!(tokio::time::Instant::now() < deadline, "still {status} {detail}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_known_key_is_verified_while_a_refetch_for_an_unknown_one_hangs() {
    let (old, new) = (Key::new("key-old"), Key::new("key-new"));
    // The second keys request (the refetch an unknown kid causes) hangs until the test opens it.
    let provider = StubProvider::start(vec![old.jwk()], vec![old.jwk(), new.jwk()], Some(2));
    let verifier = Arc::new(PersonVerifier::new(&settings(&provider.issuer, 0)).unwrap());
    let known = old.sign(&claims(&provider.issuer, "person-1"));
    assert_eq!(verifier.verify(&known).await.unwrap().subject, "person-1");

    let arrived = provider.arrived.notified();
    let rotated = tokio::spawn({
        let (verifier, token) = (verifier.clone(), new.sign(&claims(&provider.issuer, "person-2")));
        async move { verifier.verify(&token).await }
    });
    tokio::time::timeout(Duration::from_secs(5), arrived)
        .await
        .expect("the refetch reaches the provider");
    // A made-up kid meanwhile waits for that one refetch rather than starting another.
    let made_up = tokio::spawn({
        let verifier = verifier.clone();
        let token = Key::new("key-made-up").sign(&claims(&provider.issuer, "person-3"));
        async move { verifier.verify(&token).await }
    });

    // (The made-up kid's check runs until it waits: this test's runtime is single-threaded.)
    tokio::task::yield_now().await;
    let verified = tokio::time::timeout(Duration::from_secs(2), verifier.verify(&known)).await;
    let verified = verified.expect("not held up by the refetch").unwrap();
    println!("a known kid while the refetch hangs: verified, {}", verified.subject);
    assert_eq!(verified.subject, "person-1");

    provider.gate.notify_one();
    assert_eq!(rotated.await.unwrap().unwrap().subject, "person-2");
    assert_eq!(made_up.await.unwrap().unwrap_err(), PersonTokenError::UnknownKey);
    assert_eq!(
        provider.jwks_requests.load(Ordering::SeqCst),
        2,
        "one refetch for both unknown kids"
    );
}

#[tokio::test]
async fn a_person_needs_a_role_the_scope_needs_an_accepted_client_and_an_access_token() {
    let key = Key::new("key-1");
    let provider = StubProvider::start(vec![key.jwk()], vec![key.jwk()], None);
    let mut persons = settings(&provider.issuer, 60);
    persons.roles.insert(
        "dpo".to_owned(),
        vec!["ccbridge-dpo".to_owned(), "ccbridge-dpo-deputy".to_owned()],
    );
    persons.clients = vec!["ccbridge-console".to_owned(), "ccbridge-gdpr".to_owned()];
    let url = service(persons);
    let token = |roles: serde_json::Value, client: Option<(&str, &str)>| {
        let mut claims = claims(&provider.issuer, "person-1");
        claims["roles"] = roles;
        if let Some((claim, client)) = client {
            claims[claim] = serde_json::json!(client);
        }
        claims
    };
    let dpo = serde_json::json!(["ccbridge-operator", "ccbridge-dpo"]);
    let console = Some(("client_id", "ccbridge-console"));

    for (case, claims) in [
        ("a DPO through the console", token(dpo.clone(), console)),
        (
            "a deputy through the gdpr command (azp)",
            token(serde_json::json!("ccbridge-dpo-deputy"), Some(("azp", "ccbridge-gdpr"))),
        ),
    ] {
        let (status, detail) = file(&url, &key.sign(&claims)).await;
        println!("{case}: {status}");
        assert_eq!(status, 201, "{case}: {detail}");
    }
    for (case, claims) in [
        ("no roles", token(serde_json::json!([]), console)),
        ("another role", token(serde_json::json!(["ccbridge-operator"]), console)),
        ("no roles claim", token(serde_json::Value::Null, console)),
    ] {
        let (status, detail) = file(&url, &key.sign(&claims)).await;
        println!("{case}: {status} {detail}");
        assert_eq!(status, 403, "{case}: {detail}");
        assert!(
            detail.contains("ccbridge-dpo or ccbridge-dpo-deputy") && detail.contains("dpo"),
            "{case}: {detail}"
        );
        for claim in ["person-1", "Dana", "ccbridge-operator", "ccbridge-console"] {
            assert!(!detail.contains(claim), "{case}: {detail}");
        }
    }
    for (case, token, reason) in [
        (
            "another client",
            key.sign(&token(dpo.clone(), Some(("client_id", "ccbridge-kiosk")))),
            "client",
        ),
        ("no client", key.sign(&token(dpo.clone(), None)), "client_id"),
        (
            "typ JWT (an ID token)",
            key.sign_typed(&token(dpo.clone(), console), Some("JWT")),
            "at+jwt",
        ),
        ("no typ", key.sign_typed(&token(dpo.clone(), console), None), "at+jwt"),
    ] {
        let (status, detail) = file(&url, &token).await;
        println!("{case}: {status} {detail}");
        assert_eq!(status, 401, "{case}: {detail}");
        assert!(
            detail.starts_with("X-Person-Token") && detail.contains(reason),
            "{case}: {detail}"
        );
        assert!(!detail.contains("ccbridge-kiosk"), "{case}: {detail}");
    }
    let application_type = key.sign_typed(&token(dpo, console), Some("application/AT+JWT"));
    assert_eq!(file(&url, &application_type).await.0, 201);
}

#[tokio::test]
async fn keys_named_at_a_plain_http_address_off_the_loopback_are_not_fetched() {
    let key = Key::new("key-1");
    let provider = StubProvider::start(vec![key.jwk()], vec![key.jwk()], None);
    *provider.jwks_uri.lock().unwrap() = Some("http://keys.bank.example/jwks".to_owned());
    let verifier = PersonVerifier::new(&settings(&provider.issuer, 60)).unwrap();
    let token = key.sign(&claims(&provider.issuer, "person-1"));
    let refused = verifier.verify(&token).await.unwrap_err();
    println!("keys at http://keys.bank.example: {refused:?}");
    assert_eq!(refused, PersonTokenError::ProviderUnavailable);
    assert_eq!(provider.jwks_requests.load(Ordering::SeqCst), 0);
}
