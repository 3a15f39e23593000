//! Requests as served: states, counts, dates and who acted; never the subject. The OpenAPI
//! description is derived from these types, so what is served is what is described.

use crate::store::{Request, RequestStatus, RequestType, Step, StepState};
use domain::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One participant's part, as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StepView {
    phase: String,
    participant: String,
    state: StepState,
    attempts: i32,
    counts: BTreeMap<String, u64>,
    /// Rows the subject's handles found that belong to a customer outside the request: left
    /// alone, counted per category.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    left_out: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results_urls: Vec<String>,
    /// A forget's copies of the subject's data this participant delivered outside ccbridge
    /// (the bank's communication-history-manager): erase them there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_erase_elsewhere: Vec<domain::gdpr::ExternalCopy>,
    updated_at: Timestamp,
}

/// A request as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestView {
    id: Uuid,
    #[serde(rename = "type")]
    request_type: RequestType,
    status: RequestStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    count_only: bool,
    /// The case number; null once the identifiers are erased.
    reference: Option<String>,
    /// The person who filed it, and the client they came through.
    requested_by: String,
    requested_via: String,
    received_at: Timestamp,
    due_at: Timestamp,
    overdue: bool,
    extension_months: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    extension_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purge_after: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifiers_erased_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_request_id: Option<Uuid>,
    /// Totals per phase and category over every participant.
    counts: BTreeMap<String, u64>,
    /// Rows left out because they belong to a customer outside the request, per phase and
    /// category over every participant.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    left_out: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participants: Option<Vec<StepView>>,
}

/// A request as answered to its filing: `duplicate` when the subject already had an unfinished
/// request of this type (that one is answered).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FiledView {
    #[serde(flatten)]
    #[schema(inline)]
    pub(crate) request: RequestView,
    pub(crate) duplicate: bool,
}

/// A page of requests, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RequestPage {
    pub(crate) requests: Vec<RequestView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub(crate) next: Option<String>,
}

/// `{phase}.{category}` totals over steps.
fn totals<'a>(
    steps: impl Iterator<Item = &'a Step>,
    of: impl Fn(&Step) -> &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for step in steps {
        for (category, n) in of(step) {
            *totals.entry(format!("{}.{category}", step.phase.as_str())).or_default() += n;
        }
    }
    totals
}

/// The request as served, with its participants' steps when given.
pub(crate) fn view(request: Request, steps: Option<Vec<Step>>, now: Timestamp) -> RequestView {
    let counts = totals(steps.iter().flatten(), |s| &s.counts);
    let left_out = totals(steps.iter().flatten(), |s| &s.left_out);
    let participants = steps.map(|steps| {
        steps
            .into_iter()
            .map(|step| StepView {
                phase: step.phase.as_str().to_owned(),
                participant: step.participant,
                state: step.state,
                attempts: step.attempts,
                counts: step.counts,
                left_out: step.left_out,
                detail: step.detail,
                results_urls: step.results_urls,
                to_erase_elsewhere: step.to_erase_elsewhere,
                updated_at: step.updated_at,
            })
            .collect()
    });
    RequestView {
        overdue: request.is_overdue(now),
        id: request.id,
        request_type: request.request_type,
        status: request.status,
        status_reason: request.status_reason,
        count_only: request.count_only,
        reference: request.reference,
        requested_by: request.requested_by,
        requested_via: request.requested_via,
        received_at: request.received_at,
        due_at: request.due_at,
        extension_months: request.extension_months,
        extension_reason: request.extension_reason,
        confirmed_at: request.confirmed_at,
        confirmed_by: request.confirmed_by,
        confirmed_via: request.confirmed_via,
        purge_after: request.purge_after,
        completed_at: request.completed_at,
        identifiers_erased_at: request.identifiers_erased_at,
        target_request_id: request.target_request_id,
        counts,
        left_out,
        participants,
    }
}
