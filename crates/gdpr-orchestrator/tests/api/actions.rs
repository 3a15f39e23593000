//! What the orchestrator offers a caller (`allowedActions`) is exactly what its routes then
//! accept: a table over request states × callers, each action tried on the real routes against a
//! fresh copy of the request as offered. The orchestrator runs with its defaults: a FORGET is
//! confirmed and a bundle downloaded only once the requester's verification is recorded.

use contracts::gdpr::{
    AllowedAction, AnswerLanguage, ExtendDeadline, FiledRequest, GdprRequest, LiftRestriction, RecordVerification,
    RequestStatus, RequestType, RequesterVerification, UndoForget, VerificationMethod,
};
use contracts::Client;
use domain::gdpr::{DataSubject, SubjectInput};
use domain::Timestamp;
use gdpr_orchestrator::store::{self, Request, Vouching};
use gdpr_orchestrator::Orchestrator;
use secrecy::SecretString;
use service_kit::problem::ApiError;
use std::collections::BTreeSet;
use test_support::TestApp;
use uuid::Uuid;

const DPO: &str = "dpo";
/// The person who files every request of the table (through the DPO tool, by name: development).
const FILER: &str = "Filer Person";

/// Who asks: the filer, another person, or the DPO tool acting as itself.
#[derive(Debug, Clone, Copy)]
enum Asker {
    Filer,
    Other,
    Tool,
}

impl Asker {
    fn person(self) -> Option<&'static str> {
        match self {
            Self::Filer => Some(FILER),
            Self::Other => Some("Second DPO"),
            Self::Tool => None,
        }
    }
}

/// One row of the table: a request as stored.
#[derive(Debug, Clone, Copy)]
struct State {
    request_type: RequestType,
    status: RequestStatus,
    count_only: bool,
    extension_months: i32,
    /// Its grace window ended (for a confirmed FORGET).
    grace_over: bool,
    /// Its identifiers (and an export's data) erased after the retention period.
    erased: bool,
    /// How its requester was verified is recorded.
    verified: bool,
}

impl State {
    fn of(request_type: RequestType, status: RequestStatus) -> Self {
        Self {
            request_type,
            status,
            count_only: false,
            extension_months: 0,
            grace_over: false,
            erased: false,
            verified: false,
        }
    }

    fn verified(self) -> Self {
        Self { verified: true, ..self }
    }
}

fn states() -> Vec<State> {
    let mut states: Vec<State> = RequestStatus::ALL
        .into_iter()
        .map(|status| State::of(RequestType::Forget, status))
        .collect();
    for status in [
        RequestStatus::Received,
        RequestStatus::Exporting,
        RequestStatus::Completed,
    ] {
        states.push(State::of(RequestType::Export, status));
    }
    for status in [RequestStatus::Received, RequestStatus::Completed] {
        states.push(State::of(RequestType::UndoForget, status));
    }
    for status in [
        RequestStatus::Restricting,
        RequestStatus::Restricted,
        RequestStatus::Lifted,
    ] {
        states.push(State::of(RequestType::Restrict, status));
    }
    for status in [RequestStatus::AwaitingConfirmation, RequestStatus::Undoing] {
        states.push(State::of(RequestType::LiftRestriction, status));
    }
    for status in [
        RequestStatus::AwaitingConfirmation,
        RequestStatus::Rectifying,
        RequestStatus::Completed,
    ] {
        states.push(State::of(RequestType::Rectify, status));
    }
    states.extend([
        State::of(RequestType::Forget, RequestStatus::AwaitingConfirmation).verified(),
        State::of(RequestType::Rectify, RequestStatus::AwaitingConfirmation).verified(),
        State::of(RequestType::Export, RequestStatus::Completed).verified(),
        State {
            count_only: true,
            ..State::of(RequestType::Forget, RequestStatus::Counting)
        },
        State {
            count_only: true,
            ..State::of(RequestType::Forget, RequestStatus::AwaitingConfirmation)
        },
        State {
            count_only: true,
            ..State::of(RequestType::Export, RequestStatus::Completed)
        },
        State {
            count_only: true,
            ..State::of(RequestType::Restrict, RequestStatus::Completed)
        },
        State {
            erased: true,
            ..State::of(RequestType::Export, RequestStatus::Completed)
        },
        State {
            grace_over: true,
            ..State::of(RequestType::Forget, RequestStatus::InGrace)
        },
        State {
            extension_months: 2,
            ..State::of(RequestType::Forget, RequestStatus::AwaitingConfirmation)
        },
        State {
            extension_months: 1,
            ..State::of(RequestType::Export, RequestStatus::Exporting)
        },
    ]);
    states
}

