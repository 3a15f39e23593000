//! The test provider itself: what the services' and the console's tests rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use test_support::oidc::{Provider, ProviderOptions, AUDIENCE};

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_device_sign_in_gives_a_jwt_access_token_for_the_services_with_the_persons_name() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let tokens = provider.device_sign_in("dana").await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["iss"], provider.issuer.as_str());
    assert_eq!(access["aud"], AUDIENCE);
    assert_eq!(access["sub"], "dana");
    assert_eq!(access["name"], "Dana Dpo");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn a_rotated_key_signs_from_then_on_and_the_old_one_stays_published() {
    let provider = Provider::spawn(ProviderOptions::default()).await;
    let jwks = |url: String| async move {
        let keys: serde_json::Value = reqwest::get(format!("{url}/jwks")).await.unwrap().json().await.unwrap();
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let before = jwks(provider.url.clone()).await;
    let kid = provider.rotate_key().await;
    let after = jwks(provider.url.clone()).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.contains(&kid) && after.contains(&before[0]));
    let token = provider.access_token("bob").await;
    let header = claims(&format!("x.{}", token.split('.').next().unwrap()));
    assert_eq!(header["kid"], kid.as_str());
}
