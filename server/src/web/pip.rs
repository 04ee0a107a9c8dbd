//! The product information pages the resolver's default links lead to
//! (`gs1:pip`). Until the customer pages render HTML (issue 17), each
//! answers a JSON summary: for a unit, whether it is genuine and its
//! status, decided for the viewer — `customer` with the label's code,
//! `anonymous` without it (a wrong code gets the same view and a notice).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::domain::principal::Viewer;
use crate::domain::{DigitalLink, DigitalLinkUri, DlParseOptions};
use crate::services::Portal;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/pip/01/{tail:.*}")
            .route(web::get().to(page))
            .route(web::head().to(page)),
    );
}

fn not_found(private: bool) -> HttpResponse {
    let mut res = HttpResponse::NotFound();
    if private {
        super::resolver::keep_private(&mut res);
    }
    res.content_type("application/problem+json")
        .json(json!({ "status": 404, "title": "Not Found", "detail": "no such item" }))
}

async fn page(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    let base = portal
        .settings()
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let path = req.path().strip_prefix("/pip").unwrap_or_default();
    let query = req.query_string();
    let private = super::resolver::carries_code(query);
    let uri = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    };
    let parsed = match DigitalLinkUri::parse(&uri, &DlParseOptions::portal()) {
        Ok(p) => p,
        Err(e) => {
            let mut res = HttpResponse::BadRequest();
            if private {
                super::resolver::keep_private(&mut res);
            }
            return res
                .content_type("application/problem+json")
                .json(json!({ "status": 400, "title": "Bad Request", "detail": format!("not a valid GS1 Digital Link: {e}") }));
        }
    };
    let code = parsed
        .params()
        .iter()
        .find(|p| p.name() == "c")
        .map(|p| p.value().to_owned());
    let mut res = HttpResponse::Ok();
    if private || code.is_some() {
        // The code must not travel on: not to a cache, not in a Referer.
        super::resolver::keep_private(&mut res);
    } else {
        res.insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    }
    match parsed.clone().classify() {
        Ok(DigitalLink::Serialized(link)) => {
            let key = link.device_key().clone();
            let verified = match &code {
                Some(c) => match portal.code_matches(&key, c).await {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::error!(error = %e, "checking a verification code failed");
                        let mut res = HttpResponse::ServiceUnavailable();
                        super::resolver::keep_private(&mut res);
                        return res.body("the code cannot be checked now; try again later");
                    }
                },
                None => false,
            };
            let viewer = if verified {
                Viewer::Customer
            } else {
                Viewer::Anonymous
            };
            let device = match portal.device(viewer, &key).await {
                Ok(Some(d)) => d,
                Ok(None) => return not_found(private),
                Err(e) => {
                    tracing::error!(error = %e, "reading a unit for its page failed");
                    return HttpResponse::InternalServerError().finish();
                }
            };
            if let (Some(asked), Some(stored)) = (link.lot(), device.lot.as_deref())
                && asked.as_str() != stored
            {
                return not_found(private);
            }
            let mut body = json!({
                "gtin": device.gtin,
                "serial": device.serial,
                "digitalLink": device.digital_link,
                "product": device.product.as_ref().map(|p| json!({ "name": p.name, "model": p.model })),
                "status": device.status.map(|s| s.as_str()),
                "verified": verified,
            });
            if code.is_some() && !verified {
                body["notice"] = json!(
                    "This code does not match this unit's label. The label may be a copy; what is shown is what anyone sees without a code."
                );
            }
            res.json(body)
        }
        Ok(DigitalLink::NotOurs(uri)) if uri.primary_key().ai() == "01" => {
            let Ok(gtin) = crate::domain::Gtin::parse(uri.primary_key().value()) else {
                return not_found(private);
            };
            match portal.product(&gtin).await {
                Ok(Some(p)) => {
                    res.json(json!({ "gtin": p.gtin, "name": p.name, "model": p.model }))
                }
                Ok(None) => not_found(private),
                Err(e) => {
                    tracing::error!(error = %e, "reading a product for its page failed");
                    HttpResponse::InternalServerError().finish()
                }
            }
        }
        _ => not_found(private),
    }
}
