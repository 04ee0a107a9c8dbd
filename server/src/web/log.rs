//! The public log over HTTP, per C2SP tlog-tiles: `/log/checkpoint`,
//! `/log/tile/…`, `/log/tile/entries/…`, plus `/log/vkey` and proofs.
//! Entries hold commitments only; nothing here reveals event data.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::ledger::TilePath;
use crate::services::Portal;
use crate::services::log::LogError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/log/checkpoint", web::get().to(checkpoint))
        .route("/log/vkey", web::get().to(vkey))
        .route("/log/proof/inclusion", web::get().to(inclusion))
        .route("/log/proof/consistency", web::get().to(consistency))
        .route("/log/proof/event", web::get().to(event_proof))
        .route("/log/proof/leaf/{index}", web::get().to(leaf_proof))
        .route("/log/{path:tile/.*}", web::get().to(tile));
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn error(e: LogError) -> HttpResponse {
    match e {
        LogError::InvalidInput(m) => HttpResponse::BadRequest().body(format!("{m}\n")),
        LogError::NotFound => HttpResponse::NotFound().body("not found\n"),
        LogError::NotYetCovered => HttpResponse::Conflict()
            .insert_header(("Retry-After", "1"))
            .body("no checkpoint covers this entry yet; retry shortly\n"),
        LogError::Store(e) => {
            tracing::error!(error = %e, "log request failed");
            HttpResponse::InternalServerError().body("internal error\n")
        }
        LogError::Corrupt(e) => {
            tracing::error!(error = %e, "log data inconsistent");
            HttpResponse::InternalServerError().body("internal error\n")
        }
    }
}

async fn checkpoint(portal: web::Data<Portal>) -> HttpResponse {
    match portal.checkpoint_note().await {
        Ok(Some(note)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(note),
        Ok(None) => HttpResponse::NotFound()
            .insert_header(("Cache-Control", "no-store"))
            .body("no checkpoint yet\n"),
        Err(e) => error(e),
    }
}

async fn vkey(portal: web::Data<Portal>) -> HttpResponse {
    let body: String = portal
        .log_verifiers()
        .iter()
        .map(|v| format!("{}\n", v.to_vkey()))
        .collect();
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

async fn tile(portal: web::Data<Portal>, path: web::Path<String>) -> HttpResponse {
    let parsed = match TilePath::parse(&path) {
        Ok(p) => p,
        Err(e) => return HttpResponse::BadRequest().body(format!("{e}\n")),
    };
    let (TilePath::Hashes(t) | TilePath::Entries(t)) = parsed;
    if !t.in_range() {
        return HttpResponse::BadRequest().body("the tile lies beyond any log this portal keeps\n");
    }
    let (result, t) = match parsed {
        TilePath::Hashes(t) => (portal.tile(t).await, t),
        TilePath::Entries(t) => (portal.entry_bundle(t).await, t),
    };
    match result {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header((
                "Cache-Control",
                if t.is_full() {
                    IMMUTABLE
                } else {
                    "public, max-age=3600"
                },
            ))
            .body(bytes),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: u64,
    size: u64,
}

fn hashes(h: &[crate::ledger::Hash]) -> Vec<String> {
    h.iter().map(|x| STANDARD.encode(x.0)).collect()
}

async fn inclusion(portal: web::Data<Portal>, q: web::Query<InclusionQuery>) -> HttpResponse {
    match portal.inclusion(q.index, q.size).await {
        Ok(p) => HttpResponse::Ok().json(serde_json::json!({
            "index": q.index, "size": q.size, "proof": hashes(&p)
        })),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

async fn consistency(portal: web::Data<Portal>, q: web::Query<ConsistencyQuery>) -> HttpResponse {
    match portal.consistency(q.old, q.new).await {
        Ok(p) => HttpResponse::Ok().json(serde_json::json!({
            "old": q.old, "new": q.new, "proof": hashes(&p)
        })),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct EventQuery {
    #[serde(rename = "eventID")]
    event_id: String,
    device: String,
}

/// The C2SP tlog-proof of the leaf at this index: what the public pages
/// link each event to (the index is public; the event's ID is not).
async fn leaf_proof(portal: web::Data<Portal>, index: web::Path<String>) -> HttpResponse {
    let Ok(index) = index.parse::<u64>() else {
        return HttpResponse::BadRequest().body("the leaf index must be a whole number\n");
    };
    proof_text(&portal, index).await
}

async fn proof_text(portal: &Portal, index: u64) -> HttpResponse {
    match portal.tlog_proof(index).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(text),
        Err(e) => error(e),
    }
}

async fn event_proof(portal: web::Data<Portal>, q: web::Query<EventQuery>) -> HttpResponse {
    let index = match portal.leaf_index_of(&q.event_id, &q.device).await {
        Ok(i) => i,
        Err(e) => return error(e),
    };
    proof_text(&portal, index).await
}
