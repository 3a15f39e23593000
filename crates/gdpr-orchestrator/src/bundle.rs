//! An export's data: sealed at rest with AES-256-GCM (`gdpr.bundle_key`), bound to its request
//! and participant, and assembled into the bundle a DPO downloads: a manifest with each file's
//! count and SHA-256, the data, and the answer the subject reads ([`answer`]). A file that should
//! be there and is not, or whose seal does not open, is an error: a bundle is never silently
//! incomplete.

pub mod answer;
pub mod context;

use crate::settings::GENESYS_CLOUD;
use crate::store::{Request, Step};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use contracts::participant::ParticipantAction;
use domain::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use service_kit::configuration::DEVELOPMENT_PREFIX;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What sealed data starts with.
pub const SEALED_PREFIX: &str = "aes256gcm:";
const KEY_PREFIX: &str = "aes256:";
const NONCE_LENGTH: usize = 12;

/// The key export data is sealed with, checked once at start.
#[derive(Clone)]
pub struct BundleKey(Aes256Gcm);

/// Why sealed data could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the export data of {0} could not be sealed")]
    Seal(String),
    #[error("the export data of {0} does not open with gdpr.bundle_key (changed key, or tampered)")]
    Open(String),
    #[error("the export data of {participant} is missing ({what})")]
    Missing { participant: String, what: String },
    #[error("the export data of {0} is not the JSON it was")]
    Corrupt(String),
    #[error(transparent)]
    Answer(#[from] answer::AnswerError),
}

impl BundleKey {
    /// From `aes256:<base64 of 32 bytes>`.
    pub fn new(setting: &SecretString) -> Result<Self, String> {
        let text = setting.expose_secret();
        let text = text.strip_prefix(DEVELOPMENT_PREFIX).unwrap_or(text);
        let invalid = || "gdpr.bundle_key: must be written aes256:<base64 of 32 random bytes>".to_owned();
        let encoded = text.strip_prefix(KEY_PREFIX).ok_or_else(invalid)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid())?;
        if bytes.len() != 32 {
            return Err(invalid());
        }
        Aes256Gcm::new_from_slice(&bytes).map(Self).map_err(|_| invalid())
    }

    fn associated_data(request_id: Uuid, participant: &str) -> Vec<u8> {
        format!("{request_id}/{participant}").into_bytes()
    }

    /// Seals `data` for `participant`'s step of `request_id`.
    pub fn seal(&self, request_id: Uuid, participant: &str, data: &[u8]) -> Result<String, BundleError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = Self::associated_data(request_id, participant);
        let sealed = self
            .0
            .encrypt(&nonce, Payload { msg: data, aad: &aad })
            .map_err(|_| BundleError::Seal(participant.to_owned()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// Opens what [`BundleKey::seal`] sealed for the same request and participant.
    pub fn open(&self, request_id: Uuid, participant: &str, sealed: &str) -> Result<Vec<u8>, BundleError> {
        let refused = || BundleError::Open(participant.to_owned());
        let encoded = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(refused)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| refused())?;
        if bytes.len() < NONCE_LENGTH {
            return Err(refused());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LENGTH);
        let aad = Self::associated_data(request_id, participant);
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| refused())
    }
}

use contracts::gdpr::{Bundle, Manifest, ManifestAnswer, ManifestFile};

/// The bundle of a completed EXPORT from its export steps, with the answer its subject reads
/// written as `context` says.
pub fn assemble(
    request: &Request,
    steps: &[Step],
    key: &BundleKey,
    context: &answer::Context<'_>,
    now: Timestamp,
) -> Result<Bundle, BundleError> {
    let mut files = Vec::new();
    let mut data: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    let mut genesys_cloud_results = Vec::new();
    for step in steps.iter().filter(|s| s.phase == ParticipantAction::Export) {
        genesys_cloud_results.extend(step.results_urls.iter().cloned());
        let categories: BTreeMap<String, Vec<Value>> = match &step.export_data {
            Some(sealed) => {
                let plain = key.open(request.id, &step.participant, sealed)?;
                serde_json::from_slice(&plain).map_err(|_| BundleError::Corrupt(step.participant.clone()))?
            }
            // Genesys Cloud keeps its export itself (results URL).
            None if step.participant == GENESYS_CLOUD => BTreeMap::new(),
            None => {
                return Err(BundleError::Missing {
                    participant: step.participant.clone(),
                    what: "no data was stored".to_owned(),
                })
            }
        };
        if step.participant != GENESYS_CLOUD {
            for (category, count) in &step.counts {
                let held = categories.get(category).map_or(0, Vec::len);
                if u64::try_from(held).ok() != Some(*count) {
                    return Err(BundleError::Missing {
                        participant: step.participant.clone(),
                        what: format!("{category}: {held} of {count} items"),
                    });
                }
            }
        }
        for (category, items) in categories {
            let bytes =
                serde_json::to_vec_pretty(&items).map_err(|_| BundleError::Corrupt(step.participant.clone()))?;
            files.push(ManifestFile {
                path: format!("{}/{category}.json", step.participant),
                participant: step.participant.clone(),
                count: items.len(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                category: category.clone(),
            });
            data.entry(step.participant.clone())
                .or_default()
                .insert(category, items);
        }
    }
    let page = answer::render(request, steps, &data, context, now)?;
    Ok(Bundle {
        manifest: Manifest {
            request_id: request.id,
            reference: request.reference.clone(),
            received_at: request.received_at,
            completed_at: request.completed_at,
            generated_at: now,
            format: "Each file is the JSON array at data.<participant>.<category>, pretty-printed; sha256 is over those bytes.".to_owned(),
            files,
            genesys_cloud_results,
            answer: ManifestAnswer {
                path: format!("answer.{}.html", context.language.as_str()),
                language: context.language,
                sha256: hex::encode(Sha256::digest(page.as_bytes())),
            },
        },
        data,
        answer: page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BundleKey {
        BundleKey::new(&SecretString::from(
            "aes256:Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=".to_owned(),
        ))
        .unwrap()
    }

    #[test]
    fn sealed_data_opens_only_for_its_request_and_participant() {
        let key = key();
        let request = Uuid::new_v4();
        let sealed = key.seal(request, "comm-history-writer", b"[1,2]").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("[1,2]"));
        assert_eq!(key.open(request, "comm-history-writer", &sealed).unwrap(), b"[1,2]");
        assert!(key.open(Uuid::new_v4(), "comm-history-writer", &sealed).is_err());
        assert!(key.open(request, "result-ingest", &sealed).is_err());
        // One character of the ciphertext changed (in the middle, where every bit counts; the
        // last one may carry only padding bits, and may already be the replacement).
        let middle = SEALED_PREFIX.len() + (sealed.len() - SEALED_PREFIX.len()) / 2;
        let replacement = if sealed.as_bytes()[middle] == b'A' { "B" } else { "A" };
        let mut tampered = sealed.clone();
        tampered.replace_range(middle..=middle, replacement);
        assert_ne!(tampered, sealed);
        assert!(key.open(request, "comm-history-writer", &tampered).is_err());
        let other = BundleKey::new(&SecretString::from(format!(
            "aes256:{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        )))
        .unwrap();
        assert!(other.open(request, "comm-history-writer", &sealed).is_err());
    }

    #[test]
    fn keys_must_be_256_bits() {
        for bad in [
            "",
            "aes256:",
            "aes256:AAAA",
            "Tnx3woLd8TeJcY6V6J6oZ3VkSdA8VhwZfexx+yWTpxQ=",
        ] {
            assert!(BundleKey::new(&SecretString::from(bad.to_owned())).is_err(), "{bad}");
        }
    }
}
