//! Four eyes are two people, each signed in: outside development the orchestrator takes a person
//! only from an access token of the bank's identity provider (`X-Person-Token`), verified here
//! against the real provider (panva's oidc-provider, test-support's `oidc`).

use crate::helpers::{assert_not_logged, person_settings, stack_with, Person, Stack, StackOptions};
use domain::Timestamp;
use serde_json::{json, Value};
use test_support::assert_problem;
use test_support::oidc::{Provider, ProviderOptions, AUDIENCE};

async fn provider() -> Provider {
    Provider::spawn(ProviderOptions::default()).await
}

/// The stack with its orchestrator outside development, its people verified at `provider`.
async fn production(provider: &Provider, refetch_seconds: u64) -> Stack {
    stack_with(StackOptions::production_with_persons(provider, refetch_seconds)).await
}

/// A subject with a record, for a FORGET to erase.
async fn recorded_subject(s: &Stack) -> (Person, String) {
    let person = Person::new();
    let interaction = uuid::Uuid::new_v4().to_string();
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    (person, interaction)
}

fn subject(person: &Person) -> Value {
    json!({ "phoneNumbers": [person.phone] })
}

/// The requests filed so far, newest first.
async fn filed(s: &Stack) -> Vec<Value> {
    let list: Value = s
        .orchestrator
        .get("/gdpr/requests", crate::helpers::DPO)
        .await
        .json()
        .await
        .unwrap();
    list["requests"].as_array().unwrap().clone()
}

/// The entry of `event`, by whom (subject, display name, client).
fn who(entries: &[Value], event: &str) -> (Value, Value, Value) {
    let entry = entries
        .iter()
        .find(|e| e["event"] == event)
        .unwrap_or_else(|| panic!("no {event} entry: {entries:?}"));
    (
        entry["actor"].clone(),
        entry["actorName"].clone(),
        entry["caller"].clone(),
    )
}

async fn file_forget(s: &Stack, person: &Person, token: &str) -> String {
    let response = s.file_signed_in("FORGET", subject(person), false, token).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "awaiting_confirmation", "{request}");
    id
}

#[tokio::test]
async fn outside_development_a_forget_filed_and_confirmed_with_two_tokens_of_one_person_is_refused() {
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let (person, _) = recorded_subject(&s).await;
    let dana = provider.access_token("dana").await;
    let id = file_forget(&s, &person, &dana).await;

    // Another sign-in of dana: another token, the same person.
    let dana_again = provider.access_token("dana").await;
    assert_ne!(dana, dana_again);
    let refused = assert_problem(s.confirm_signed_in(&id, &dana_again).await, 403).await;
    println!("dana confirms dana's FORGET: 403 {}", refused["detail"]);
    assert!(refused["detail"].as_str().unwrap().contains("four eyes"), "{refused}");
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");
    let entries = s.audit(&id).await;
    assert_eq!(who(&entries, "confirmation_refused").0, "dana");
}

#[tokio::test]
async fn outside_development_dana_files_bob_confirms_the_erasure_runs_and_the_audit_names_both() {
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let (person, interaction) = recorded_subject(&s).await;
    let id = file_forget(&s, &person, &provider.access_token("dana").await).await;

    let confirmed = s.confirm_signed_in(&id, &provider.access_token("bob").await).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let request = s.run(&id, Timestamp::now()).await;
    assert_eq!(request["status"], "in_grace", "{request}");
    assert_eq!(
        (request["requestedBy"].as_str(), request["confirmedBy"].as_str()),
        (Some("dana"), Some("bob"))
    );
    assert!(s.records(&format!("interactionId={interaction}")).await.is_empty());

    let entries = s.audit(&id).await;
    let (filer, confirmer) = (who(&entries, "received"), who(&entries, "confirmed"));
    println!("audit: received by {filer:?}, confirmed by {confirmer:?}");
    assert_eq!(filer, (json!("dana"), json!("Dana Dpo"), json!("dpo")));
    assert_eq!(confirmer, (json!("bob"), json!("Bob Reviewer"), json!("dpo")));
    assert_not_logged(&["Dana Dpo", "Bob Reviewer", &person.phone]);
}

#[tokio::test]
async fn outside_development_a_bare_acting_user_is_refused() {
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let person = Person::new();
    let response = s.file_as("FORGET", subject(&person), false, Some("alice")).await;
    let problem = assert_problem(response, 401).await;
    println!("X-Acting-User outside development: 401 {}", problem["detail"]);
    assert!(
        problem["detail"].as_str().unwrap().contains("X-Acting-User"),
        "{problem}"
    );
    assert!(!problem.to_string().contains("alice"));
    let list = s.orchestrator.get("/gdpr/requests", crate::helpers::DPO).await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["requests"].as_array().unwrap().len(), 0, "{list}");
}

