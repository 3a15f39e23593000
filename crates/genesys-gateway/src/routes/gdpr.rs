//! Genesys Cloud's GDPR API, for gdpr-orchestrator: create a request, follow it, search subjects.
//! Subjects are personal data: they pass through, and are never logged.

use crate::scopes::GenesysGdpr;
use crate::upstream::GenesysApi;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use domain::{GenesysUserId, HandleKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use service_kit::auth::require;
use service_kit::extract::JsonBody;
use service_kit::problem::{ApiError, FieldProblem};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/gdpr/requests").route(web::post().to(create).wrap(from_fn(require::<GenesysGdpr>))))
        .service(
            web::resource("/gdpr/requests/{requestId}")
                .route(web::get().to(get_request).wrap(from_fn(require::<GenesysGdpr>))),
        )
        .service(web::resource("/gdpr/subjects").route(web::get().to(subjects).wrap(from_fn(require::<GenesysGdpr>))));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RequestType {
    GdprExport,
    GdprDelete,
}

/// Genesys' `GDPRSubject`, the fields ccbridge uses. At least one must be set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = GenesysSubject)]
pub(crate) struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<GenesysUserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    phone_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    email_addresses: Vec<String>,
}

impl Subject {
    /// Phone numbers to E.164 (Genesys expects `+420…`), e-mail addresses lower-cased.
    fn normalised(mut self) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        for (i, phone) in self.phone_numbers.iter_mut().enumerate() {
            match HandleKey::of(phone) {
                HandleKey::Phone(e164) => *phone = e164,
                _ => problems.push(FieldProblem::new(
                    format!("/subject/phoneNumbers/{i}"),
                    "not a phone number with a country code (+…)",
                )),
            }
        }
        for (i, email) in self.email_addresses.iter_mut().enumerate() {
            match HandleKey::of(email) {
                HandleKey::Email(lower) => *email = lower,
                _ => problems.push(FieldProblem::new(
                    format!("/subject/emailAddresses/{i}"),
                    "not an e-mail address",
                )),
            }
        }
        let empty = self.name.is_none()
            && self.user_id.is_none()
            && self.external_contact_id.is_none()
            && self.external_id.is_none()
            && self.addresses.is_empty()
            && self.phone_numbers.is_empty()
            && self.email_addresses.is_empty();
        if empty {
            problems.push(FieldProblem::new(
                "/subject",
                "name at least one identifier of the data subject",
            ));
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ApiError::Validation(problems))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateRequest {
    request_type: RequestType,
    subject: Subject,
    /// Only a confirmed delete is sent to Genesys with `deleteConfirmed=true`.
    #[serde(default)]
    delete_confirmed: bool,
}

/// Genesys' `GDPRRequest`, as we pass it on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestView {
    id: String,
    request_type: String,
    status: String,
    created_date: Option<String>,
    subject: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    results_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results_urls: Vec<String>,
}

