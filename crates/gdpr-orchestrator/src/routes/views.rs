//! Requests as served ([`contracts::gdpr::GdprRequest`]): states, counts, dates, who acted and
//! what the caller may do next; never the subject.

use super::common::{viewer, Viewer, Whole};
use crate::lifecycle;
use crate::rectification::conflicts::Check;
use crate::store::{Request, Step};
use crate::Orchestrator;
use contracts::gdpr::{GdprRequest, GdprStep, RequestType, RequesterVerification};
use domain::Timestamp;
use service_kit::auth::Caller;
use std::collections::BTreeMap;

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

/// The request with its steps, as answered to `caller` at `now`.
pub(super) fn answer(
    whole: Whole,
    caller: &Caller,
    orchestrator: &Orchestrator,
    now: Timestamp,
) -> actix_web::web::Json<GdprRequest> {
    let Whole {
        request,
        steps,
        verification,
    } = whole;
    let check = Check::of_steps(&steps);
    actix_web::web::Json(view(
        request,
        Some(steps),
        check,
        verification,
        viewer(caller, orchestrator),
        now,
    ))
}

/// The request as served to `viewer` at `now`, with its participants' steps when given, a
/// RECTIFY's `check` of conflicts (its count steps', [`crate::rectification::conflicts`]), and
/// how its requester was verified when recorded.
pub(super) fn view(
    request: Request,
    steps: Option<Vec<Step>>,
    check: Check,
    verification: Option<RequesterVerification>,
    viewer: Viewer<'_>,
    now: Timestamp,
) -> GdprRequest {
    let counts = totals(steps.iter().flatten(), |s| &s.counts);
    let left_out = totals(steps.iter().flatten(), |s| &s.left_out);
    let gate = viewer.gate(verification.is_some());
    let mut allowed_actions = lifecycle::allowed_actions(&request, gate, viewer.by, viewer.four_eyes, now);
    // Only a RECTIFY's count checks whose its values are; another type's steps carry no check.
    let conflicts = match request.request_type {
        RequestType::Rectify => {
            check.withhold_confirm(&mut allowed_actions);
            check.conflicts
        }
        _ => None,
    };
    let participants = steps.map(|steps| {
        steps
            .into_iter()
            .map(|step| GdprStep {
                phase: step.phase,
                participant: step.participant,
                state: step.state,
                attempts: step.attempts,
                counts: step.counts,
                left_out: step.left_out,
                detail: step.detail,
                results_urls: step.results_urls,
                to_erase_elsewhere: step.to_erase_elsewhere,
                to_restrict_elsewhere: step.to_restrict_elsewhere,
                retained: step.retained,
                kept_unchanged: step.kept_unchanged,
                conflicts: step.conflicts,
                updated_at: step.updated_at,
            })
            .collect()
    });
    GdprRequest {
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
        requester_verification: verification,
        language: request.language,
        counts,
        left_out,
        conflicts,
        allowed_actions,
        participants,
    }
}