/// The claims of a valid access token of dana, for the provider to sign (changed by each case).
fn claims(provider: &Provider) -> Value {
    let now = Timestamp::now().as_offset_date_time().unix_timestamp();
    json!({
        "iss": provider.issuer, "aud": AUDIENCE, "sub": "dana", "name": "Dana Dpo", "roles": ["ccbridge-dpo"],
        "client_id": test_support::oidc::CLI_CLIENT_ID, "iat": now, "exp": now + 600,
    })
}

#[tokio::test]
async fn outside_development_a_person_without_the_dpo_role_is_403_until_the_provider_grants_it() {
    // Before: any employee with a token for the services' audience (the gdpr command's public
    // client signs anyone in) was taken as the person behind a DPO action.
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let person = Person::new();
    for login in ["nora", "otto"] {
        let token = provider.access_token(login).await;
        let problem = assert_problem(s.file_signed_in("EXPORT", subject(&person), true, &token).await, 403).await;
        println!("{login} (no ccbridge-dpo) files: 403 {}", problem["detail"]);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("X-Person-Token") && detail.contains("ccbridge-dpo"),
            "{problem}"
        );
        for claim in [login, "Nora", "Otto", "ccbridge-operator"] {
            assert!(!detail.contains(claim), "{problem}");
        }
    }
    // A role granted at the provider counts from the person's next token.
    provider.set_person("nora", "Nora Norole", &["ccbridge-dpo"]).await;
    let token = provider.access_token("nora").await;
    let response = s.file_signed_in("EXPORT", subject(&person), true, &token).await;
    assert_eq!(response.status().as_u16(), 201);
    let filed: Value = response.json().await.unwrap();
    assert_eq!(filed["requestedBy"], "nora", "{filed}");
}

#[tokio::test]
async fn forged_foreign_misaddressed_and_expired_person_tokens_are_401() {
    let provider = provider().await;
    let s = production(&provider, 10).await;
    let person = Person::new();

    // What the provider signs as it should is accepted: each case below differs in one thing.
    let valid = provider.sign(claims(&provider)).await;
    let accepted = s.file_signed_in("EXPORT", subject(&person), true, &valid).await;
    assert_eq!(accepted.status().as_u16(), 201);

    let genuine = provider.access_token("bob").await;
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let dana = provider.access_token("dana").await;
    parts[1] = dana.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    let rogue = Provider::spawn(ProviderOptions {
        claimed_issuer: Some(provider.issuer.clone()),
        ..ProviderOptions::default()
    })
    .await;
    let forged = rogue.access_token("dana").await;
    let mut foreign = claims(&provider);
    foreign["iss"] = json!("https://login.elsewhere.example");
    let mut misaddressed = claims(&provider);
    misaddressed["aud"] = json!("https://another-service.example");
    let mut expired = claims(&provider);
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 60);
    let cases = [
        ("bob's signature under dana's claims", tampered, "signature"),
        ("signed by another key, naming the provider", forged, "key"),
        ("another issuer", provider.sign(foreign).await, "issuer"),
        ("another audience", provider.sign(misaddressed).await, "audience"),
        ("expired", provider.sign(expired).await, "expired"),
        ("not a JWT", "dana".to_owned(), "JWT"),
    ];
    for (case, token, reason) in cases {
        let response = s.file_signed_in("FORGET", subject(&person), false, &token).await;
        let problem = assert_problem(response, 401).await;
        println!("{case}: 401 {}", problem["detail"]);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("X-Person-Token") && detail.contains(reason),
            "{case}: {problem}"
        );
        assert!(!detail.contains("dana"), "{case}: {problem}");
    }
    let list = filed(&s).await;
    assert_eq!(list.len(), 1, "only the valid one was filed: {list:?}");
}

#[tokio::test]
async fn a_key_rotated_at_the_provider_is_accepted_after_the_rotation() {
    let provider = provider().await;
    let s = production(&provider, 10).await;
    let person = Person::new();
    let before = provider.access_token("dana").await;
    let response = s.file_signed_in("EXPORT", subject(&person), true, &before).await;
    assert_eq!(response.status().as_u16(), 201);

    let kid = provider.rotate_key().await;
    let after = provider.access_token("bob").await;
    assert!(after
        .split('.')
        .next()
        .is_some_and(|header| header != before.split('.').next().unwrap()));
    // Taken once the refetch interval (10 s, the least) since the last fetch has passed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        let response = s.file_signed_in("FORGET", subject(&person), true, &after).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status == 201 {
            println!("a token of the new key {kid}: {status}");
            break body;
        }
        assert_eq!(status, 401, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("key"), "{body}");
        assert!(std::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(body["requestedBy"], "bob");
}

