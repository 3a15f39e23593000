//! gdpr-orchestrator signs every call it makes to a participant with its Ed25519 key; each
//! participant verifies with the orchestrator's public key. A token with the participant scope is
//! then not enough to make a participant forget or purge: a forged call, whatever its request id,
//! is refused (and logged), because only the orchestrator holds the key that names request ids.
//!
//! What is signed: `ccbridge-gdpr-v1`, the method, the path with its query, the Unix time, and the
//! SHA-256 of the body, one per line. It travels as `Ccbridge-Gdpr-Signature: t=<unix>,sig=<base64>`
//! and is accepted within [`MAX_SKEW`] of the participant's clock. A replay inside that window
//! repeats a call that is idempotent anyway.

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use service_kit::configuration::DEVELOPMENT_PREFIX;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The header the signature travels in.
pub const SIGNATURE_HEADER: &str = "Ccbridge-Gdpr-Signature";

/// How far a signature's time may be from the participant's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// How a key is written in the settings: `ed25519:<base64 of 32 bytes>` (the private key's seed,
/// or the public key), with `development-only-` in front for the development pair.
const KEY_PREFIX: &str = "ed25519:";

fn key_bytes(text: &str) -> Result<[u8; 32], String> {
    let text = text.strip_prefix(DEVELOPMENT_PREFIX).unwrap_or(text);
    let encoded = text
        .strip_prefix(KEY_PREFIX)
        .ok_or_else(|| format!("must be written {KEY_PREFIX}<base64 of 32 bytes>"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| format!("must be written {KEY_PREFIX}<base64 of 32 bytes>"))?;
    bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (an Ed25519 key)".to_owned())
}

fn message(method: &str, path_and_query: &str, unix: u64, body: &[u8]) -> Vec<u8> {
    format!(
        "ccbridge-gdpr-v1\n{method}\n{path_and_query}\n{unix}\n{}",
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// gdpr-orchestrator's side.
#[derive(Clone)]
pub struct CallSigner(SigningKey);

impl CallSigner {
    /// From `ed25519:<base64 seed>`.
    pub fn from_setting(key: &SecretString) -> Result<Self, String> {
        key_bytes(key.expose_secret()).map(|seed| Self(SigningKey::from_bytes(&seed)))
    }

    /// The header value for a call.
    pub fn sign(&self, method: &str, path_and_query: &str, body: &[u8]) -> String {
        let unix = unix_now();
        let signature = self.0.sign(&message(method, path_and_query, unix, body));
        format!(
            "t={unix},sig={}",
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
        )
    }

    /// `ed25519:<base64>` of the public key, for the participants' `gdpr_participant.orchestrator_key`.
    pub fn public_key(&self) -> String {
        format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(self.0.verifying_key().to_bytes())
        )
    }

    /// A new key pair: (private setting, public setting).
    pub fn generate() -> (String, String) {
        let signer = Self(SigningKey::generate(&mut rand_core::OsRng));
        let private = format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(signer.0.to_bytes())
        );
        (private, signer.public_key())
    }
}

/// Why a call's signature was refused; said in the 403 and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    #[error("the call is not signed by gdpr-orchestrator ({SIGNATURE_HEADER} is missing or malformed)")]
    Missing,
    #[error("the call's signature is not gdpr-orchestrator's")]
    Invalid,
    #[error("the call's signature is too old or from the future")]
    OutOfTime,
}

/// A participant's side: the orchestrator's public key.
#[derive(Clone)]
pub struct CallVerifier(VerifyingKey);

impl CallVerifier {
    /// From `ed25519:<base64 public key>`.
    pub fn from_setting(key: &str) -> Result<Self, String> {
        let bytes = key_bytes(key)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "is not a valid Ed25519 public key".to_owned())
    }

    /// Whether `signer` holds this key's private half.
    pub fn verifies(&self, signer: &CallSigner) -> bool {
        self.0 == signer.0.verifying_key()
    }

    pub fn verify(
        &self,
        header: Option<&str>,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<(), SignatureRefused> {
        let header = header.ok_or(SignatureRefused::Missing)?;
        let mut unix = None;
        let mut signature = None;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => unix = value.parse::<u64>().ok(),
                Some(("sig", value)) => {
                    signature = base64::engine::general_purpose::STANDARD
                        .decode(value)
                        .ok()
                        .and_then(|bytes| Signature::from_slice(&bytes).ok());
                }
                _ => {}
            }
        }
        let (Some(unix), Some(signature)) = (unix, signature) else {
            return Err(SignatureRefused::Missing);
        };
        self.0
            .verify(&message(method, path_and_query, unix, body), &signature)
            .map_err(|_| SignatureRefused::Invalid)?;
        if unix_now().abs_diff(unix) > MAX_SKEW.as_secs() {
            return Err(SignatureRefused::OutOfTime);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<service> keys` (service-kit) prints the pair in the forms read here.
    #[test]
    fn the_pair_the_keys_command_prints_is_a_pair() {
        let printed = service_kit::cli::new_keys();
        let value = |name: &str| {
            printed
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} missing from {printed}"))
                .to_owned()
        };
        let signer = CallSigner::from_setting(&SecretString::from(value("APP__GDPR__SIGNING_KEY="))).unwrap();
        let verifier = CallVerifier::from_setting(&value("APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY=")).unwrap();
        assert!(verifier.verifies(&signer));
    }

    #[test]
    fn a_signed_call_verifies_and_any_change_does_not() {
        let (private, public) = CallSigner::generate();
        let signer = CallSigner::from_setting(&SecretString::from(private)).unwrap();
        let verifier = CallVerifier::from_setting(&public).unwrap();
        let path = "/internal/gdpr/requests/0195a3c4-0000-7000-8000-000000000001/forget";
        let header = signer.sign("POST", path, b"{}");
        assert_eq!(verifier.verify(Some(&header), "POST", path, b"{}"), Ok(()));
        let other = path.replace("forget", "purge");
        assert_eq!(
            verifier.verify(Some(&header), "POST", &other, b"{}"),
            Err(SignatureRefused::Invalid)
        );
        assert_eq!(
            verifier.verify(Some(&header), "POST", path, b"{\"x\":1}"),
            Err(SignatureRefused::Invalid)
        );
        assert_eq!(
            verifier.verify(None, "POST", path, b"{}"),
            Err(SignatureRefused::Missing)
        );
        let (_, stranger) = CallSigner::generate();
        let stranger = CallVerifier::from_setting(&stranger).unwrap();
        assert_eq!(
            stranger.verify(Some(&header), "POST", path, b"{}"),
            Err(SignatureRefused::Invalid)
        );
    }

    #[test]
    fn an_old_signature_is_refused() {
        let (private, public) = CallSigner::generate();
        let signer = CallSigner::from_setting(&SecretString::from(private)).unwrap();
        let verifier = CallVerifier::from_setting(&public).unwrap();
        let old = unix_now() - MAX_SKEW.as_secs() - 10;
        let signature = signer.0.sign(&message("GET", "/x", old, b""));
        let header = format!(
            "t={old},sig={}",
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
        );
        assert_eq!(
            verifier.verify(Some(&header), "GET", "/x", b""),
            Err(SignatureRefused::OutOfTime)
        );
    }

    #[test]
    fn keys_must_be_written_as_ed25519() {
        for bad in ["", "ed25519:", "ed25519:AAAA", "rsa:AAAA", "development-only-x"] {
            assert!(CallVerifier::from_setting(bad).is_err(), "{bad}");
        }
    }
}
