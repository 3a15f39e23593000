//! A restriction (GDPR Art. 18) here: the customer's records are held as a forget holds them
//! (no read, no delivery to the communication-history-manager) and still exported to them; an
//! agent's restriction hides the agent on the records and still exports them to the agent. A
//! forget's undo leaves a restriction standing; undo under the restriction's id lifts it, and the
//! records read and are delivered as before.

use crate::delivery::{drain, record, spawn, write, C, D};
use crate::legal_holds::{call, exported, AGENT};
use crate::purged_customers::records_of;
use domain::Timestamp;
use serde_json::json;
use test_support::HistoryManager;
use uuid::Uuid;

#[tokio::test]
async fn a_restricted_customers_records_are_hidden_and_undelivered_yet_exported_until_lifted() {
    let manager = HistoryManager::start(true);
    let s = spawn(&manager, &[]).await;
    let restricted = write(&s.app, &record(Some(C), &Uuid::new_v4().to_string())).await["id"].clone();
    write(&s.app, &record(Some(D), &Uuid::new_v4().to_string())).await;
    let of_c = format!("customerId={C}");
    let subject = json!({ "customerIds": [C] });

    let restrict = Uuid::now_v7();
    for _ in 0..2 {
        let report = call(&s.app, restrict, "restrict", &subject, json!([])).await;
        assert_eq!(report["counts"]["communications"], 1, "{report}");
        assert!(
            records_of(&s.app, &of_c).await.is_empty(),
            "a restricted record is read"
        );
        assert_eq!(
            exported(&s.app, &subject, "communications").await,
            std::slice::from_ref(&restricted)
        );
    }
    drain(&s.worker, Timestamp::now()).await;
    assert_eq!(manager.received().len(), 1, "D's record alone is delivered");
    assert!(manager.received().iter().all(|r| r.body["customerId"] != C));

    // The agent on both records, restricted: hidden on them, still the agent's to see.
    let agent = json!({ "genesysUserIds": [AGENT] });
    let on_agent = Uuid::now_v7();
    let report = call(&s.app, on_agent, "restrict", &agent, json!([])).await;
    assert_eq!(report["counts"]["agentCommunications"], 2, "{report}");
    assert_eq!(exported(&s.app, &agent, "agentCommunications").await.len(), 2);
    call(&s.app, on_agent, "undo", &agent, json!([])).await;
    // (An export is never restricted: C's restricted record is the agent's to see too.)
    assert_eq!(exported(&s.app, &agent, "agentCommunications").await.len(), 2);
    assert!(
        records_of(&s.app, &of_c).await.is_empty(),
        "the agent's undo lifted C's restriction"
    );

    // A forget of C, undone: the restriction stands.
    let forget = Uuid::now_v7();
    call(&s.app, forget, "forget", &subject, json!([])).await;
    call(&s.app, forget, "undo", &subject, json!([])).await;
    assert!(records_of(&s.app, &of_c).await.is_empty());
    assert_eq!(
        exported(&s.app, &subject, "communications").await,
        std::slice::from_ref(&restricted)
    );

    // Lifted: read and delivered as any record.
    let lifted = call(&s.app, restrict, "undo", &subject, json!([])).await;
    assert_eq!(lifted["counts"]["communications"], 1, "{lifted}");
    assert_eq!(records_of(&s.app, &of_c).await.len(), 1);
    assert_eq!(exported(&s.app, &subject, "communications").await, [restricted]);
    // (Held, its delivery was put off: it goes once that backoff has passed.)
    drain(&s.worker, crate::delivery::later(120)).await;
    assert!(manager.received().iter().any(|r| r.body["customerId"] == C));
}