#[tokio::test]
async fn the_providers_keys_are_fetched_again_at_most_once_per_interval() {
    let provider = provider().await;
    let s = production(&provider, 3600).await;
    let person = Person::new();
    let before = provider.access_token("dana").await;
    assert_eq!(
        s.file_signed_in("EXPORT", subject(&person), true, &before)
            .await
            .status()
            .as_u16(),
        201
    );
    provider.rotate_key().await;
    // Within the interval an unknown key is not looked up again: forged kids cannot make the
    // orchestrator hammer the provider.
    let after = provider.access_token("bob").await;
    let problem = assert_problem(s.file_signed_in("FORGET", subject(&person), true, &after).await, 401).await;
    println!("a new key within the refetch interval: 401 {}", problem["detail"]);
    assert!(problem["detail"].as_str().unwrap().contains("key"), "{problem}");
}

#[tokio::test]
async fn outside_development_a_machine_caller_cannot_file_a_forget_but_counts_and_exports_as_itself() {
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let (person, interaction) = recorded_subject(&s).await;

    // A FORGET filed by the client as itself would leave one signed-in person to confirm it
    // alone: it is refused at filing, and nothing is filed.
    let refused = assert_problem(s.file_as("FORGET", subject(&person), false, None).await, 403).await;
    println!("a FORGET from a client acting as itself: 403 {}", refused["detail"]);
    assert!(
        refused["detail"].as_str().unwrap().contains("signed-in person"),
        "{refused}"
    );
    assert!(filed(&s).await.is_empty());

    // Counts and EXPORTs it may file, as itself.
    for (request_type, count_only) in [("FORGET", true), ("EXPORT", false)] {
        let response = s.file_as(request_type, subject(&person), count_only, None).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{request_type} countOnly={count_only}: {body}");
        assert_eq!(body["requestedBy"], "dpo", "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let entries = s.audit(&id).await;
        let filer = who(&entries, "received");
        println!("{request_type} countOnly={count_only} filed by a machine caller: {filer:?}");
        assert_eq!(filer, (json!("dpo"), Value::Null, json!("dpo")));
    }
    assert_eq!(
        s.records(&format!("interactionId={interaction}")).await.len(),
        1,
        "nothing was erased"
    );
}

#[tokio::test]
async fn outside_development_a_person_alone_cannot_confirm_what_a_client_filed_as_itself() {
    // Before: the dpo client filed a FORGET as itself and bob alone confirmed it (200): one
    // person erased a customer. Now the filing is refused, so there is nothing for bob to confirm;
    // and bob confirming under the client's name is no second person either.
    let provider = provider().await;
    let s = production(&provider, 60).await;
    let (person, interaction) = recorded_subject(&s).await;
    let filed = s.file_as("FORGET", subject(&person), false, None).await;
    let status = filed.status().as_u16();
    let body: Value = filed.json().await.unwrap();
    println!("dpo files a FORGET as itself: {status}");
    assert_eq!(status, 403, "{body}");
    assert!(body["id"].is_null(), "{body}");
    let bob = provider.access_token("bob").await;
    // A FORGET bob files himself he cannot confirm; a machine caller cannot either.
    let id = file_forget(&s, &person, &bob).await;
    let again = assert_problem(s.confirm_signed_in(&id, &provider.access_token("bob").await).await, 403).await;
    println!("bob confirms bob's FORGET: 403 {}", again["detail"]);
    let machine = assert_problem(s.confirm_as(&id, None).await, 403).await;
    println!("the dpo client confirms it as itself: 403 {}", machine["detail"]);
    assert!(
        machine["detail"].as_str().unwrap().contains("signed-in person"),
        "{machine}"
    );
    assert_eq!(s.request(&id).await["status"], "awaiting_confirmation");
    assert_eq!(s.records(&format!("interactionId={interaction}")).await.len(), 1);
}

#[tokio::test]
async fn in_development_a_person_token_is_verified_too_and_the_bare_name_still_works() {
    let provider = provider().await;
    let s = stack_with(StackOptions {
        orchestrator: person_settings(&provider, 60),
        ..StackOptions::default()
    })
    .await;
    let person = Person::new();
    let named = s.file_as("EXPORT", subject(&person), true, Some("Alice")).await;
    assert_eq!(named.status().as_u16(), 201);
    let mut expired = claims(&provider);
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 60);
    let token = provider.sign(expired).await;
    assert_problem(s.file_signed_in("FORGET", subject(&person), true, &token).await, 401).await;
}