/// `state` stored as a request `FILER` filed a day ago, for a subject of its own.
async fn store_request(app: &TestApp, orchestrator: &Orchestrator, state: State) -> Uuid {
    let input = SubjectInput {
        customer_ids: vec![Uuid::new_v4().to_string()],
        ..SubjectInput::default()
    };
    let subject = DataSubject::parse(&input, &orchestrator.handles).unwrap();
    let fingerprint = orchestrator.fingerprint(&subject).unwrap();
    let now = Timestamp::now();
    let day =
        |days: i64| Timestamp::from_offset_date_time(now.as_offset_date_time() + time::Duration::days(days)).unwrap();
    let confirmed = matches!(
        state.status,
        RequestStatus::Forgetting
            | RequestStatus::InGrace
            | RequestStatus::Purging
            | RequestStatus::UndoRequested
            | RequestStatus::Undone
            | RequestStatus::Rectifying
    ) || (matches!(state.request_type, RequestType::Forget | RequestType::Rectify)
        && state.status == RequestStatus::Completed);
    let id = Uuid::now_v7();
    let request = Request {
        id,
        request_type: state.request_type,
        status: state.status,
        count_only: state.count_only,
        reference: (!state.erased).then(|| "CASE-1".to_owned()),
        requested_by: FILER.to_owned(),
        requested_via: DPO.to_owned(),
        requested_vouched_by: Some(Vouching::DevelopmentHeader),
        subject: (!state.erased).then_some(subject),
        subject_fingerprint: (!state.erased).then_some(fingerprint),
        target_request_id: None,
        language: Some(AnswerLanguage::Cs),
        rectification: (state.request_type == RequestType::Rectify && !state.erased).then(|| {
            serde_json::from_value(
                serde_json::json!({ "phoneNumbers": [{ "from": "+420601123456", "to": "+420602000111" }] }),
            )
            .unwrap()
        }),
        received_at: day(-1),
        due_at: day(29),
        extension_months: state.extension_months,
        extension_reason: (state.extension_months > 0).then(|| "complex".to_owned()),
        confirmed_at: confirmed.then(|| day(-1)),
        confirmed_by: confirmed.then(|| "Second DPO".to_owned()),
        confirmed_via: confirmed.then(|| DPO.to_owned()),
        // A FORGET's alone: a RECTIFY has no grace window.
        purge_after: (confirmed && state.request_type == RequestType::Forget).then(|| {
            if state.grace_over {
                day(-1)
            } else {
                day(1)
            }
        }),
        completed_at: state.status.is_finished().then(|| day(-1)),
        identifiers_erased_at: state.erased.then(|| day(-1)),
        status_reason: None,
        attempts: 0,
        // Never due for a worker (none runs here anyway).
        next_attempt_at: day(365),
        updated_at: day(-1),
        version: 0,
    };
    let verification = state.verified.then(|| RequesterVerification {
        method: VerificationMethod::VideoCall,
        evidence_reference: (!state.erased).then(|| "DMS-1".to_owned()),
        verified_by: "verifier".to_owned(),
        verified_by_name: Some("Verifier".to_owned()),
        verified_via: DPO.to_owned(),
        verified_at: day(-1),
    });
    app.pool()
        .run(move |c| {
            store::insert_request(c, &request)?;
            if let Some(verification) = &verification {
                store::verifications::insert(c, id, verification)?;
            }
            Ok::<_, ApiError>(())
        })
        .await
        .unwrap();
    id
}

