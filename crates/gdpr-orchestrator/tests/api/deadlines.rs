use crate::helpers::{after, stack, Person, DPO};
use domain::gdpr::due_after_months;
use domain::Timestamp;
use gdpr_orchestrator::store;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use test_support::assert_problem;

#[tokio::test]
async fn due_one_month_after_receipt_extendable_by_two_with_a_reason_and_overdue_is_visible() {
    let s = stack().await;
    let person = Person::new();
    // Unconfirmed, the FORGET stays open: it is what falls overdue.
    let id = s.file("FORGET", json!({ "phoneNumbers": [person.phone] }), false).await;
    let request = s.request(&id).await;
    let received = Timestamp::parse(request["receivedAt"].as_str().unwrap()).unwrap();
    assert_eq!(request["dueAt"], json!(due_after_months(received, 1).unwrap()));
    assert_eq!(request["overdue"], false);

    // Overdue after the month: in the list filter and the metric.
    let month_later = after(received, 32 * 86_400);
    let overdue = s
        .orchestrator
        .pool()
        .run(move |c| {
            store::list(
                c,
                &store::ListFilter {
                    status: None,
                    overdue: true,
                },
                None,
                10,
                month_later,
            )
            .map_err(service_kit::problem::ApiError::from)
        })
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].id.to_string(), id);
    s.worker.drain(month_later).await.unwrap();
    let gauge = s
        .metrics
        .gather()
        .into_iter()
        .find(|m| m.name() == "ccbridge_gdpr_overdue_requests")
        .unwrap();
    assert_eq!(gauge.get_metric()[0].get_gauge().get_value(), 1.0);
    // Not overdue today.
    let listed: Value = s
        .orchestrator
        .get("/gdpr/requests?overdue=true", DPO)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["requests"].as_array().unwrap().is_empty(), "{listed}");
    let listed: Value = s
        .orchestrator
        .get("/gdpr/requests?status=awaiting_confirmation", DPO)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["requests"].as_array().unwrap().len(), 1);

    // Extended by one month, then one more; a third is refused; a reason is required.
    let extend = |months: i32, reason: &str| json!({ "months": months, "reason": reason });
    let missing_reason = s
        .orchestrator
        .post_json(&format!("/gdpr/requests/{id}/extend"), DPO, &extend(1, " "))
        .await;
    assert_problem(missing_reason, 422).await;
    let response = s
        .orchestrator
        .post_json(
            &format!("/gdpr/requests/{id}/extend"),
            DPO,
            &extend(1, "complex: three systems"),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let response = s
        .orchestrator
        .post_json(
            &format!("/gdpr/requests/{id}/extend"),
            DPO,
            &extend(1, "Genesys export still running"),
        )
        .await;
    let extended: Value = response.json().await.unwrap();
    assert_eq!(extended["dueAt"], json!(due_after_months(received, 3).unwrap()));
    assert_eq!(extended["extensionMonths"], 2);
    assert_eq!(extended["extensionReason"], "Genesys export still running");
    let too_long = s
        .orchestrator
        .post_json(&format!("/gdpr/requests/{id}/extend"), DPO, &extend(1, "more"))
        .await;
    assert_problem(too_long, 409).await;
    let audit: Value = s
        .orchestrator
        .get(&format!("/gdpr/requests/{id}/audit"), DPO)
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.iter().filter(|e| **e == "deadline_extended").count(), 2);
    assert_eq!(events[0], "received");
}