/// Outside development a delegating caller without the identity provider is refused at start
/// (and by check-config, which loads the same way): no silent fallback to trusting names.
#[test]
fn outside_development_a_delegating_caller_without_auth_persons_is_refused_at_start() {
    let load = |extra: &[(&str, &str)]| {
        let mut overrides: Vec<(String, String)> = [
            ("application.environment", "production"),
            ("auth.callers.dpo.token", "a-dpo-token-of-some-length-000"),
            ("auth.callers.dpo.scopes", "dpo"),
            ("auth.callers.dpo.delegates", "true"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        overrides.push((
            "gdpr.internal_token".to_owned(),
            "an-internal-token-of-some-length".to_owned(),
        ));
        let sources = service_kit::configuration::SettingsSources {
            service_defaults: gdpr_orchestrator::SERVICE.default_config,
            file: None,
            environment: false,
            overrides,
        };
        match service_kit::configuration::Settings::load(sources, gdpr_orchestrator::SERVICE.scopes) {
            Ok(_) => Vec::new(),
            Err(error) => error.to_string().lines().map(str::to_owned).collect::<Vec<_>>(),
        }
    };
    let refused = load(&[]);
    let persons = refused.iter().find(|p| p.contains("auth.persons:"));
    println!("a delegating caller, production, no auth.persons: {persons:?}");
    assert!(persons.is_some_and(|p| p.contains("dpo")), "{refused:?}");
    let configured = load(&[
        ("auth.persons.issuer", "https://login.bank.example/realms/staff"),
        ("auth.persons.audience", "https://ccbridge.bank.example"),
    ]);
    assert!(!configured.iter().any(|p| p.contains("auth.persons")), "{configured:?}");
}

/// The orchestrator's settings outside development, complete and valid, with `extra` on top.
pub(crate) fn production_settings(extra: &[(&str, &str)]) -> service_kit::configuration::Settings {
    let keys = service_kit::cli::new_keys();
    let key = |name: &str| crate::helpers::key_of(&keys, name);
    let mut overrides: Vec<(String, String)> = [
        ("application.environment", "production"),
        ("auth.callers.dpo.token", "a-dpo-token-of-some-length-000"),
        ("auth.callers.dpo.scopes", "dpo"),
        ("auth.callers.dpo.delegates", "true"),
        ("auth.persons.issuer", "https://login.bank.example/realms/staff"),
        ("auth.persons.audience", "https://ccbridge.bank.example"),
        ("gdpr.internal_token", "an-internal-token-of-some-length"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (setting, name) in [
        ("gdpr.signing_key", "APP__GDPR__SIGNING_KEY"),
        ("gdpr.bundle_key", "APP__GDPR__BUNDLE_KEY"),
        (
            "gdpr_participant.orchestrator_key",
            "APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY",
        ),
    ] {
        overrides.push((setting.to_owned(), key(name)));
    }
    overrides.push(("gdpr.identifier_key".to_owned(), uuid::Uuid::new_v4().to_string()));
    overrides.push(("gdpr.audit_key".to_owned(), uuid::Uuid::new_v4().to_string()));
    let sources = service_kit::configuration::SettingsSources {
        service_defaults: gdpr_orchestrator::SERVICE.default_config,
        file: None,
        environment: false,
        overrides,
    };
    service_kit::configuration::Settings::load(sources, gdpr_orchestrator::SERVICE.scopes)
        .unwrap_or_else(|e| panic!("production settings: {e}"))
}

/// One person alone must not erase a customer: `gdpr.four_eyes = false` is refused outside
/// development by the service's setup, which both the start and `check-config` run.
#[test]
fn outside_development_four_eyes_off_is_refused_at_start_and_by_check_config() {
    let check_config = |settings: &service_kit::configuration::Settings| {
        let context = service_kit::startup::ServiceContext {
            settings,
            metrics: &prometheus::Registry::new(),
            pool: None,
            background: None,
        };
        (gdpr_orchestrator::SERVICE.setup)(&context).map(|_| ())
    };
    let refused = check_config(&production_settings(&[("gdpr.four_eyes", "false")]));
    let reason = refused
        .err()
        .map_or(String::new(), |e| format!("{e:#}").replace('\n', " "));
    println!("gdpr.four_eyes = false in production: {reason}");
    assert!(reason.contains("gdpr.four_eyes"), "{reason}");
    check_config(&production_settings(&[])).unwrap();
    check_config(&production_settings(&[("gdpr.four_eyes", "true")])).unwrap();
}
