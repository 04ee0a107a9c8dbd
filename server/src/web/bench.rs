//! `GET /_bench/baseline?bytes=N` (only with `PROVENANCE_BENCH_ENDPOINTS`):
//! a pre-rendered body of N bytes (at most 1 MiB) from memory, with the
//! headers a page carries, for bench/pages.sh to measure pages against.

use std::sync::Mutex;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::services::Portal;

const MAX_BYTES: usize = 1 << 20;

static BODY: Mutex<Option<web::Bytes>> = Mutex::new(None);

pub async fn baseline(portal: web::Data<Portal>, req: HttpRequest) -> HttpResponse {
    // Off: the same 404 as any path that is not there.
    if !portal.settings().bench_endpoints {
        return HttpResponse::NotFound().finish();
    }
    let Some(n) = req
        .query_string()
        .strip_prefix("bytes=")
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return HttpResponse::BadRequest().body("bytes=N\n");
    };
    let n = n.min(MAX_BYTES);
    let kept = BODY.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let body = match kept {
        Some(b) if b.len() == n => b,
        _ => {
            // Made outside the lock.
            let b = web::Bytes::from(vec![b'x'; n]);
            *BODY.lock().unwrap_or_else(|e| e.into_inner()) = Some(b.clone());
            b
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept, Accept-Language"))
        .insert_header((header::ETAG, "\"0123456789abcdef01234567\""))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}
