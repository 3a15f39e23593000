//! The simulated endpoints.

use crate::faults::{Faults, Injected, Malformed};
use crate::{lock, GdprRequest, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use time::format_description::well_known::Rfc3339;

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/token", web::post().to(token))
        .route("/api/v2/users/{id}", web::get().to(user))
        .route("/api/v2/routing/wrapupcodes/{id}", web::get().to(wrapup_code))
        .route("/api/v2/gdpr/requests", web::post().to(create_gdpr_request))
        .route("/api/v2/gdpr/requests", web::get().to(list_gdpr_requests))
        .route("/api/v2/gdpr/requests/{id}", web::get().to(get_gdpr_request))
        .route("/api/v2/gdpr/subjects", web::get().to(gdpr_subjects))
        .route("/admin/calls", web::get().to(admin_calls))
        .route("/admin/faults", web::put().to(admin_faults))
        .route("/admin/revoke-tokens", web::post().to(admin_revoke))
        .route("/admin/reset", web::post().to(admin_reset))
        .configure(crate::conversations::config)
        .configure(crate::content::config);
}

/// Genesys' `ErrorBody`, with the correlation id also as `ININ-Correlation-Id`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let context_id = uuid::Uuid::new_v4().to_string();
    HttpResponse::build(status)
        .insert_header(("ININ-Correlation-Id", context_id.clone()))
        .json(json!({
            "message": message,
            "code": code,
            "status": status.as_u16(),
            "messageParams": {},
            "contextId": context_id,
            "details": [],
            "errors": []
        }))
}

fn not_found() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "not.found",
        "The requested resource was not found.",
    )
}

/// What every `/api/v2` request meets before its handler: count, latency, faults, bearer check.
pub(crate) async fn admit(state: &SimState, request: &HttpRequest, endpoint: &'static str) -> Result<(), HttpResponse> {
    state.count(endpoint);
    let n = state.api_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let (latency, injected) = {
        let faults = lock(&state.faults);
        (faults.latency(), faults.for_api_request(n))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match injected {
        Injected::None => {}
        Injected::Outage => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service.unavailable",
                "Service Unavailable",
            ))
        }
        Injected::RateLimited { retry_after_seconds } => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too.many.requests.retry.after",
                &format!("Rate limit exceeded the maximum. Retry the request in [{retry_after_seconds}] seconds"),
            );
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_seconds),
            );
            return Err(response);
        }
        Injected::ServerError => {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.server.error",
                "The server encountered an internal error.",
            ))
        }
    }
    let token = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    match token {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )),
        Some(token) if !state.token_is_valid(&token) => Err(error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        )),
        Some(_) => Ok(()),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
}

/// `POST /oauth/token`: client credentials in Basic auth, `grant_type=client_credentials`.
async fn token(state: web::Data<SimState>, request: HttpRequest, form: web::Form<TokenForm>) -> HttpResponse {
    state.count("token");
    let (latency, outage) = {
        let faults = lock(&state.faults);
        (faults.latency(), faults.in_outage())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if outage {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            "Service Unavailable",
        );
    }
    let auth_error = |description: &str| {
        HttpResponse::Unauthorized()
            .json(json!({ "error": "invalid_client", "description": description, "error_description": description }))
    };
    let credentials = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((client_id, client_secret)) = credentials.as_deref().and_then(|c| c.split_once(':')) else {
        return auth_error("client credentials are required in the Authorization header");
    };
    if client_id != state.config.client_id || client_secret != state.config.client_secret {
        return auth_error("client not found or secret mismatch");
    }
    if form.grant_type.as_deref() != Some("client_credentials") {
        return HttpResponse::BadRequest().json(json!({ "error": "unsupported_grant_type", "description": "grant_type must be client_credentials", "error_description": "grant_type must be client_credentials" }));
    }
    let expires_in = state.config.token_lifetime.as_secs();
    let expires_in = if state.malformed(Malformed::Token) {
        json!(expires_in.to_string())
    } else {
        json!(expires_in)
    };
    HttpResponse::Ok().json(json!({
        "access_token": state.issue_token(),
        "token_type": "bearer",
        "expires_in": expires_in,
    }))
}

