//! Genesys Cloud is reached over https (`https://api.<region>`, `https://login.<region>`): the
//! gateway's clients speak TLS (rustls with ring) and check the certificate against their roots,
//! the public ones plus `genesys.ca_bundle`. Here genesys-sim stands behind a TLS server on
//! 127.0.0.1 whose certificate a CA made in the test signed; the bundle names that CA.

use crate::helpers::{default_harness, gateway_for, INGEST, JANA};
use serde_json::Value;
use test_support::assert_problem;
use test_support::tls::{TestCa, TlsFront};

#[tokio::test]
async fn genesys_is_reached_over_https_its_certificate_checked() {
    let h = default_harness().await;
    let ca = TestCa::new("Genesys test CA");
    let front = TlsFront::start(&ca, h.sim_url.trim_start_matches("http://").parse().unwrap()).await;
    let bundle = ca.pem_file();

    let trusting = gateway_for(&front.url, &[("genesys.ca_bundle", bundle.to_str().unwrap())]).await;
    let response = trusting.get(&format!("/users/{JANA}"), INGEST).await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user, serde_json::json!({ "id": JANA, "name": "Jana Nováková" }));
    assert_eq!(h.sim.calls_to("token"), 1, "the token over https too");
    assert_eq!(h.sim.calls_to("users"), 1);

    // A server whose certificate chains to no root the gateway trusts is never spoken to.
    let stranger = gateway_for(&front.url, &[]).await;
    assert_problem(stranger.get(&format!("/users/{JANA}"), INGEST).await, 503).await;
    assert_eq!(h.sim.calls_to("token"), 1, "no credentials went to the stranger");
    assert_eq!(h.sim.calls_to("users"), 1);
}
