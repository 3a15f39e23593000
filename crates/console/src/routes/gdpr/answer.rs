//! The answer a data subject reads, as their export's bundle holds it: shown to the DPO exactly
//! as the subject will read it. It comes from the orchestrator's `/answer` (the bundle's scope
//! and requester-verification gate; audited as `answer_viewed`, so a look is never recorded as
//! the bundle's hand-over), and, as it holds the subject's data, only through the request
//! page's form (a POST with the session's form token: a link from elsewhere fetches nothing). It
//! is served as the page it is, under a policy of its own that loads nothing and runs nothing:
//! only its own style. A page that does not match its checksum is the console's error page.

use super::{call_failed, not_found, sent_for, FormToken};
use crate::services::{CallError, Services};
use crate::session::{Person, Refusal};
use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use base64::Engine as _;
use contracts::gdpr::SubjectAnswer;
use sha2::Digest as _;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/gdpr/requests/{id}/answer", web::post().to(answer));
}

/// The page's own policy: no scripts, nothing loaded, no forms, not framed; its one `<style>`
/// allowed by its hash.
fn policy(page: &str) -> String {
    let style = page
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style);
    let style_src = style.map_or_else(
        || "'none'".to_owned(),
        |style| {
            let digest = sha2::Sha256::digest(style.as_bytes());
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        },
    );
    format!("default-src 'none'; style-src {style_src}; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
}

async fn answer(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FormToken>,
) -> Result<HttpResponse, Refusal> {
    let (id, person) = sent_for(&session, "/gdpr/requests", &path, form.csrf.as_deref())?;
    let answer: SubjectAnswer = match services.gdpr.get(&format!("/gdpr/requests/{id}/answer")).send().await {
        Ok(answer) => answer,
        Err(error) if not_found(&error) => return Err(Refusal::NotFound),
        Err(error) => return Ok(call_failed(&error, person)),
    };
    Ok(shown(&answer, person))
}

/// The answer as its page, under its own policy; a page off its checksum is off the contract:
/// the console's error page, naming the field and never the content.
fn shown(answer: &SubjectAnswer, person: Person) -> HttpResponse {
    let Ok(page) = answer.verified_page() else {
        let error = CallError::Service {
            service: "gdpr-orchestrator",
            error: Box::new(contracts::ClientError::UnexpectedBody {
                status: reqwest::StatusCode::OK,
                path: "page".to_owned(),
                category: "checksum does not match",
            }),
        };
        return call_failed(&error, person);
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", policy(page)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_policy_allows_the_page_s_own_style_and_nothing_else() {
        let policy = super::policy("<html><head><style>p { color: red; }</style></head></html>");
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe") && !policy.contains("script"), "{policy}");
        assert!(super::policy("<p>no style</p>").contains("style-src 'none'"));
    }

    #[test]
    fn an_answer_off_its_checksum_is_the_console_s_error_page_naming_no_content() {
        use actix_web::body::MessageBody;
        use contracts::gdpr::{AnswerLanguage, ManifestAnswer, SubjectAnswer};
        let answer = SubjectAnswer {
            answer: ManifestAnswer {
                path: "answer.cs.html".to_owned(),
                language: AnswerLanguage::Cs,
                sha256: "0".repeat(64),
            },
            page: "<p>Jana Nováková</p>".to_owned(),
        };
        let person = crate::session::Person {
            subject: "dana".to_owned(),
            name: "Dana Dpo".to_owned(),
            roles: vec![crate::session::Role::Dpo],
            csrf: "token".to_owned(),
            development: false,
        };
        let response = super::shown(&answer, person);
        assert_eq!(response.status().as_u16(), 502);
        let body = String::from_utf8(response.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("Not understood") && body.contains("<html"), "{body}");
        assert!(!body.contains("Nováková"), "{body}");
    }
}