async fn user(state: web::Data<SimState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "users").await {
        return response;
    }
    state.users.get(id.as_str()).map_or_else(not_found, |user| {
        let mut user = user.clone();
        if state.malformed(Malformed::Users) {
            user["name"] = json!([user["name"].take()]);
        }
        HttpResponse::Ok().json(user)
    })
}

async fn wrapup_code(state: web::Data<SimState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "wrapupcodes").await {
        return response;
    }
    state
        .wrapup_codes
        .get(id.as_str())
        .map_or_else(not_found, |code| HttpResponse::Ok().json(code))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateQuery {
    #[serde(default)]
    delete_confirmed: bool,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// The status a request has reached after `elapsed`: INITIATED, SEARCHING, (DELETING for
/// deletes, UPDATING for updates,) then COMPLETED, one step per `step`.
pub(crate) fn gdpr_status(request_type: &str, elapsed: std::time::Duration, step: std::time::Duration) -> &'static str {
    let path: &[&'static str] = match request_type {
        "GDPR_DELETE" => &["INITIATED", "SEARCHING", "DELETING", "COMPLETED"],
        "GDPR_UPDATE" => &["INITIATED", "SEARCHING", "UPDATING", "COMPLETED"],
        _ => &["INITIATED", "SEARCHING", "COMPLETED"],
    };
    let steps = (elapsed.as_secs_f64() / step.as_secs_f64().max(0.001)) as usize;
    path[steps.min(path.len() - 1)]
}

fn gdpr_body(state: &SimState, base_url: &str, request: &GdprRequest) -> Value {
    let status = gdpr_status(&request.request_type, request.created.elapsed(), state.config.gdpr_step);
    let mut body = json!({
        "id": request.id,
        "createdBy": { "id": state.config.client_id, "selfUri": format!("/api/v2/oauth/clients/{}", state.config.client_id) },
        "requestType": request.request_type,
        "createdDate": request.created_date,
        "status": status,
        "subject": request.subject,
        "selfUri": format!("/api/v2/gdpr/requests/{}", request.id),
    });
    if !request.replacement_terms.is_null() {
        body["replacementTerms"] = request.replacement_terms.clone();
    }
    if status == "COMPLETED" && request.request_type == "GDPR_EXPORT" {
        let url = format!("{base_url}/exports/{}.json", request.id);
        body["resultsUrl"] = url.clone().into();
        body["resultsUrls"] = json!([url]);
    }
    body
}

pub(crate) fn base_url(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// `ReplacementTerm.type`s.
const SEARCH_TYPES: [&str; 9] = [
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "TWITTER",
    "INSTAGRAM",
    "FACEBOOK",
    "APPLE_MESSAGES",
    "EXTERNAL_ID",
];

/// A non-empty list of `ReplacementTerm`s, each of a known type with both values.
fn replacement_terms_are_valid(terms: &Value) -> bool {
    terms.as_array().is_some_and(|terms| {
        !terms.is_empty()
            && terms.iter().all(|term| {
                let text = |field: &str| {
                    term.get(field)
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.trim().is_empty())
                };
                term.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| SEARCH_TYPES.contains(&t))
                    && text("existingValue")
                    && text("updatedValue")
            })
    })
}

/// A GDPR_UPDATE, applied to the organisation's subjects at once: in each subject the request's
/// subject finds, every `existingValue` of a term's type becomes its `updatedValue` (e-mail
/// addresses compared in any case), so a later search by the new value finds them and one by the
/// old value does not.
fn apply_replacements(subjects: &mut [Value], subject: &Value, terms: &Value) {
    let wanted = |candidate: &Value, field: &str| {
        let values = |v: &Value| -> Vec<String> {
            v.get(field)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_lowercase).collect())
                .unwrap_or_default()
        };
        let (mine, theirs) = (values(subject), values(candidate));
        !mine.is_empty() && mine.iter().any(|v| theirs.contains(v))
    };
    for candidate in subjects.iter_mut() {
        if !(wanted(candidate, "phoneNumbers") || wanted(candidate, "emailAddresses") || wanted(candidate, "addresses"))
        {
            continue;
        }
        for term in terms.as_array().into_iter().flatten() {
            let (Some(kind), Some(old), Some(new)) = (
                term.get("type").and_then(Value::as_str),
                term.get("existingValue").and_then(Value::as_str),
                term.get("updatedValue").and_then(Value::as_str),
            ) else {
                continue;
            };
            let field = match kind {
                "PHONE" => "phoneNumbers",
                "EMAIL" => "emailAddresses",
                "ADDRESS" => "addresses",
                _ => continue,
            };
            if let Some(items) = candidate.get_mut(field).and_then(Value::as_array_mut) {
                for item in items.iter_mut() {
                    if item.as_str().is_some_and(|v| v.eq_ignore_ascii_case(old)) {
                        *item = Value::from(new);
                    }
                }
            }
        }
    }
}