impl RequestView {
    fn from_genesys(body: &Value) -> Result<Self, ApiError> {
        let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
        let (Some(id), Some(request_type), Some(status)) = (text("id"), text("requestType"), text("status")) else {
            return Err(ApiError::BadGateway(
                "Genesys answered a GDPR request without id, type or status".to_owned(),
            ));
        };
        Ok(Self {
            id,
            request_type,
            status,
            created_date: text("createdDate"),
            subject: body.get("subject").cloned().unwrap_or(Value::Null),
            results_url: text("resultsUrl"),
            results_urls: body
                .get("resultsUrls")
                .and_then(Value::as_array)
                .map(|urls| urls.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }
}

/// `POST /gdpr/requests`: 201 with the Genesys request. A delete must say `deleteConfirmed: true`.
#[utoipa::path(
    post,
    path = "/gdpr/requests",
    tag = "genesys-gdpr",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Created in Genesys Cloud", body = RequestView),
        (status = 503, description = "Genesys Cloud is down, slow or rate limiting", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn create(
    api: web::Data<GenesysApi>,
    JsonBody(request): JsonBody<CreateRequest>,
) -> Result<HttpResponse, ApiError> {
    if request.request_type == RequestType::GdprDelete && !request.delete_confirmed {
        return Err(ApiError::validation(
            "/deleteConfirmed",
            "a GDPR_DELETE is sent only when confirmed: set deleteConfirmed to true",
        ));
    }
    let subject = request.subject.normalised()?;
    let body = json!({ "requestType": request.request_type, "subject": subject });
    let query: &[(&str, &str)] = if request.request_type == RequestType::GdprDelete {
        &[("deleteConfirmed", "true")]
    } else {
        &[]
    };
    let created = api
        .post("gdpr.requests.create", "/api/v2/gdpr/requests", query, &body)
        .await?;
    let view = RequestView::from_genesys(&created)?;
    tracing::info!(genesys_request_id = %view.id, request_type = %view.request_type, "GDPR request created in Genesys Cloud");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/gdpr/requests/{}", view.id)))
        .json(view))
}

/// `GET /gdpr/requests/{requestId}`.
#[utoipa::path(
    get,
    path = "/gdpr/requests/{requestId}",
    tag = "genesys-gdpr",
    params(("requestId" = uuid::Uuid, Path, description = "The Genesys GDPR request id")),
    responses(
        (status = 200, description = "The Genesys request", body = RequestView),
        (status = 404, description = "Genesys Cloud has no such request", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn get_request(api: web::Data<GenesysApi>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::try_parse(&path).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "requestId",
            "not a valid GDPR request id: expected a UUID",
        )])
    })?;
    let found = api
        .get("gdpr.requests.get", &format!("/api/v2/gdpr/requests/{id}"), &[])
        .await?;
    Ok(HttpResponse::Ok().json(RequestView::from_genesys(&found)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct SubjectSearch {
    /// NAME, ADDRESS, PHONE, EMAIL, TWITTER, INSTAGRAM, FACEBOOK, APPLE_MESSAGES or EXTERNAL_ID.
    search_type: Option<String>,
    search_value: Option<String>,
}

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

/// Genesys' subject search result.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct SubjectListing {
    /// Genesys `GDPRSubject`s.
    subjects: Vec<serde_json::Value>,
}

/// `GET /gdpr/subjects?searchType=PHONE&searchValue=…` → `{ "subjects": [GDPRSubject…] }`.
#[utoipa::path(
    get,
    path = "/gdpr/subjects",
    tag = "genesys-gdpr",
    params(SubjectSearch),
    responses((status = 200, description = "The subjects Genesys Cloud found", body = SubjectListing))
)]
pub(crate) async fn subjects(
    api: web::Data<GenesysApi>,
    query: web::Query<SubjectSearch>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let search_type = query.search_type.as_deref().map(str::to_ascii_uppercase);
    if !search_type.as_deref().is_some_and(|t| SEARCH_TYPES.contains(&t)) {
        problems.push(FieldProblem::parameter(
            "searchType",
            format!("must be one of {}", SEARCH_TYPES.join(", ")),
        ));
    }
    let mut value = query.search_value.clone().unwrap_or_default().trim().to_owned();
    if value.is_empty() {
        problems.push(FieldProblem::parameter("searchValue", "is required"));
    } else if search_type.as_deref() == Some("PHONE") {
        match HandleKey::of(&value) {
            HandleKey::Phone(e164) => value = e164,
            _ => problems.push(FieldProblem::parameter(
                "searchValue",
                "not a phone number with a country code (+…)",
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let search_type = search_type.unwrap_or_default();
    let listing = api
        .get(
            "gdpr.subjects",
            "/api/v2/gdpr/subjects",
            &[("searchType", search_type.as_str()), ("searchValue", value.as_str())],
        )
        .await?;
    let subjects = listing.get("entities").cloned().unwrap_or_else(|| json!([]));
    Ok(HttpResponse::Ok().json(json!({ "subjects": subjects })))
}
