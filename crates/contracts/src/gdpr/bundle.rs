//! The export bundle (`GET /gdpr/requests/{id}/export`): its manifest, the subject's data, the
//! answer they read, each checked against its checksum.

use super::answer::AnswerLanguage;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One file of the export bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// `<participant>/<category>.json`.
    pub path: String,
    pub participant: String,
    pub category: String,
    pub count: usize,
    /// SHA-256 (hex) over the file's bytes: the JSON array, pretty-printed.
    pub sha256: String,
}

/// What the bundle holds, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub request_id: Uuid,
    pub reference: Option<String>,
    pub received_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub generated_at: Timestamp,
    pub format: String,
    pub files: Vec<ManifestFile>,
    /// Where Genesys Cloud put its own export of the subject.
    pub genesys_cloud_results: Vec<String>,
    /// The answer a person reads ([`Bundle::answer`]).
    pub answer: ManifestAnswer,
}

/// The bundle's answer a person reads: where it goes in a bundle's files, its language, and its
/// checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestAnswer {
    /// `answer.<language>.html`.
    pub path: String,
    pub language: AnswerLanguage,
    /// SHA-256 (hex) over the page's UTF-8 bytes.
    pub sha256: String,
}

/// `GET /gdpr/requests/{id}/export`: the export bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bundle {
    pub manifest: Manifest,
    /// participant → category → the subject's data (JSON arrays, as each participant holds it).
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, BTreeMap<String, Vec<serde_json::Value>>>,
    /// The answer the subject reads: one self-contained HTML page (no scripts, nothing loaded
    /// from elsewhere) in the request's language — what ccbridge holds of them per category with
    /// dates, what was left out and why, and where else copies went. It holds their data: it is
    /// handed over only as the bundle is.
    pub answer: String,
}

impl Bundle {
    /// The answer's page, checked against the manifest's checksum (an error names the path,
    /// never the content).
    pub fn verified_answer(&self) -> Result<&str, String> {
        verified_page(&self.manifest.answer, &self.answer)
    }

    /// Each file the manifest lists, with the exact bytes its checksum covers (the JSON array at
    /// `data.<participant>.<category>`, pretty-printed), each checked against the manifest: a
    /// file missing from the data or whose bytes do not match is an error naming the
    /// participant and category, never the data.
    pub fn verified_files(&self) -> Result<Vec<(&ManifestFile, Vec<u8>)>, String> {
        use sha2::Digest as _;
        self.manifest
            .files
            .iter()
            .map(|file| {
                let (participant, category) = (&file.participant, &file.category);
                let items = self
                    .data
                    .get(participant)
                    .and_then(|categories| categories.get(category))
                    .ok_or_else(|| format!("{participant}/{category}: listed in the manifest but not in the bundle"))?;
                let bytes = serde_json::to_vec_pretty(items)
                    .map_err(|_| format!("{participant}/{category}: could not be written out"))?;
                let digest = sha2::Sha256::digest(&bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                if hex != file.sha256 {
                    return Err(format!(
                        "{participant}/{category}: checksum does not match the manifest"
                    ));
                }
                Ok((file, bytes))
            })
            .collect()
    }
}

pub(super) fn verified_page<'a>(answer: &ManifestAnswer, page: &'a str) -> Result<&'a str, String> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(page.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != answer.sha256 {
        return Err(format!("{}: checksum does not match the manifest", answer.path));
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex_of(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_bundle_answers_each_file_checked_against_its_manifest() {
        use sha2::Digest as _;
        let items = vec![serde_json::json!({ "id": 1 })];
        let bytes = serde_json::to_vec_pretty(&items).unwrap();
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let at = Timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let mut bundle = Bundle {
            manifest: Manifest {
                request_id: Uuid::nil(),
                reference: None,
                received_at: at,
                completed_at: Some(at),
                generated_at: at,
                format: "f".to_owned(),
                files: vec![ManifestFile {
                    path: "p/c.json".to_owned(),
                    participant: "p".to_owned(),
                    category: "c".to_owned(),
                    count: 1,
                    sha256,
                }],
                genesys_cloud_results: Vec::new(),
                answer: ManifestAnswer {
                    path: "answer.en.html".to_owned(),
                    language: AnswerLanguage::En,
                    sha256: hex_of(b"<p>answer</p>"),
                },
            },
            data: [("p".to_owned(), [("c".to_owned(), items)].into())].into(),
            answer: "<p>answer</p>".to_owned(),
        };
        assert_eq!(bundle.verified_answer().unwrap(), "<p>answer</p>");
        bundle.answer.push(' ');
        assert_eq!(
            bundle.verified_answer().unwrap_err(),
            "answer.en.html: checksum does not match the manifest"
        );
        let files = bundle.verified_files().unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].1, bytes);
        bundle.data.get_mut("p").unwrap().get_mut("c").unwrap()[0] = serde_json::json!({ "id": 2 });
        assert_eq!(
            bundle.verified_files().unwrap_err(),
            "p/c: checksum does not match the manifest"
        );
        bundle.data.clear();
        assert!(bundle.verified_files().unwrap_err().contains("not in the bundle"));
    }
}
