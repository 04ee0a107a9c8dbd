//! The portal's public keys: `/.well-known/jwks.json` (token and
//! credential keys) and `/.well-known/did.json` (credential keys as the
//! `did:web` document). Retired keys stay listed so that what they signed
//! still verifies.

use actix_web::{HttpResponse, web};

use crate::services::Portal;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/.well-known/did.json", web::get().to(did));
}

/// Short enough for a rotation to reach clients within minutes.
const CACHE: &str = "public, max-age=300";

async fn jwks(portal: web::Data<Portal>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(("Cache-Control", CACHE))
        .json(portal.jwks())
}

async fn did(portal: web::Data<Portal>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/did+json")
        .insert_header(("Cache-Control", CACHE))
        .json(portal.did_document())
}
