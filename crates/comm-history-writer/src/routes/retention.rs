//! `GET /communicationRecords/retention`: the records' retention as the data protection officers
//! read it on the console's Retention page ([`RecordsRetention`]): each channel's retention, how
//! many records fall due within a day and a week, and the last expiry round. Counts only.
//!
//! Scope `records:operate`, the operators' view of this service's work (the delivery queue),
//! which names no personal data either. The console holds it already; `records:read` would also
//! do but grants the records themselves, which a page of counts must not need.

use crate::retention::{self, Schedule};
use crate::scopes::RecordsOperate;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::retention::{RecordsRetention, RECORDS_ROUTE};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::problem::ApiError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(RECORDS_ROUTE).route(
            web::get()
                .to(retention_of_records)
                .wrap(from_fn(require::<RecordsOperate>)),
        ),
    );
}

/// `GET /communicationRecords/retention`.
#[utoipa::path(
    get,
    path = "/communicationRecords/retention",
    tag = "records",
    description = "Needs scope `records:operate`. Counts only, never a record.",
    responses(
        (status = 200, description = "Each channel's retention, the records due within 24 hours and 7 days, and the last expiry round", body = RecordsRetention)
    )
)]
pub(crate) async fn retention_of_records(
    pool: web::Data<DbPool>,
    schedule: web::Data<Schedule>,
) -> Result<HttpResponse, ApiError> {
    let now = Timestamp::now();
    let default_days = schedule.default_days.get();
    let (channels, last_round) = pool
        .run(move |c| {
            let channels = retention::channels(c, &schedule, now)?;
            Ok::<_, ApiError>((channels, retention::last_round(c)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(RecordsRetention {
        at: now,
        default_days,
        channels,
        last_round,
    }))
}
