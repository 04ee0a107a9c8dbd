//! Liveness and readiness.

use actix_web::{HttpResponse, web};

use crate::services::Portal;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

/// The database answers and every migration is applied.
#[tracing::instrument(skip_all)]
pub async fn readyz(portal: web::Data<Portal>) -> HttpResponse {
    let readiness = portal.readiness().await;
    let mut response = if readiness.is_ready() {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(readiness)
}
