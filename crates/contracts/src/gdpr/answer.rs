//! The answer a subject reads: its language, and the page alone (`GET /gdpr/requests/{id}/answer`).

use super::bundle::{verified_page, ManifestAnswer};
use serde::{Deserialize, Serialize};

/// The language of the answer a subject reads (the readable page in an export's bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerLanguage {
    Cs,
    En,
}

impl AnswerLanguage {
    pub const ALL: [Self; 2] = [Self::Cs, Self::En];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cs => "cs",
            Self::En => "en",
        }
    }

    /// A client's spelling (any letter case).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// `GET /gdpr/requests/{id}/answer`: the answer the subject reads, alone — what a DPO looks at
/// before handing the bundle over (audited as `answer_viewed`, not as the bundle's download).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectAnswer {
    /// As the bundle's manifest names it: path, language and checksum.
    pub answer: ManifestAnswer,
    /// The page ([`Bundle::answer`]).
    pub page: String,
}

impl SubjectAnswer {
    /// The page, checked against its checksum (an error names the path, never the content).
    pub fn verified_page(&self) -> Result<&str, String> {
        verified_page(&self.answer, &self.page)
    }
}
