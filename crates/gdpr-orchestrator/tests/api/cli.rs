use crate::helpers::{assert_not_logged, stack, Person, DPO, REVIEWER};
use domain::Timestamp;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// The `gdpr` command with `args`, run to its end.
pub async fn gdpr(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gdpr"))
            .args(args)
            .env_remove("GDPR_TOKEN")
            .env_remove("GDPR_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The orchestrator's worker, as it runs in production: on its own, on the real clock.
pub(crate) fn run_worker(s: &crate::helpers::Stack) -> tokio::task::JoinHandle<()> {
    let worker = gdpr_orchestrator::worker(
        &s.orchestrator.settings,
        s.orchestrator.pool().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    tokio::spawn(async move {
        loop {
            let _ = worker.drain(Timestamp::now()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[tokio::test]
async fn the_gdpr_command_exports_and_forgets_with_and_without_confirm() {
    let s = stack().await;
    let person = Person::new();
    let (x1, x2) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    s.record(&x1, &format!("tel:{}", person.phone)).await;
    s.pair(&person.customer_id, &x2).await;
    s.record(&x2, "tel:+420777000333").await;

    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let token = s.orchestrator.token(DPO).to_owned();
    let url = s.orchestrator.address.clone();
    let common = |out: &str| -> Vec<String> {
        vec![
            "-o".into(),
            work.path().join(out).display().to_string(),
            "--token".into(),
            token.clone(),
            "--url".into(),
            url.clone(),
            "--poll-ms".into(),
            "100".into(),
            "--timeout-seconds".into(),
            "60".into(),
        ]
    };
    let subject_file = work.path().join("subject.json");
    std::fs::write(
        &subject_file,
        json!({ "customerIds": [person.customer_id], "phoneNumbers": [person.phone] }).to_string(),
    )
    .unwrap();

    // exportme: the bundle files, their checksums, output.json and execution.log.
    let mut args = vec!["exportme".to_owned(), "-i".into(), subject_file.display().to_string()];
    args.extend(common("export"));
    let output = gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let out = work.path().join("export");
    let communications = read_json(&out.join("comm-history-writer/communications.json"));
    assert_eq!(communications.as_array().unwrap().len(), 2);
    let manifest = read_json(&out.join("manifest.json"));
    assert!(manifest["files"].as_array().unwrap().len() >= 3);
    assert_eq!(read_json(&out.join("output.json"))["request"]["status"], "completed");
    let log = std::fs::read_to_string(out.join("execution.log")).unwrap();
    assert!(log.contains("completed") && log.contains("bundle written"), "{log}");

    // forgetme without --confirm: counts only, nothing hidden.
    let mut args = vec![
        "forgetme".to_owned(),
        "-i".into(),
        person.customer_id.clone(),
        "--as".into(),
        "First DPO".into(),
    ];
    args.extend(common("count"));
    let output = gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result = read_json(&work.path().join("count/output.json"));
    assert_eq!(result["request"]["status"], "awaiting_confirmation");
    assert_eq!(result["request"]["requestedBy"], "First DPO");
    assert_eq!(result["request"]["counts"]["count.communications"], 1);
    assert_eq!(s.records(&format!("customerId={}", person.customer_id)).await.len(), 1);

    // forgetme --confirm by the person who filed it: refused (four eyes), nothing hidden.
    let id = result["request"]["id"].as_str().unwrap().to_owned();
    let mut args = vec![
        "forgetme".to_owned(),
        "-i".into(),
        person.customer_id.clone(),
        "--confirm".into(),
        "--as".into(),
        "First DPO".into(),
    ];
    args.extend(common("self-confirm"));
    let output = gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("403") && stderr.contains("four eyes"), "{stderr}");
    assert_eq!(s.records(&format!("customerId={}", person.customer_id)).await.len(), 1);

    // gdpr confirm --as another person: carried out, hidden at once.
    let mut args = vec![
        "confirm".to_owned(),
        "-i".into(),
        id.clone(),
        "--as".into(),
        REVIEWER.into(),
    ];
    args.extend(common("forget"));
    let output = gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result = read_json(&work.path().join("forget/output.json"));
    assert_eq!(result["request"]["confirmedBy"], REVIEWER);
    assert_eq!(result["request"]["confirmedVia"], DPO);
    assert_eq!(result["request"]["status"], "in_grace", "{result}");
    assert!(s
        .records(&format!("customerId={}", person.customer_id))
        .await
        .is_empty());
    assert!(s.records(&format!("interactionId={x2}")).await.is_empty());

    // Failures exit non-zero with the reason.
    let mut args = vec!["exportme".to_owned(), "-i".into(), subject_file.display().to_string()];
    args.extend(common("fail"));
    let position = args.iter().position(|a| a == "--url").unwrap();
    args[position + 1] = "http://127.0.0.1:9".into();
    let output = gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unreachable"));
    let output = gdpr(&[
        "exportme",
        "-i",
        "not-a-uuid",
        "-o",
        &work.path().join("bad").display().to_string(),
        "--token",
        &token,
        "--url",
        &url,
    ])
    .await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/subject/customerIds/0"));

    running.abort();
    for folder in ["export", "count", "self-confirm", "forget", "fail", "bad"] {
        let log = std::fs::read_to_string(work.path().join(folder).join("execution.log")).unwrap();
        for identifier in [&person.digits, &person.customer_id] {
            assert!(
                !log.contains(identifier.as_str()),
                "execution.log holds an identifier: {log}"
            );
        }
    }
    assert_not_logged(&[&person.digits, &person.customer_id]);
}

/// `gdpr rectify` files a RECTIFY with its replacement and stops at the count; another person's
/// `gdpr confirm` corrects the data; a bad replacement is refused naming the field, never the value.
#[tokio::test]
async fn the_gdpr_command_rectifies_once_another_person_confirms() {
    let s = stack().await;
    let person = Person::new();
    let new_number = Person::new().phone;
    let interaction = uuid::Uuid::new_v4().to_string();
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let (token, url) = (s.orchestrator.token(DPO).to_owned(), s.orchestrator.address.clone());
    let run = |operation: &str, input: &str, out: &str, person: &str, extra: &[String]| {
        let mut args: Vec<String> = [operation, "-i", input, "--as", person, "--token", &token, "--url", &url]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        args.extend(["-o".to_owned(), work.path().join(out).display().to_string()]);
        args.extend([
            "--poll-ms".to_owned(),
            "100".to_owned(),
            "--timeout-seconds".to_owned(),
            "60".to_owned(),
        ]);
        args.extend(extra.iter().cloned());
        async move { gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };
    let subject = json!({ "phoneNumbers": [person.phone] }).to_string();
    let bad = json!({ "phoneNumbers": [{ "from": person.phone, "to": "not a number" }] }).to_string();
    let output = run(
        "rectify",
        &subject,
        "bad",
        "First DPO",
        &["--replacement".to_owned(), bad],
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/replacement/phoneNumbers/0/to") && !stderr.contains(&person.digits),
        "{stderr}"
    );

    let replacement = json!({ "phoneNumbers": [{ "from": person.phone, "to": new_number }] }).to_string();
    let output = run(
        "rectify",
        &subject,
        "filed",
        "First DPO",
        &["--replacement".to_owned(), replacement],
    )
    .await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let filed = read_json(&work.path().join("filed/output.json"));
    assert_eq!(filed["request"]["type"], "RECTIFY");
    assert_eq!(filed["request"]["status"], "awaiting_confirmation", "{filed}");
    let id = filed["request"]["id"].as_str().unwrap().to_owned();
    let records = s.records(&format!("interactionId={interaction}")).await;
    assert_eq!(
        records[0]["customerHandle"],
        format!("tel:{}", person.phone),
        "nothing corrected yet"
    );

    let output = run("confirm", &id, "confirmed", REVIEWER, &[]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let confirmed = read_json(&work.path().join("confirmed/output.json"));
    assert_eq!(confirmed["request"]["status"], "completed", "{confirmed}");
    let records = s.records(&format!("interactionId={interaction}")).await;
    assert_eq!(records[0]["customerHandle"], new_number.as_str());
    running.abort();
    for folder in ["bad", "filed", "confirmed"] {
        let log = std::fs::read_to_string(work.path().join(folder).join("execution.log")).unwrap();
        assert!(
            !log.contains(&person.digits) && !log.contains(&new_number[4..]),
            "{log}"
        );
    }
}

#[tokio::test]
async fn the_gdpr_command_takes_the_genesys_scripts_spellings() {
    let s = stack().await;
    // A national number that is a valid Czech mobile number whatever the random digits (60x is
    // not, for every x).
    let mut person = Person::new();
    person.digits = format!("601{}", &person.digits[3..]);
    person.phone = format!("+420{}", person.digits);
    let interaction = uuid::Uuid::new_v4().to_string();
    s.pair(&person.customer_id, &interaction).await;
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    // And a call from the same number nobody paired.
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let token = s.orchestrator.token(DPO).to_owned();
    let url = s.orchestrator.address.as_str();
    let run = |args: Vec<String>| async move {
        let mut args = args;
        args.extend(["--url".into(), url.to_owned(), "--poll-ms".into(), "100".into()]);
        gdpr(&args.iter().map(String::as_str).collect::<Vec<_>>()).await
    };
    let out = |name: &str| work.path().join(name).display().to_string();
    let ok = |output: &std::process::Output| {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };

    // gdpr -p exportme -i ids -o dir -u TOKEN works like gdpr exportme … --token TOKEN.
    let aliased = run(vec![
        "-p".into(),
        "exportme".into(),
        "-i".into(),
        person.customer_id.clone(),
        "-o".into(),
        out("aliased"),
        "-u".into(),
        token.clone(),
    ])
    .await;
    ok(&aliased);
    let native = run(vec![
        "exportme".into(),
        "-i".into(),
        person.customer_id.clone(),
        "-o".into(),
        out("native"),
        "--token".into(),
        token.clone(),
    ])
    .await;
    ok(&native);
    let communications = |dir: &str| read_json(&work.path().join(dir).join("comm-history-writer/communications.json"));
    assert_eq!(communications("aliased").as_array().unwrap().len(), 1);
    assert_eq!(communications("aliased"), communications("native"));

    // Inline JSON with a national number (the orchestrator's default region), -count, and the
    // caller's name and token as -c ID:SECRET or -u NAME:TOKEN --basic.
    let national = json!({ "phoneNumbers": [person.digits] }).to_string();
    for credentials in [
        vec!["-c".to_owned(), format!("{DPO}:{token}")],
        vec!["-u".to_owned(), format!("{DPO}:{token}"), "--basic".to_owned()],
    ] {
        let mut args = vec!["-p".into(), "forgetme".into(), "-i".into(), national.clone()];
        args.extend(["-o".into(), out("count"), "-count".into()]);
        args.extend(credentials);
        let counted = run(args).await;
        ok(&counted);
        let result = read_json(&work.path().join("count/output.json"));
        assert_eq!(result["request"]["countOnly"], true, "{result}");
        // The national digits reach the unpaired call, and find the paired one (left out: it is
        // the customer's, who is not named).
        assert_eq!(result["request"]["counts"]["count.communications"], 1, "{result}");
        assert_eq!(result["request"]["leftOut"]["count.communications"], 1, "{result}");
    }

    // -confirm is --confirm: the filer's own confirmation is refused (four eyes).
    let confirmed = run(vec![
        "-p".into(),
        "forgetme".into(),
        "-i".into(),
        person.customer_id.clone(),
        "-o".into(),
        out("confirm"),
        "-u".into(),
        token.clone(),
        "-confirm".into(),
    ])
    .await;
    assert!(!confirmed.status.success());
    let stderr = String::from_utf8_lossy(&confirmed.stderr);
    assert!(stderr.contains("four eyes"), "{stderr}");

    let help = gdpr(&["--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    for spelling in [
        "-p, --operation",
        "-u, --token",
        "--basic",
        "-c, --client",
        "-count, -confirm",
    ] {
        assert!(help.contains(spelling), "{spelling} missing from --help");
    }
    running.abort();
}

/// `gdpr OPERATION -i INPUT -o OUT` as the DPO tool against `s`, its person signing in at
/// `provider`, asking for the status every `poll_ms`.
pub(crate) fn signed_in_args(
    s: &crate::helpers::Stack,
    provider: &test_support::oidc::Provider,
    [operation, input]: [&str; 2],
    out: &Path,
    poll_ms: u64,
) -> Vec<String> {
    let mut args: Vec<String> = [operation, "-i", input, "--token", s.orchestrator.token(DPO)]
        .map(str::to_owned)
        .to_vec();
    args.extend([
        "-o".to_owned(),
        out.display().to_string(),
        "--url".to_owned(),
        s.orchestrator.address.clone(),
        "--issuer".to_owned(),
        provider.issuer.clone(),
        "--poll-ms".to_owned(),
        poll_ms.to_string(),
        "--timeout-seconds".to_owned(),
        "60".to_owned(),
    ]);
    args
}

/// Runs the command, taking its person's step of the device sign-in at `provider` as `login`
/// (as a person at a browser would: the verification page, the code, the provider's login).
pub(crate) async fn gdpr_signed_in(
    args: Vec<String>,
    provider: &test_support::oidc::Provider,
    login: &str,
) -> std::process::Output {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr"))
        .args(args)
        .env_remove("GDPR_TOKEN")
        .env_remove("GDPR_URL")
        .env_remove("GDPR_ISSUER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // It says where to sign in and the code, then waits for the person.
    let (code, mut seen, read) = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        while let Ok(line) = read.recv_timeout(Duration::from_secs(60)) {
            seen.push(line.clone());
            if let Some((_, code)) = line.split_once("enter the code ") {
                return (Some(code.trim().to_owned()), seen, read);
            }
        }
        (None, seen, read)
    })
    .await
    .unwrap();
    let code = code.unwrap_or_else(|| panic!("the command asked for no sign-in: {seen:?}"));
    provider.approve_device(&code, login).await;
    let mut output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    // What it said after the code (its stderr was read here).
    seen.extend(read.iter());
    output.stderr = seen.join("\n").into_bytes();
    output
}

#[tokio::test]
async fn the_gdpr_command_signs_its_people_in_at_the_identity_provider_for_four_eyes() {
    use crate::helpers::{stack_with, StackOptions};
    let provider = test_support::oidc::Provider::spawn(test_support::oidc::ProviderOptions::default()).await;
    let s = stack_with(StackOptions::production_with_persons(&provider, 60)).await;
    let person = Person::new();
    let interaction = uuid::Uuid::new_v4().to_string();
    s.record(&interaction, &format!("tel:{}", person.phone)).await;
    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let args = |operation: &str, input: &str, out: &str| {
        signed_in_args(&s, &provider, [operation, input], &work.path().join(out), 100)
    };
    let subject = json!({ "phoneNumbers": [person.phone] }).to_string();

    // dana files the FORGET, signed in at the provider.
    let filed = gdpr_signed_in(args("forgetme", &subject, "filed"), &provider, "dana").await;
    assert!(filed.status.success(), "{}", String::from_utf8_lossy(&filed.stderr));
    let output = read_json(&work.path().join("filed/output.json"));
    let id = output["request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(output["request"]["status"], "awaiting_confirmation");
    assert_eq!(output["request"]["requestedBy"], "dana");

    // dana again cannot confirm it; bob can.
    let refused = gdpr_signed_in(args("confirm", &id, "refused"), &provider, "dana").await;
    assert!(!refused.status.success());
    let reason = String::from_utf8_lossy(&refused.stderr);
    println!(
        "gdpr confirm signed in as dana: {}",
        reason.lines().last().unwrap_or_default()
    );
    assert!(reason.contains("four eyes"), "{reason}");
    let confirmed = gdpr_signed_in(args("confirm", &id, "confirmed"), &provider, "bob").await;
    assert!(
        confirmed.status.success(),
        "{}",
        String::from_utf8_lossy(&confirmed.stderr)
    );
    println!(
        "gdpr confirm signed in as bob: {}",
        String::from_utf8_lossy(&confirmed.stdout).trim()
    );
    running.abort();
    let entries = s.audit(&id).await;
    let by = |event: &str| {
        let entry = entries.iter().find(|e| e["event"] == event).unwrap();
        (entry["actor"].clone(), entry["actorName"].clone())
    };
    assert_eq!(by("received"), (json!("dana"), json!("Dana Dpo")));
    assert_eq!(by("confirmation_refused"), (json!("dana"), json!("Dana Dpo")));
    assert_eq!(by("confirmed"), (json!("bob"), json!("Bob Reviewer")));

    // --as (a bare name) is for development only.
    let mut named = args("exportme", &subject, "named");
    named.truncate(named.len() - 6);
    named.extend(["--as", "alice", "--poll-ms", "100"].map(str::to_owned));
    let named = gdpr(&named.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!named.status.success());
    let reason = String::from_utf8_lossy(&named.stderr);
    println!("gdpr --as outside development: {}", reason.trim());
    assert!(reason.contains("401") && reason.contains("X-Acting-User"), "{reason}");
}

#[tokio::test]
async fn the_gdpr_command_renews_its_persons_token_when_a_run_outlives_it() {
    use crate::helpers::{stack_with, StackOptions};
    // Access tokens live a second; the command asks for the status every 1.5 s, so every request
    // after the filing would carry an expired token unless it renews it (refresh token).
    let provider = test_support::oidc::Provider::spawn(test_support::oidc::ProviderOptions {
        access_token_ttl: Duration::from_secs(1),
        ..test_support::oidc::ProviderOptions::default()
    })
    .await;
    let s = stack_with(StackOptions::production_with_persons(&provider, 60)).await;
    let person = Person::new();
    s.record(&uuid::Uuid::new_v4().to_string(), &format!("tel:{}", person.phone))
        .await;
    let running = run_worker(&s);
    let work = tempfile::tempdir().unwrap();
    let subject = json!({ "phoneNumbers": [person.phone] }).to_string();
    let args = signed_in_args(&s, &provider, ["exportme", &subject], &work.path().join("export"), 1500);
    let exported = gdpr_signed_in(args, &provider, "dana").await;
    running.abort();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let output = read_json(&work.path().join("export/output.json"));
    let id = output["request"]["id"].as_str().unwrap();
    let entries = s.audit(id).await;
    let downloaded = entries.iter().find(|e| e["event"] == "bundle_downloaded").unwrap();
    println!(
        "an export outliving the 1 s token: {}, bundle downloaded by {} ({})",
        output["request"]["status"], downloaded["actor"], downloaded["actorName"]
    );
    assert_eq!(
        (&downloaded["actor"], &downloaded["actorName"]),
        (&json!("dana"), &json!("Dana Dpo"))
    );
}

/// A server on 127.0.0.1 answering every request with `response` (a status line and headers),
/// counting the requests and keeping the headers of the last one.
async fn stub(response: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let requests = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut read = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head, then as much body as it announces.
            let head_end = loop {
                let Ok(n) = stream.read(&mut buffer).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                read.extend_from_slice(&buffer[..n]);
                if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&read[..head_end]).to_string();
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while read.len() < head_end + length {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read.extend_from_slice(&buffer[..n]),
                }
            }
            requests.lock().unwrap().push(head);
            let _ = stream
                .write_all(format!("{response}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
                .await;
            let _ = stream.shutdown().await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn the_gdpr_command_refuses_plain_http_to_another_host_than_the_loopback() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().display().to_string();
    for (option, url) in [
        ("--url", "http://gdpr-orchestrator.bank.example:8085"),
        ("--issuer", "http://login.bank.example/realms/staff"),
    ] {
        let mut args = vec!["exportme", "-i", "c-1", "-o", &out, "--token", "t", option, url];
        if option == "--issuer" {
            args.extend(["--url", "https://gdpr-orchestrator.bank.example"]);
        }
        let output = gdpr(&args).await;
        let reason = String::from_utf8_lossy(&output.stderr);
        println!("{option} {url}: {}", reason.trim());
        assert!(!output.status.success());
        assert!(
            reason.contains(&format!("{option}: http is accepted only to a loopback address")),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn the_gdpr_command_does_not_follow_a_redirect_from_the_orchestrator() {
    // Where the redirect points: it must never see the caller's credentials or the person.
    let (elsewhere, reached) = stub("HTTP/1.1 200 OK\r\ncontent-type: application/json".to_owned()).await;
    let elsewhere = elsewhere.replace("127.0.0.1", "localhost");
    let (orchestrator, asked) = stub(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere}/gdpr/requests"
    ))
    .await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().display().to_string();
    let output = gdpr(&[
        "exportme",
        "-i",
        "c-1",
        "-o",
        &out,
        "--token",
        "a-dpo-token",
        "--as",
        "alice",
        "--url",
        &orchestrator,
    ])
    .await;
    let reason = String::from_utf8_lossy(&output.stderr);
    println!(
        "the orchestrator answers 307: {} (requests to the redirect's target: {})",
        reason.trim(),
        reached.lock().unwrap().len()
    );
    assert!(!output.status.success());
    assert_eq!(asked.lock().unwrap().len(), 1);
    assert!(reached.lock().unwrap().is_empty(), "{:?}", reached.lock().unwrap());
    assert!(reason.contains("307") && reason.contains("not followed"), "{reason}");
}

#[tokio::test]
async fn the_gdpr_command_trusts_the_banks_ca_only_through_ca_bundle() {
    let s = stack().await;
    let person = Person::new();
    let running = run_worker(&s);
    let ca = test_support::tls::TestCa::new("Bank internal CA (test)");
    let upstream: std::net::SocketAddr = s.orchestrator.address.trim_start_matches("http://").parse().unwrap();
    let front = test_support::tls::TlsFront::start(&ca, upstream).await;
    let bundle = ca.pem_file();
    let work = tempfile::tempdir().unwrap();
    let token = s.orchestrator.token(DPO).to_owned();
    let run = |out: &str, with_bundle: bool| {
        let mut args: Vec<String> = [
            "exportme",
            "-i",
            &person.customer_id,
            "--count",
            "-o",
            out,
            "--token",
            &token,
            "--url",
            &front.url,
            "--poll-ms",
            "100",
            "--timeout-seconds",
            "60",
        ]
        .map(str::to_owned)
        .to_vec();
        if with_bundle {
            args.extend(["--ca-bundle".to_owned(), bundle.display().to_string()]);
        }
        args
    };
    let without = run(&work.path().join("without").display().to_string(), false);
    let without = gdpr(&without.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let reason = String::from_utf8_lossy(&without.stderr);
    println!("https to the orchestrator, the bank's CA not given: {}", reason.trim());
    assert!(!without.status.success());
    assert!(
        reason.contains("unreachable") && reason.contains("certificate"),
        "{reason}"
    );

    let with = run(&work.path().join("with").display().to_string(), true);
    let with = gdpr(&with.iter().map(String::as_str).collect::<Vec<_>>()).await;
    running.abort();
    println!(
        "https to the orchestrator with --ca-bundle: {}",
        String::from_utf8_lossy(&with.stdout).trim()
    );
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
}
