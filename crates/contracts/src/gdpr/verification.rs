//! How a requester's identity was verified before their data is handed over or erased
//! (`POST /gdpr/requests/{id}/verification`).

use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// How the requester's identity was verified before their data is handed over or erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    /// In a branch, against an identity card or passport.
    InPersonIdDocument,
    /// Through the bank's online banking, signed in with its strong customer authentication.
    OnlineBankingLogin,
    /// A request signed with a qualified electronic signature (eIDAS).
    QualifiedElectronicSignature,
    /// A letter with an officially verified signature.
    SignedLetter,
    /// A video call against an identity document.
    VideoCall,
}

impl VerificationMethod {
    pub const ALL: [Self; 5] = [
        Self::InPersonIdDocument,
        Self::OnlineBankingLogin,
        Self::QualifiedElectronicSignature,
        Self::SignedLetter,
        Self::VideoCall,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InPersonIdDocument => "in_person_id_document",
            Self::OnlineBankingLogin => "online_banking_login",
            Self::QualifiedElectronicSignature => "qualified_electronic_signature",
            Self::SignedLetter => "signed_letter",
            Self::VideoCall => "video_call",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == value)
    }
}

/// `POST /gdpr/requests/{id}/verification`: how the requester's identity was verified. Recorded
/// once, by a person the identity provider signed in (never a name a header gave).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordVerification {
    /// in_person_id_document, online_banking_login, qualified_electronic_signature,
    /// signed_letter or video_call (anything else is refused naming `/method`).
    pub method: String,
    /// Where the evidence is kept in the bank's records: a document or case id (letters,
    /// digits and `-_./:#`, 3 to 100 characters). Never the evidence itself: an identity
    /// document's number, an e-mail address or a phone number is refused.
    pub evidence_reference: String,
}

/// How the requester's identity was verified, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequesterVerification {
    pub method: VerificationMethod,
    /// Null once the request's identifiers are erased (it points to the subject's records).
    pub evidence_reference: Option<String>,
    /// The person who recorded it: their subject at the identity provider, which signed them in.
    pub verified_by: String,
    /// Their display name, as the identity provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by_name: Option<String>,
    /// The client they came through.
    pub verified_via: String,
    pub verified_at: Timestamp,
}
