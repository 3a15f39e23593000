//! A RECTIFY's correction as a client names it (GDPR Art. 16).

use serde::{Deserialize, Serialize};

/// A RECTIFY's `replacement` as a client names it: raw values, read at the door (phone numbers
/// with `handles.default_region`); every problem names its field
/// (`/replacement/phoneNumbers/0/to`), never its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementInput {
    /// Each `from` is one of the subject's `phoneNumbers`; `to` is another phone number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<HandleReplacementInput>,
    /// Each `from` is one of the subject's `emailAddresses`; `to` is another address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<HandleReplacementInput>,
    /// Interactions attributed to the subject's customer (`subject.customerIds`) that belong to
    /// customer `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerCorrectionInput>,
}

/// One value replaced by another (personal data: its `Debug` says nothing of them).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandleReplacementInput {
    pub from: String,
    pub to: String,
}

impl std::fmt::Debug for HandleReplacementInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleReplacementInput(<redacted>)")
    }
}

/// Interactions (their ids) that belong to customer `to`, not to the subject's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerCorrectionInput {
    pub interaction_ids: Vec<String>,
    pub to: String,
}
