//! A stand-in for the bank's communication-history-manager, on 127.0.0.1: it takes the
//! integration spec's record body (`POST /communicationRecords`, and `PATCH`/`PUT
//! /communicationRecords/{id}`), keeps what it was sent, and fails on demand.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The integration spec's record fields, every one of them in every body.
pub const SPEC_FIELDS: [&str; 13] = [
    "direction",
    "communicatedAt",
    "source",
    "channel",
    "domain",
    "customerId",
    "customerHandle",
    "interactionId",
    "bankUserId",
    "bankUserName",
    "purpose",
    "title",
    "body",
];

/// How the stand-in answers the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerFault {
    /// Stores and answers 201 (200 to an update).
    None,
    /// Answers 503 with `Retry-After: 1`, storing nothing.
    Down,
    /// Refuses with this status, storing nothing.
    Refuse(u16),
    /// Takes the request and never answers, storing nothing.
    Hang,
    /// Stores the record, then never answers: the answer is lost.
    StoreThenHang,
    /// Answers `307 Temporary Redirect` to `/elsewhere`, which would store it (a manager moved,
    /// or a hostile one): a client that follows redirects is seen there.
    Redirect,
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct ManagerRequest {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    fault: Option<ManagerFault>,
    /// Keys seen: a repeated key is answered as first, not stored again (when idempotent).
    idempotent: bool,
    by_key: BTreeMap<String, String>,
    /// Every record it holds, by its id, as last written.
    records: BTreeMap<String, Value>,
    received: Vec<ManagerRequest>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct HistoryManager {
    pub url: String,
    state: Arc<Mutex<State>>,
    received: watch::Receiver<usize>,
    /// Open: requests are answered; closed: each waits, received and counted, until it opens.
    gate: Arc<watch::Sender<bool>>,
}

impl HistoryManager {
    /// Starts it; `idempotent`: a key seen before is answered without storing again.
    pub fn start(idempotent: bool) -> Self {
        let state = Arc::new(Mutex::new(State {
            idempotent,
            ..State::default()
        }));
        let (count, received) = watch::channel(0usize);
        let count = Arc::new(count);
        let (gate, gate_open) = watch::channel(true);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(web::Data::from(shared.clone()))
                .app_data(web::Data::from(count.clone()))
                .app_data(web::Data::new(gate_open.clone()))
                .route("/communicationRecords", web::post().to(take))
                .route("/elsewhere", web::post().to(take))
                .route("/communicationRecords/{id}", web::patch().to(take))
                .route("/communicationRecords/{id}", web::put().to(take))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url,
            state,
            received,
            gate: Arc::new(gate),
        }
    }

    /// From now on every request waits, once received and counted, until [`Self::open_gate`]:
    /// a delivery in flight for as long as a test needs, without a sleep.
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    /// Lets the waiting requests (and the next ones) through.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    pub fn set_fault(&self, fault: ManagerFault) {
        self.state.lock().unwrap().fault = Some(fault);
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<ManagerRequest> {
        self.state.lock().unwrap().received.clone()
    }

    /// The records it holds, by id.
    pub fn records(&self) -> BTreeMap<String, Value> {
        self.state.lock().unwrap().records.clone()
    }

    /// Waits until it has received `n` requests in all (at most 30 s).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut received = self.received.clone();
        tokio::time::timeout(Duration::from_secs(30), received.wait_for(|&count| count >= n))
            .await
            .expect("the manager received the requests in time")
            .expect("the manager is running");
    }
}

async fn take(
    request: HttpRequest,
    body: web::Json<Value>,
    state: web::Data<Mutex<State>>,
    count: web::Data<watch::Sender<usize>>,
    gate: web::Data<watch::Receiver<bool>>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body = body.into_inner();
    let received = ManagerRequest {
        method: request.method().to_string(),
        path: request.path().to_owned(),
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
        body: body.clone(),
    };
    state.lock().unwrap().received.push(received.clone());
    count.send_modify(|n| *n += 1);
    let mut gate = gate.get_ref().clone();
    if gate.wait_for(|open| *open).await.is_err() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let (fault, answer) = {
        let mut state = state.lock().unwrap();
        let fault = state.fault.unwrap_or(ManagerFault::None);
        let answer = match fault {
            ManagerFault::None | ManagerFault::StoreThenHang => Some(store(&mut state, &received)),
            ManagerFault::Down | ManagerFault::Refuse(_) | ManagerFault::Hang | ManagerFault::Redirect => None,
        };
        (fault, answer)
    };
    match (fault, answer) {
        (ManagerFault::Down, _) => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .finish(),
        (ManagerFault::Refuse(status), _) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                .json(json!({ "error": "refused" }))
        }
        (ManagerFault::Redirect, _) if request.path() != "/elsewhere" => HttpResponse::TemporaryRedirect()
            .insert_header(("Location", "/elsewhere"))
            .finish(),
        (ManagerFault::Redirect, _) => HttpResponse::Created().json(json!({ "id": "elsewhere-1" })),
        (ManagerFault::Hang | ManagerFault::StoreThenHang, _) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::GatewayTimeout().finish()
        }
        (ManagerFault::None, Some(answer)) => answer,
        (ManagerFault::None, None) => HttpResponse::InternalServerError().finish(),
    }
}

/// Stores what the request carries: a new record, or the named one changed.
fn store(state: &mut State, request: &ManagerRequest) -> HttpResponse {
    let Some(fields) = request.body.as_object() else {
        return HttpResponse::BadRequest().json(json!({ "error": "not an object" }));
    };
    let missing: Vec<&str> = SPEC_FIELDS.into_iter().filter(|f| !fields.contains_key(*f)).collect();
    let unknown: Vec<&String> = fields
        .keys()
        .filter(|f| !SPEC_FIELDS.contains(&f.as_str()) && f.as_str() != "supersedes")
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return HttpResponse::UnprocessableEntity().json(json!({ "missing": missing, "unknown": unknown }));
    }
    if let (true, Some(key)) = (state.idempotent, &request.idempotency_key) {
        if let Some(id) = state.by_key.get(key) {
            return HttpResponse::Ok().json(json!({ "id": id }));
        }
    }
    let id = match request.path.strip_prefix("/communicationRecords/") {
        Some(id) if state.records.contains_key(id) => id.to_owned(),
        Some(_) => return HttpResponse::NotFound().json(json!({ "error": "no such record" })),
        None => format!("chm-{}", state.records.len() + 1),
    };
    state.records.insert(id.clone(), request.body.clone());
    if let Some(key) = &request.idempotency_key {
        state.by_key.insert(key.clone(), id.clone());
    }
    if request.method == "POST" {
        HttpResponse::Created().json(json!({ "id": id }))
    } else {
        HttpResponse::Ok().json(json!({ "id": id }))
    }
}