fn client(app: &TestApp, asker: Asker) -> (Client, Option<&'static str>) {
    let client = Client::plain(app.client.clone(), app.address.parse().unwrap())
        .with_token(SecretString::from(app.token(DPO).to_owned()));
    (client, asker.person())
}

fn as_person(request: contracts::client::Request, person: Option<&str>) -> contracts::client::Request {
    match person {
        Some(person) => request.header("X-Acting-User", person),
        None => request,
    }
}

/// Takes `action` on request `id` as `asker`: whether the route accepted it (2xx), or the 4xx it
/// refused it with.
async fn take(app: &TestApp, asker: Asker, id: Uuid, action: AllowedAction) -> Result<(), u16> {
    let (client, person) = client(app, asker);
    let request = match action {
        AllowedAction::Confirm => client.post(&format!("/gdpr/requests/{id}/confirm")),
        AllowedAction::Extend => client
            .post(&format!("/gdpr/requests/{id}/extend"))
            .json(&ExtendDeadline {
                months: 1,
                reason: "complex".to_owned(),
            }),
        AllowedAction::Undo => client.post(&format!("/gdpr/requests/{id}/undo")).json(&UndoForget {
            reference: "CASE-2".to_owned(),
        }),
        AllowedAction::Lift => client
            .post(&format!("/gdpr/requests/{id}/lift"))
            .json(&LiftRestriction {
                reference: "CASE-2".to_owned(),
            }),
        AllowedAction::Download => client.get(&format!("/gdpr/requests/{id}/export")),
        AllowedAction::RecordVerification => {
            client
                .post(&format!("/gdpr/requests/{id}/verification"))
                .json(&RecordVerification {
                    method: "video_call".to_owned(),
                    evidence_reference: "DMS-2026-1".to_owned(),
                })
        }
    };
    match as_person(request, person).send_bytes().await {
        Ok(_) => Ok(()),
        Err(error) => {
            let status = error.status().unwrap_or_else(|| panic!("{action:?} on {id}: {error}"));
            assert!(
                [403, 409, 410].contains(&status.as_u16()),
                "{action:?} refused with {status}: {error}"
            );
            Err(status.as_u16())
        }
    }
}

/// The orchestrator alone (no worker), with the DPO tool as a delegating caller.
async fn app() -> (TestApp, Orchestrator) {
    let app = test_support::spawn_app_with(
        &gdpr_orchestrator::SERVICE,
        &[(DPO, &["dpo"])],
        &[
            ("gdpr.worker_enabled", "false"),
            ("gdpr.internal_token", "an-internal-token-of-some-length"),
            ("auth.callers.dpo.delegates", "true"),
        ],
    )
    .await;
    let orchestrator = Orchestrator::new(&app.settings).unwrap();
    (app, orchestrator)
}

const ACTIONS: [AllowedAction; 6] = [
    AllowedAction::Confirm,
    AllowedAction::Extend,
    AllowedAction::Undo,
    AllowedAction::Lift,
    AllowedAction::Download,
    AllowedAction::RecordVerification,
];

#[tokio::test]
async fn the_actions_offered_are_exactly_those_the_routes_accept() {
    let (app, orchestrator) = app().await;
    let mut offered_somewhere = BTreeSet::new();
    let mut refused_somewhere = BTreeSet::new();
    for state in states() {
        for asker in [Asker::Filer, Asker::Other, Asker::Tool] {
            let id = store_request(&app, &orchestrator, state).await;
            let (client, person) = client(&app, asker);
            let shown: GdprRequest = as_person(client.get(&format!("/gdpr/requests/{id}")), person)
                .send()
                .await
                .unwrap();
            assert_eq!((shown.status, shown.request_type), (state.status, state.request_type));
            for action in ACTIONS {
                // Each action on a fresh copy: the request exactly as it was offered.
                let copy = store_request(&app, &orchestrator, state).await;
                let accepted = take(&app, asker, copy, action).await;
                assert_eq!(
                    shown.allows(action),
                    accepted.is_ok(),
                    "{state:?} as {asker:?}: {action:?} offered {} but the route answered {accepted:?}",
                    shown.allows(action)
                );
                if accepted.is_ok() {
                    offered_somewhere.insert(action);
                } else {
                    refused_somewhere.insert(action);
                }
            }
        }
    }
    // The table reaches both answers of every action, but a verification's: only a person the
    // identity provider signed in records one, and here people are named (tests/api/verification.rs
    // has them signed in).
    let mut recordable: BTreeSet<_> = ACTIONS.into_iter().collect();
    recordable.remove(&AllowedAction::RecordVerification);
    assert_eq!(offered_somewhere, recordable);
    assert_eq!(refused_somewhere, ACTIONS.into_iter().collect());
}

