//! BOFE's statement "this Genesys interaction belongs to this customer".

use crate::ids::{CustomerId, InteractionId};
use serde::{Deserialize, Serialize};

/// Body of `POST /customers/supportInteraction`: both fields required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportInteraction {
    pub customer_id: CustomerId,
    pub interaction_id: InteractionId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_payload() {
        let body = r#"{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","interactionId":"5773eca4-0874-4617-a6e8-85591aa94609"}"#;
        let pairing: SupportInteraction = serde_json::from_str(body).unwrap();
        assert_eq!(pairing.customer_id.to_string(), "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07");
        assert_eq!(
            pairing.interaction_id.to_string(),
            "5773eca4-0874-4617-a6e8-85591aa94609"
        );
    }

    #[test]
    fn refuses_missing_null_and_malformed_ids() {
        for body in [
            r#"{"interactionId":"5773eca4-0874-4617-a6e8-85591aa94609"}"#,
            r#"{"customerId":null,"interactionId":"5773eca4-0874-4617-a6e8-85591aa94609"}"#,
            r#"{"customerId":"nope","interactionId":"5773eca4-0874-4617-a6e8-85591aa94609"}"#,
        ] {
            assert!(serde_json::from_str::<SupportInteraction>(body).is_err(), "{body}");
        }
    }
}