const SUBJECT_FIELDS: [&str; 10] = [
    "name",
    "userId",
    "externalContactId",
    "dialerContactId",
    "journeyCustomer",
    "socialHandle",
    "externalId",
    "addresses",
    "phoneNumbers",
    "emailAddresses",
];

async fn create_gdpr_request(
    state: web::Data<SimState>,
    request: HttpRequest,
    query: web::Query<CreateQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "gdpr.requests.create").await {
        return response;
    }
    let request_type = body
        .get("requestType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let subject = body.get("subject").cloned().unwrap_or(Value::Null);
    let subject_is_valid = subject
        .as_object()
        .is_some_and(|fields| !fields.is_empty() && fields.keys().all(|k| SUBJECT_FIELDS.contains(&k.as_str())));
    if !matches!(request_type.as_str(), "GDPR_EXPORT" | "GDPR_UPDATE" | "GDPR_DELETE") || !subject_is_valid {
        return error(StatusCode::BAD_REQUEST, "bad.request", "Invalid data");
    }
    let replacement_terms = body.get("replacementTerms").cloned().unwrap_or(Value::Null);
    // Genesys staff: replacementTerms are only valid on GDPR_UPDATE (else 400 "Invalid data").
    // A GDPR_UPDATE without them is refused alike here: the simulator's assumption (Genesys'
    // answer to it is undocumented), so a caller that forgets its terms finds out in tests.
    let terms_are_valid = match request_type.as_str() {
        "GDPR_UPDATE" => replacement_terms_are_valid(&replacement_terms),
        _ => replacement_terms.is_null(),
    };
    if !terms_are_valid {
        return error(StatusCode::BAD_REQUEST, "bad.request", "Invalid data");
    }
    // What Genesys does with an unconfirmed delete is undocumented; the simulator refuses it, so
    // a caller that forgets the confirmation finds out here rather than in production.
    if request_type == "GDPR_DELETE" && !query.delete_confirmed {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "GDPR_DELETE requires deleteConfirmed=true",
        );
    }
    if request_type == "GDPR_UPDATE" {
        apply_replacements(&mut lock(&state.gdpr_subjects), &subject, &replacement_terms);
    }
    let created = GdprRequest {
        id: uuid::Uuid::new_v4().to_string(),
        request_type,
        subject,
        replacement_terms,
        created_date: now_rfc3339(),
        created: std::time::Instant::now(),
    };
    let response = gdpr_body(&state, &base_url(&request), &created);
    lock(&state.gdpr_requests).push(created);
    HttpResponse::Ok().json(response)
}

async fn get_gdpr_request(state: web::Data<SimState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "gdpr.requests.get").await {
        return response;
    }
    let requests = lock(&state.gdpr_requests);
    requests.iter().find(|r| r.id == *id).map_or_else(not_found, |found| {
        let mut body = gdpr_body(&state, &base_url(&request), found);
        if state.malformed(Malformed::GdprRequestsGet) {
            body["status"] = json!("ARCHIVED");
        }
        HttpResponse::Ok().json(body)
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    page_size: Option<usize>,
    page_number: Option<usize>,
}

fn listing(entities: Vec<Value>, total: usize, page_size: usize, page_number: usize, path: &str) -> Value {
    let page_count = total.div_ceil(page_size.max(1));
    json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": format!("{path}?pageSize={page_size}&pageNumber=1"),
        "lastUri": format!("{path}?pageSize={page_size}&pageNumber={}", page_count.max(1)),
        "selfUri": format!("{path}?pageSize={page_size}&pageNumber={page_number}"),
    })
}