#[tokio::test]
async fn four_eyes_offer_confirm_to_another_person_only_and_in_grace_may_be_extended() {
    let (app, orchestrator) = app().await;
    let awaiting = store_request(
        &app,
        &orchestrator,
        State::of(RequestType::Forget, RequestStatus::AwaitingConfirmation).verified(),
    )
    .await;
    let actions = |asker| {
        let (client, person) = client(&app, asker);
        async move {
            as_person(client.get(&format!("/gdpr/requests/{awaiting}")), person)
                .send::<GdprRequest>()
                .await
                .unwrap()
                .allowed_actions
        }
    };
    use AllowedAction::{Confirm, Extend, Undo};
    assert_eq!(actions(Asker::Filer).await, [Extend, Undo]);
    assert_eq!(actions(Asker::Tool).await, [Extend, Undo]);
    assert_eq!(actions(Asker::Other).await, [Confirm, Extend, Undo]);
    let in_grace = store_request(
        &app,
        &orchestrator,
        State::of(RequestType::Forget, RequestStatus::InGrace),
    )
    .await;
    let (client, _) = client(&app, Asker::Tool);
    let shown: GdprRequest = client.get(&format!("/gdpr/requests/{in_grace}")).send().await.unwrap();
    assert_eq!(shown.allowed_actions, [Extend, Undo]);
    // The list offers the same, per request.
    let page: contracts::gdpr::RequestPage = client.get("/gdpr/requests").send().await.unwrap();
    let listed = page.requests.iter().find(|r| r.id == in_grace).unwrap();
    assert_eq!(listed.allowed_actions, [Extend, Undo]);
}

/// A repeated undo (a double click, the tool retrying after a timeout) answers the UNDO_FORGET the
/// first one filed (200), whatever the FORGET became meanwhile; another reference meets the state
/// rules (already undone: 409).
#[tokio::test]
async fn a_repeated_undo_answers_the_undo_it_filed() {
    let (app, orchestrator) = app().await;
    for status in [RequestStatus::AwaitingConfirmation, RequestStatus::InGrace] {
        let forget = store_request(&app, &orchestrator, State::of(RequestType::Forget, status)).await;
        let (client, person) = client(&app, Asker::Other);
        let undo = |reference: &str| {
            as_person(client.post(&format!("/gdpr/requests/{forget}/undo")), person).json(&UndoForget {
                reference: reference.to_owned(),
            })
        };
        let first = undo("CASE-2").send_full::<FiledRequest>().await.unwrap();
        assert_eq!(
            (first.status.as_u16(), first.body.duplicate),
            (201, false),
            "{status:?}"
        );
        assert_eq!(first.body.request.request_type, RequestType::UndoForget);
        let again = undo("CASE-2")
            .send_full::<FiledRequest>()
            .await
            .unwrap_or_else(|error| panic!("{status:?}: a repeated undo: {error}"));
        assert_eq!((again.status.as_u16(), again.body.duplicate), (200, true), "{status:?}");
        assert_eq!(again.body.request.id, first.body.request.id, "{status:?}");
        let other = undo("CASE-3").send_full::<FiledRequest>().await.unwrap_err();
        assert_eq!(other.status().map(|s| s.as_u16()), Some(409), "{status:?}: {other}");
    }
}