#[tokio::test]
async fn the_audit_log_is_append_only_and_its_hash_chain_shows_tampering() {
    let s = stack().await;
    let person = Person::new();
    let id = s.file("FORGET", json!({ "phoneNumbers": [person.phone] }), false).await;
    s.run(&id, Timestamp::now()).await;
    let request_id = uuid::Uuid::parse_str(&id).unwrap();
    let trail = audit_trail(&s, &id).await;
    assert_eq!(trail["chainVerified"], true, "{trail}");
    let entries = trail["entries"].as_array().unwrap();
    assert!(entries.len() >= 3, "{trail}");
    assert_eq!(entries[0]["actor"], DPO);
    assert_eq!(entries[0]["event"], "received");

    // The database refuses changes through the ordinary path.
    let refused = s
        .orchestrator
        .pool()
        .run(move |c| {
            use diesel::RunQueryDsl;
            let update = diesel::sql_query("UPDATE gdpr_audit_log SET actor = 'someone else'").execute(c);
            let delete = diesel::sql_query("DELETE FROM gdpr_audit_log").execute(c);
            Ok::<_, service_kit::problem::ApiError>((update.is_err(), delete.is_err()))
        })
        .await
        .unwrap();
    assert_eq!(refused, (true, true), "the triggers refuse UPDATE and DELETE");

    // Someone with the power to drop the triggers edits an entry: the chain no longer verifies.
    let backend = s.orchestrator.backend();
    s.orchestrator
        .pool()
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            let disable = match backend {
                service_kit::database::Backend::Postgres => {
                    "ALTER TABLE gdpr_audit_log DISABLE TRIGGER gdpr_audit_log_append_only;"
                }
                service_kit::database::Backend::Sqlite => "DROP TRIGGER gdpr_audit_log_no_update;",
            };
            c.batch_execute(&format!(
                "{disable} UPDATE gdpr_audit_log SET actor = 'someone else' WHERE request_id = '{request_id}' AND sequence = 1;"
            ))
            .map_err(|e| service_kit::problem::ApiError::Unexpected(e.into()))
        })
        .await
        .unwrap();
    let trail = audit_trail(&s, &id).await;
    assert_eq!(trail["entries"][0]["actor"], "someone else");
    assert_eq!(trail["chainVerified"], false, "{trail}");

    // They recompute every link, as the chain was linked before it was keyed (plain SHA-256,
    // marked unkeyed): without gdpr.audit_key, it still does not verify.
    s.orchestrator
        .pool()
        .run(move |c| recompute_plain_chain(c, request_id).map_err(service_kit::problem::ApiError::from))
        .await
        .unwrap();
    let trail = audit_trail(&s, &id).await;
    assert_eq!(trail["chainVerified"], false, "{trail}");
}

/// What an editor without the key would do: relink the request's entries with plain SHA-256.
fn recompute_plain_chain(
    c: &mut service_kit::database::AnyConnection,
    request_id: uuid::Uuid,
) -> diesel::QueryResult<()> {
    use diesel::prelude::*;
    use gdpr_orchestrator::schema::gdpr_audit_log::dsl;
    use service_kit::database::sql_types::{DbTimestamp, DbUuid};
    type Row = (DbUuid, Option<i32>, DbTimestamp, String, String, String);
    let rows: Vec<Row> = dsl::gdpr_audit_log
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order(dsl::sequence)
        .select((dsl::id, dsl::sequence, dsl::at, dsl::actor, dsl::event, dsl::detail))
        .load(c)?;
    let mut previous = String::new();
    for (id, sequence, at, actor, event, detail) in rows {
        let parts = [
            previous.clone(),
            id.0.to_string(),
            request_id.to_string(),
            sequence.unwrap_or_default().to_string(),
            at.into_domain()?.to_string(),
            actor,
            event,
            detail,
        ];
        let mut hasher = Sha256::new();
        for part in &parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let link = hex::encode(hasher.finalize());
        diesel::update(dsl::gdpr_audit_log.find(id))
            .set((
                dsl::previous_hash.eq(Some(previous.clone())),
                dsl::entry_hash.eq(Some(link.clone())),
                dsl::keyed.eq(false),
            ))
            .execute(c)?;
        previous = link;
    }
    Ok(())
}

async fn audit_trail(s: &crate::helpers::Stack, id: &str) -> Value {
    let response = s.orchestrator.get(&format!("/gdpr/requests/{id}/audit"), DPO).await;
    response.json().await.unwrap()
}
