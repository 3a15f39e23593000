//! `GET /gdpr/retention` (the console's Retention page, issue #30): the statutory rules in force
//! and how many legal holds are, counted, for the data protection officers (scope `dpo`) alone.

use crate::helpers::{stack_with, Person, StackOptions, DPO, OPERATOR, REVIEWER};
use crate::retentions::{dpo, hold_on};
use contracts::legal_hold::LegalBasis;
use contracts::retention::{RetentionSchedule, SCHEDULE_ROUTE};
use domain::{Channel, Direction};
use serde_json::{json, Value};

#[tokio::test]
async fn the_dpos_read_the_rules_in_force_and_the_holds_counted_never_named() {
    let rules = json!([
        { "name": "mifid2-voice", "channels": ["VOICE"], "directions": ["INBOUND", "OUTBOUND"], "keep_days": 1826, "basis": "legal_obligation" },
        { "name": "complaints", "keep_days": 365, "basis": "legal_claims" }
    ]);
    let s = stack_with(StackOptions {
        orchestrator: vec![("gdpr.statutory_retention".to_owned(), rules.to_string())],
        ..StackOptions::default()
    })
    .await;
    let (kept, released) = (Person::new(), Person::new());
    hold_on(&s, &kept.customer_id, "LIT-2026-061").await;
    let hold = hold_on(&s, &released.customer_id, "LIT-2026-062").await;
    for (person, step) in [("alice", "ask"), (REVIEWER, "confirm")] {
        let path = format!("/gdpr/legal-holds/{}/release", hold["id"].as_str().unwrap());
        dpo(
            &s,
            person,
            &path,
            json!({ "step": step, "reason": "the claim was settled" }),
        )
        .await;
    }

    // The queue operator's caller is no DPOs': 403.
    assert_eq!(
        s.orchestrator.get(SCHEDULE_ROUTE, OPERATOR).await.status().as_u16(),
        403
    );
    let answer = s.orchestrator.get(SCHEDULE_ROUTE, DPO).await;
    assert_eq!(answer.status().as_u16(), 200);
    let text = answer.text().await.unwrap();
    println!("{text}");
    assert!(
        !text.contains(&kept.customer_id) && !text.contains(&released.customer_id),
        "no subject is served"
    );
    let schedule: RetentionSchedule = serde_json::from_str(&text).unwrap();
    assert_eq!(schedule.legal_holds_in_force, 1, "the released hold is not in force");
    let names: Vec<&str> = schedule.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["mifid2-voice", "complaints"], "the configuration's order");
    let voice = &schedule.rules[0];
    assert_eq!(voice.channels, [Channel::Voice]);
    assert_eq!(voice.directions, [Direction::Inbound, Direction::Outbound]);
    assert!(voice.domains.is_empty(), "every domain");
    assert_eq!((voice.keep_days, voice.basis), (1826, LegalBasis::LegalObligation));
    assert_eq!(
        (schedule.rules[1].keep_days, schedule.rules[1].basis),
        (365, LegalBasis::LegalClaims)
    );

    // Described in the served OpenAPI document.
    let description: Value = s.orchestrator.get("/openapi.json", DPO).await.json().await.unwrap();
    assert!(
        description["paths"][SCHEDULE_ROUTE]["get"].is_object(),
        "the route is described"
    );
    assert!(description["components"]["schemas"]["RetentionSchedule"].is_object());
}

#[tokio::test]
async fn without_rules_or_holds_the_schedule_is_empty() {
    let s = stack_with(StackOptions::default()).await;
    let schedule: RetentionSchedule = s.orchestrator.get(SCHEDULE_ROUTE, DPO).await.json().await.unwrap();
    assert_eq!(
        schedule,
        RetentionSchedule {
            rules: Vec::new(),
            legal_holds_in_force: 0
        }
    );
}