async fn list_gdpr_requests(
    state: web::Data<SimState>,
    request: HttpRequest,
    paging: web::Query<Paging>,
) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "gdpr.requests.list").await {
        return response;
    }
    let page_size = paging.page_size.unwrap_or(25).clamp(1, 500);
    let page_number = paging.page_number.unwrap_or(1).max(1);
    let base = base_url(&request);
    let requests = lock(&state.gdpr_requests);
    let entities = requests
        .iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .map(|r| gdpr_body(&state, &base, r))
        .collect();
    HttpResponse::Ok().json(listing(
        entities,
        requests.len(),
        page_size,
        page_number,
        "/api/v2/gdpr/requests",
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectSearch {
    search_type: Option<String>,
    search_value: Option<String>,
}

async fn gdpr_subjects(
    state: web::Data<SimState>,
    request: HttpRequest,
    search: web::Query<SubjectSearch>,
) -> HttpResponse {
    if let Err(response) = admit(&state, &request, "gdpr.subjects").await {
        return response;
    }
    let (Some(search_type), Some(value)) = (search.search_type.as_deref(), search.search_value.as_deref()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "searchType and searchValue are required",
        );
    };
    if !SEARCH_TYPES.contains(&search_type) || value.is_empty() {
        return error(StatusCode::BAD_REQUEST, "invalid.value", "Invalid data");
    }
    let contains = |subject: &Value, field: &str, case_insensitive: bool| {
        subject.get(field).and_then(Value::as_array).is_some_and(|items| {
            items.iter().filter_map(Value::as_str).any(|item| {
                if case_insensitive {
                    item.eq_ignore_ascii_case(value)
                } else {
                    item == value
                }
            })
        })
    };
    let found: Vec<Value> = lock(&state.gdpr_subjects)
        .iter()
        .filter(|subject| match search_type {
            "PHONE" => contains(subject, "phoneNumbers", false),
            "EMAIL" => contains(subject, "emailAddresses", true),
            "ADDRESS" => contains(subject, "addresses", true),
            "NAME" => subject.get("name").and_then(Value::as_str) == Some(value),
            "EXTERNAL_ID" => subject.get("externalId").and_then(Value::as_str) == Some(value),
            _ => false,
        })
        .cloned()
        .collect();
    let total = found.len();
    HttpResponse::Ok().json(listing(found, total, total.max(25), 1, "/api/v2/gdpr/subjects"))
}

async fn admin_calls(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(state.calls())
}

async fn admin_faults(state: web::Data<SimState>, faults: web::Json<Faults>) -> HttpResponse {
    state.set_faults(faults.into_inner());
    HttpResponse::NoContent().finish()
}

async fn admin_revoke(state: web::Data<SimState>) -> HttpResponse {
    state.revoke_tokens();
    HttpResponse::NoContent().finish()
}

async fn admin_reset(state: web::Data<SimState>) -> HttpResponse {
    state.reset();
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
mod tests {
    use super::gdpr_status;
    use std::time::Duration;

    #[test]
    fn deletes_pass_through_deleting_and_exports_do_not() {
        let step = Duration::from_secs(10);
        let at = |s: u64| Duration::from_secs(s);
        let delete: Vec<_> = [0, 9, 10, 25, 35, 1000]
            .iter()
            .map(|s| gdpr_status("GDPR_DELETE", at(*s), step))
            .collect();
        assert_eq!(
            delete,
            [
                "INITIATED",
                "INITIATED",
                "SEARCHING",
                "DELETING",
                "COMPLETED",
                "COMPLETED"
            ]
        );
        let export: Vec<_> = [0, 15, 25]
            .iter()
            .map(|s| gdpr_status("GDPR_EXPORT", at(*s), step))
            .collect();
        assert_eq!(export, ["INITIATED", "SEARCHING", "COMPLETED"]);
        let update: Vec<_> = [0, 15, 25, 35]
            .iter()
            .map(|s| gdpr_status("GDPR_UPDATE", at(*s), step))
            .collect();
        assert_eq!(update, ["INITIATED", "SEARCHING", "UPDATING", "COMPLETED"]);
    }
}
