//! A RECTIFY's correction is the subject's supplementary statement (GDPR Art. 16) beside the rows
//! its rectify left unchanged as evidence (review-33 M6, the interim rule): past
//! `gdpr.identifier_retention_days` (30) the request's other identifiers are erased, but not the
//! correction while a legal hold in force could still keep those rows; once the hold is released,
//! the housekeeping erases it too, audited. A correction that left nothing unchanged goes with the
//! other identifiers, as before.

use crate::helpers::{after, stack, Person, Stack, REVIEWER};
use crate::retentions::dpo;
use domain::Timestamp;
use serde_json::{json, Value};

/// A finished RECTIFY of `subject`'s number `from` to a fresh one, filed by Alice and confirmed by
/// Bob; answers it.
pub(crate) async fn corrected(s: &Stack, subject: Value, from: &str) -> Value {
    let body = json!({
        "type": "RECTIFY",
        "subject": subject,
        "replacement": { "phoneNumbers": [{ "from": from, "to": Person::new().phone }] },
        "reference": "CASE-33",
    });
    let id = dpo(s, "Alice", "/gdpr/requests", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = Timestamp::now();
    assert_eq!(s.run(&id, now).await["status"], "awaiting_confirmation");
    assert_eq!(s.confirm_as(&id, Some("Bob")).await.status().as_u16(), 200);
    let (request, _) = s.run_while(&id, "rectifying", now, 20).await;
    assert_eq!(request["status"], "completed", "{request}");
    request
}

/// Whether request `id` still holds its correction, and whether its identifiers are erased.
async fn held(s: &Stack, id: &str) -> (bool, bool) {
    use diesel::prelude::*;
    use gdpr_orchestrator::schema::gdpr_requests::dsl;
    use service_kit::database::sql_types::{DbTimestamp, DbUuid};
    let id = DbUuid(id.parse().unwrap());
    let (correction, erased): (Option<String>, Option<DbTimestamp>) = s
        .orchestrator
        .pool()
        .run(move |c| {
            dsl::gdpr_requests
                .find(id)
                .select((dsl::rectification, dsl::identifiers_erased_at))
                .first(c)
                .map_err(service_kit::database::DatabaseError::from)
        })
        .await
        .unwrap();
    (correction.is_some(), erased.is_some())
}

fn events(trail: &[Value]) -> Vec<(String, Value)> {
    trail
        .iter()
        .map(|e| (e["event"].as_str().unwrap().to_owned(), e["detail"].clone()))
        .collect()
}

#[tokio::test]
async fn a_correction_beside_rows_a_hold_keeps_outlives_the_requests_identifiers_until_the_release() {
    let s = stack().await;
    let (kept, free) = (Person::new(), Person::new());
    let held_call = uuid::Uuid::new_v4().to_string();
    s.record(&held_call, &format!("tel:{}", kept.phone)).await;
    for person in [&kept, &free] {
        s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
            .await;
    }
    let hold = json!({
        "subject": {},
        "interactionIds": [held_call],
        "reference": "LIT-33-M6",
        "reason": "litigation about a disputed instruction",
        "basis": "legal_claims",
    });
    let hold = dpo(&s, "Carol", "/gdpr/legal-holds", hold).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_number = |person: &Person| json!({ "phoneNumbers": [person.phone] });
    let with_kept_rows = corrected(&s, by_number(&kept), &kept.phone).await;
    let without = corrected(&s, by_number(&free), &free.phone).await;
    let (with_kept_rows, without) = (
        with_kept_rows["id"].as_str().unwrap().to_owned(),
        without["id"].as_str().unwrap().to_owned(),
    );

    // Past the identifiers' retention: the free correction goes with the rest; the one beside
    // held rows stays while the hold is in force.
    s.run(&with_kept_rows, after(Timestamp::now(), 31 * 86_400)).await;
    assert_eq!(held(&s, &without).await, (false, true));
    assert_eq!(held(&s, &with_kept_rows).await, (true, true));
    let trail = events(&s.audit(&with_kept_rows).await);
    assert!(
        trail.contains(&("identifiers_erased".to_owned(), json!({ "correctionKept": true }))),
        "{trail:?}"
    );

    // The hold released (two persons), the next housekeeping erases the correction, audited.
    for (person, step) in [("alice", "ask"), (REVIEWER, "confirm")] {
        let release = json!({ "step": step, "reason": "the claim was settled" });
        dpo(&s, person, &format!("/gdpr/legal-holds/{hold}/release"), release).await;
    }
    s.run(&with_kept_rows, after(Timestamp::now(), 32 * 86_400)).await;
    assert_eq!(held(&s, &with_kept_rows).await, (false, true));
    let trail = events(&s.audit(&with_kept_rows).await);
    assert_eq!(
        trail.last().map(|(event, _)| event.as_str()),
        Some("correction_erased"),
        "{trail:?}"
    );
}
