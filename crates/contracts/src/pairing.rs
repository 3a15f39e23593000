//! interaction-pairing's API: BOFE (and the console) pair an interaction with a customer, read
//! and remove pairings (`/customers/supportInteraction`); result-ingest looks up many
//! interactions' pairings at once (`POST /internal/pairings/lookup`).

use domain::{CustomerId, InteractionId, Timestamp};
use serde::{Deserialize, Serialize};

/// The most interactions one lookup may name.
pub const MAX_LOOKUP: usize = 500;

/// How a pairing treats the interaction's other customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PairingMode {
    /// The customer joins the interaction's customers (the integration spec's pairing).
    #[default]
    Add,
    /// Only an interaction without a customer is paired: another customer's pairing (visible or
    /// held by a GDPR forget) refuses it.
    Unassigned,
    /// The customer replaces the interaction's other customers: their pairings are removed (kept,
    /// with who, when and the reason) and their records withdrawn. Needs a reason.
    Reassign,
}

/// Body of `POST /customers/supportInteraction`: the integration spec's two ids, and optionally
/// how the interaction's other customers are treated and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairInteraction {
    pub customer_id: CustomerId,
    pub interaction_id: InteractionId,
    /// `add` (default): the customer joins the interaction's customers. `unassigned`: only when
    /// the interaction has no customer (409 otherwise). `reassign`: the customer replaces the
    /// interaction's other customers; needs `reason`.
    #[serde(default)]
    pub mode: PairingMode,
    /// Why (1 to 1000 characters), recorded with the pairing (and with the removals a
    /// re-assignment makes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who made or removed a pairing: the caller (the client it came through) and the person it
/// acted for, as the identity provider names them. A machine caller acting as itself has no
/// person. Pairings from before actors were recorded have none (`pairedBy` absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// The client, as configured (`auth.callers.<name>`), e.g. `console` or `bofe`.
    pub caller: String,
    /// The person's subject at the identity provider (or the development name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The person's display name, as the identity provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// One customer of an interaction: when, by whom and (when given) why it was paired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairedCustomer {
    pub customer_id: CustomerId,
    pub paired_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_by: Option<Actor>,
    /// Why it was paired, when a reason was given (a re-assignment always has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A pairing removed from an interaction, kept with who removed it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemovedCustomer {
    #[serde(flatten)]
    pub pairing: PairedCustomer,
    pub removed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_reason: Option<String>,
}

/// An interaction's pairing as served: the integration spec's fields (`customerId` the latest
/// customer, `createdAt` when the first was paired) and every customer paired with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pairing {
    pub customer_id: CustomerId,
    pub interaction_id: InteractionId,
    pub created_at: Timestamp,
    /// When the latest customer was paired.
    pub updated_at: Timestamp,
    /// Every customer paired with the interaction, first paired first, with who paired it.
    pub customers: Vec<PairedCustomer>,
    /// Pairings removed from the interaction, first removed first, with who paired and who
    /// removed each, when and why (not listed by lookups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_customers: Vec<RemovedCustomer>,
}

impl Pairing {
    /// Without the people who paired: what ccbridge's own services need is whose interaction it
    /// is, not who said so.
    pub fn without_actors(mut self) -> Self {
        for customer in &mut self.customers {
            customer.paired_by = None;
            customer.reason = None;
        }
        self.removed_customers.clear();
        self
    }

    /// Without the free-text reasons (of pairings and removals): for a caller that only reads
    /// pairings, and never gives a reason.
    pub fn without_reasons(mut self) -> Self {
        for customer in &mut self.customers {
            customer.reason = None;
        }
        for removed in &mut self.removed_customers {
            removed.pairing.reason = None;
            removed.removal_reason = None;
        }
        self
    }
}

/// Body of `POST /internal/pairings/lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingsLookup {
    /// 1 to 500 Genesys interaction (conversation) ids.
    pub interaction_ids: Vec<InteractionId>,
}

/// What `POST /internal/pairings/lookup` answers: the pairings of those interactions that have
/// one, without who paired them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingsOf {
    /// The pairings found; an interaction without one is not listed.
    pub pairings: Vec<Pairing>,
    /// Interactions whose pairing a GDPR forget holds: paired, but to whom is not told.
    pub held_interaction_ids: Vec<InteractionId>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_pairing_reads_back_as_served() {
        let body = r#"{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","interactionId":"5773eca4-0874-4617-a6e8-85591aa94609",
            "createdAt":"2026-11-20T09:41:07.512Z","updatedAt":"2026-11-20T09:41:07.512Z",
            "customers":[{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","pairedAt":"2026-11-20T09:41:07.512Z"}],
            "removedCustomers":[{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","pairedAt":"2026-11-20T09:41:07.512Z",
            "removedAt":"2026-11-21T09:41:07.512Z","removedBy":{"caller":"bofe"}}]}"#;
        let pairing: Pairing = serde_json::from_str(body).unwrap();
        assert_eq!(pairing.removed_customers[0].removed_by.as_ref().unwrap().caller, "bofe");
        let again: Pairing = serde_json::from_str(&serde_json::to_string(&pairing).unwrap()).unwrap();
        assert_eq!(again, pairing);
        assert!(again.without_actors().removed_customers.is_empty());
    }

    #[test]
    fn a_request_without_mode_adds() {
        let body = r#"{"customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07","interactionId":"5773eca4-0874-4617-a6e8-85591aa94609"}"#;
        let request: PairInteraction = serde_json::from_str(body).unwrap();
        assert_eq!((request.mode, request.reason), (PairingMode::Add, None));
    }
}
