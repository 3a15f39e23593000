//! The typed client against a real server on 127.0.0.1: each way a call can end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{web, App, HttpResponse, HttpServer};
use contracts::{Client, ClientError};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Answer {
    customer_id: String,
    count: u32,
}

fn plain_client(base: reqwest::Url) -> Client {
    // reqwest is built without a TLS provider of its own (the services install ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::plain(reqwest::Client::new(), base)
}

async fn serve() -> (Client, actix_web::dev::ServerHandle) {
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/good",
                web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"customerId": "c", "count": 2})) }),
            )
            .route(
                "/wrong-shape",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({"customerId": "Jana Nováková", "count": "many"}))
                }),
            )
            .route(
                "/problem",
                web::post().to(|| async {
                    HttpResponse::UnprocessableEntity()
                        .content_type("application/problem+json")
                        .body(r#"{"type":"urn:ccbridge:problem:validation","title":"The request is not valid","status":422,"detail":"/customerId: required","errors":[{"pointer":"/customerId","detail":"required"}]}"#)
                }),
            )
            .route(
                "/proxy-page",
                web::get().to(|| async { HttpResponse::BadGateway().content_type("text/html").body("<h1>down</h1>") }),
            )
            .route(
                "/token",
                web::get().to(|request: actix_web::HttpRequest| async move {
                    let auth = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    HttpResponse::Ok().json(serde_json::json!({"customerId": auth, "count": 0}))
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    let base = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    (plain_client(base), handle)
}

#[actix_web::test]
async fn a_2xx_body_is_the_type() {
    let (client, server) = serve().await;
    let answer: Answer = client.get("/good").send().await.unwrap();
    assert_eq!(
        answer,
        Answer {
            customer_id: "c".into(),
            count: 2
        }
    );
    server.stop(true).await;
}

#[actix_web::test]
async fn the_bearer_token_goes_with_every_call() {
    let (client, server) = serve().await;
    let client = client.with_token("s3cret-token".to_owned().into());
    let answer: Answer = client.get("/token").send().await.unwrap();
    assert_eq!(answer.customer_id, "Bearer s3cret-token");
    assert!(!format!("{client:?}").contains("s3cret"), "the token is never printed");
    server.stop(true).await;
}

#[actix_web::test]
async fn a_problem_answer_is_the_deserialised_problem() {
    let (client, server) = serve().await;
    let error = client
        .post("/problem")
        .json(&serde_json::json!({}))
        .send::<Answer>()
        .await
        .unwrap_err();
    let problem = error.problem().expect("a problem");
    assert_eq!(problem.status, 422);
    assert_eq!(problem.kind(), Some("validation"));
    assert_eq!(
        problem.field("/customerId").map(|f| f.detail.as_str()),
        Some("required")
    );
    assert!(!error.is_transient());
    server.stop(true).await;
}

#[actix_web::test]
async fn a_body_off_the_contract_names_the_field_and_never_its_value() {
    let (client, server) = serve().await;
    let error = client.get("/wrong-shape").send::<Answer>().await.unwrap_err();
    match &error {
        ClientError::UnexpectedBody { status, path, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(path, "count");
        }
        other => panic!("expected an unexpected body, got {other:?}"),
    }
    let printed = format!("{error} {error:?}");
    assert!(!printed.contains("many") && !printed.contains("Nováková"), "{printed}");
    server.stop(true).await;
}

#[actix_web::test]
async fn a_missing_field_is_named_by_its_own_path() {
    let (client, server) = serve().await;
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct WithRecord {
        customer_id: String,
        record_id: String,
    }
    let error = client.get("/good").send::<WithRecord>().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::UnexpectedBody { path, .. } if path == "recordId"),
        "{error:?}"
    );
    server.stop(true).await;
}

#[actix_web::test]
async fn a_non_problem_failure_is_an_unexpected_status_and_transient_when_5xx() {
    let (client, server) = serve().await;
    let error = client.get("/proxy-page").send::<Answer>().await.unwrap_err();
    assert!(matches!(error, ClientError::UnexpectedStatus { status, .. } if status.as_u16() == 502));
    assert!(error.is_transient());
    server.stop(true).await;
}

#[actix_web::test]
async fn no_answer_is_a_transport_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = reqwest::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let error = plain_client(base).get("/good").send::<Answer>().await.unwrap_err();
    assert!(
        matches!(error, ClientError::Transport { timeout: false, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(error.status(), None);
}

#[test]
fn a_person_token_that_cannot_be_sent_is_refused_without_repeating_it() {
    let base = reqwest::Url::parse("http://127.0.0.1:9").unwrap();
    let request = plain_client(base).get("/good").person_token("bad\ntoken-Jana");
    let error = block_on(request.send::<Answer>()).unwrap_err();
    assert!(
        matches!(error, ClientError::InvalidHeader { name: "X-Person-Token" }),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("Jana"));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
