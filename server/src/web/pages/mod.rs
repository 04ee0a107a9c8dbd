//! The public pages behind the labels (`gs1:pip`, docs/pages.md):
//! `/pip/01/{gtin}/21/{serial}[?c={code}]` is a unit's page,
//! `/pip/01/{gtin}[/10/{lot}]` a product's. HTML by default, in English or
//! German; a JSON summary for `Accept: application/json`. A unit's page is
//! served from memory (`services::pages`) and answers `If-None-Match`.
//! A POST of the unit's report form records a report for staff.

mod i18n;
mod render;
mod report;

use std::sync::{Arc, Mutex};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use lru::LruCache;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::{DeviceKey, DigitalLink, DigitalLinkUri, DlParseOptions, Gtin};
use crate::services::Portal;
use crate::services::pages::{PageKey, PageUnit, PageViewer, Rendered};
use i18n::Lang;
use render::{Message, SelfLinks};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/pip/01/{tail:.*}")
            .app_data(web::FormConfig::default().limit(1024))
            .route(web::get().to(page))
            .route(web::head().to(page))
            .route(web::post().to(report::report)),
    )
    .service(web::resource("/static/pages.css").route(web::get().to(stylesheet)));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../../static/pages.css"))
}

/// What the request asks for, read from its path, query and headers.
struct Asked {
    parsed: Arc<Parsed>,
    lang: Lang,
    json: bool,
    /// The request carries a code (in any spelling): nothing of the answer
    /// may be stored or referred on.
    private: bool,
    /// Parsed before, for a unit that exists.
    remembered: bool,
}

/// What the path and query name.
struct Parsed {
    target: Target,
    code: Option<String>,
    private: bool,
}

/// The path and query of requests for pages of units that exist, parsed
/// (one per worker): a page served from memory is not parsed again.
pub struct Memo(Mutex<LruCache<String, Arc<Parsed>>>);

const MEMO_ENTRIES: std::num::NonZeroUsize = std::num::NonZeroUsize::MIN.saturating_add(4096 - 1);

/// The longest path and query remembered (4096 of them, about 1 MiB a
/// worker at most).
const MEMO_KEY_BYTES: usize = 200;

impl Default for Memo {
    fn default() -> Self {
        Memo(Mutex::new(LruCache::new(MEMO_ENTRIES)))
    }
}

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<Parsed>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn memo_key(req: &HttpRequest) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned())
}

enum Target {
    Unit { key: DeviceKey, lot: Option<String> },
    Product { gtin: Gtin, lot: Option<String> },
    Unknown,
}

/// The language: `?lang=` (the page's switch), else `Accept-Language`,
/// else English.
fn language(req: &HttpRequest) -> Lang {
    let asked = req.query_string().split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "lang").then(|| Lang::parse(value)).flatten()
    });
    asked
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::negotiate)
        })
        .unwrap_or(Lang::En)
}

/// Whether `Accept` prefers `application/json` to `text/html` (RFC 9110
/// §12.5.1: the most specific range that matches gives each its `q`).
fn wants_json(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let q_of = |kind: &str, sub: &str| -> u16 {
        let mut best: Option<(u8, u16)> = None;
        for item in accept.split(',').take(32) {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                .next()
                .map_or(1000, |v| i18n::parse_q(v).unwrap_or(0));
            let specificity = match range.split_once('/') {
                Some((k, s)) if k == kind && s == sub => 3,
                Some((k, "*")) if k == kind => 2,
                Some(("*", "*")) => 1,
                _ => continue,
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, q));
            }
        }
        best.map_or(0, |(_, q)| q)
    };
    q_of("application", "json") > q_of("text", "html")
}

fn ask(req: &HttpRequest, portal: &Portal, memo: Option<&Memo>) -> Result<Asked, String> {
    let lang = language(req);
    let json = wants_json(req);
    let known = memo.and_then(|m| m.lock().get(&memo_key(req)).cloned());
    let remembered = known.is_some();
    let parsed = match known {
        Some(p) => p,
        None => Arc::new(parse(req, portal)?),
    };
    Ok(Asked {
        remembered,
        private: parsed.private,
        parsed,
        lang,
        json,
    })
}

fn parse(req: &HttpRequest, portal: &Portal) -> Result<Parsed, String> {
    let base = portal.settings().public_base_url.trim_end_matches('/');
    let path = req.path().strip_prefix("/pip").unwrap_or_default();
    let query = req.query_string();
    let private = super::resolver::carries_code(query);
    let uri = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    };
    let parsed = DigitalLinkUri::parse(&uri, &DlParseOptions::portal())
        .map_err(|e| format!("not a valid GS1 Digital Link: {e}"))?;
    let code = parsed
        .params()
        .iter()
        .find(|p| p.name() == "c")
        .map(|p| p.value().to_owned());
    let target = match parsed.clone().classify() {
        Ok(DigitalLink::Serialized(link)) => Target::Unit {
            key: link.device_key().clone(),
            lot: link.lot().map(|l| l.as_str().to_owned()),
        },
        Ok(DigitalLink::NotOurs(uri)) if uri.primary_key().ai() == "01" => {
            match Gtin::parse(uri.primary_key().value()) {
                Ok(gtin) => Target::Product {
                    gtin,
                    lot: uri
                        .qualifiers()
                        .iter()
                        .find(|q| q.ai() == "10")
                        .map(|q| q.value().to_owned()),
                },
                Err(_) => Target::Unknown,
            }
        }
        _ => Target::Unknown,
    };
    Ok(Parsed {
        target,
        private: private || code.is_some(),
        code,
    })
}

/// The headers every page answer carries.
fn headers(res: &mut HttpResponseBuilder, private: bool) {
    res.insert_header((header::VARY, "Accept, Accept-Language"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ));
    if private {
        // The code must not travel on: not to a cache, not in a Referer.
        super::resolver::keep_private(res);
    } else {
        res.insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    }
}

fn html(status: StatusCode, private: bool, body: String) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    headers(&mut res, private);
    res.content_type("text/html; charset=utf-8").body(body)
}

/// A message page (an unknown unit, a bad link, an outage), or its JSON
/// problem for a JSON client.
fn message(
    status: StatusCode,
    m: &Message,
    asked: Option<&Asked>,
    lang: Lang,
    links: &SelfLinks,
    detail: &str,
) -> HttpResponse {
    let private = asked.is_none_or(|a| a.private);
    if asked.is_some_and(|a| a.json) {
        let mut res = HttpResponse::build(status);
        headers(&mut res, private);
        return res.content_type("application/problem+json").json(json!({
            "status": status.as_u16(),
            "title": status.canonical_reason(),
            "detail": detail,
        }));
    }
    match render::message(m, lang, links) {
        Ok(body) => html(status, private, body),
        Err(e) => {
            tracing::error!(error = %e, "rendering a message page failed");
            html(status, private, String::new())
        }
    }
}

fn unavailable(asked: Option<&Asked>, lang: Lang, links: &SelfLinks) -> HttpResponse {
    let mut res = message(
        StatusCode::SERVICE_UNAVAILABLE,
        &Message::Unavailable,
        asked,
        lang,
        links,
        "the page cannot be shown now; try again later",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    res
}

fn not_found(asked: &Asked, links: &SelfLinks) -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        &Message::Unknown,
        Some(asked),
        asked.lang,
        links,
        "no such item",
    )
}

/// Whether the client asks for HTML by name (a browser) and prefers it to
/// JSON: what the resolver answers a scanned label's error with.
pub(super) fn wants_html(req: &HttpRequest) -> bool {
    let explicit = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').take(32).any(|item| {
                let mut parts = item.split(';');
                let range = parts.next().unwrap_or("").trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                    .next()
                    .map_or(1000, |v| i18n::parse_q(v).unwrap_or(0));
                range.eq_ignore_ascii_case("text/html") && q > 0
            })
        });
    explicit && !wants_json(req)
}

/// The page for a request the resolver cannot answer: the unit is not
/// known (404), or the link is not valid (400). Private: it may carry a
/// code.
pub(super) fn refusal_page(req: &HttpRequest, unknown: bool, detail: &str) -> HttpResponse {
    let (status, kind) = if unknown {
        (StatusCode::NOT_FOUND, Message::Unknown)
    } else {
        (StatusCode::BAD_REQUEST, Message::Invalid)
    };
    let links = SelfLinks {
        path: req.path().to_owned(),
        code: None,
    };
    message(status, &kind, None, language(req), &links, detail)
}

fn bad_request(req: &HttpRequest, detail: &str) -> HttpResponse {
    let private = super::resolver::carries_code(req.query_string())
        || req.method() == actix_web::http::Method::POST;
    let lang = language(req);
    let links = SelfLinks {
        path: req.path().to_owned(),
        code: None,
    };
    let mut res = message(
        StatusCode::BAD_REQUEST,
        &Message::Invalid,
        None,
        lang,
        &links,
        detail,
    );
    if !private {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=60"),
        );
        res.headers_mut().remove("referrer-policy");
    }
    if wants_json(req) {
        let mut json_res = HttpResponse::BadRequest();
        headers(&mut json_res, private);
        return json_res
            .content_type("application/problem+json")
            .json(json!({ "status": 400, "title": "Bad Request", "detail": detail }));
    }
    res
}

fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", data_encoding::HEXLOWER.encode(&digest[..12]))
}

fn matches_etag(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

fn serve(req: &HttpRequest, asked: &Asked, page: &Rendered) -> HttpResponse {
    let status = if matches_etag(req, &page.etag) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut res = HttpResponse::build(status);
    headers(&mut res, asked.private);
    res.insert_header((header::ETAG, page.etag.clone()));
    if status == StatusCode::NOT_MODIFIED {
        return res.finish();
    }
    let kind = if asked.json {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    };
    res.content_type(kind).body(page.body.clone())
}

fn unit_links(asked: &Asked, unit: &PageUnit) -> SelfLinks {
    SelfLinks {
        path: crate::domain::canonical_uri("/pip", &unit.key),
        // Only a verified code is carried on, in the label's own spelling.
        code: match unit.viewer {
            PageViewer::Customer => asked.parsed.code.as_deref().map(str::to_ascii_uppercase),
            PageViewer::Anonymous => None,
        },
    }
}

/// The unit the request names, with the viewer its code makes; the
/// response to give instead when there is none.
async fn unit_of(
    portal: &Portal,
    asked: &Asked,
    key: &DeviceKey,
    lot: Option<&str>,
    links: &SelfLinks,
) -> Result<PageUnit, HttpResponse> {
    match portal.page_unit(key, asked.parsed.code.as_deref()).await {
        Ok(Some(unit)) if lot.is_none_or(|l| unit.card.lot.as_deref() == Some(l)) => Ok(unit),
        Ok(_) => Err(not_found(asked, links)),
        Err(e) => {
            tracing::error!(error = %e, "reading a unit for its page failed");
            Err(unavailable(Some(asked), asked.lang, links))
        }
    }
}

async fn page(
    req: HttpRequest,
    portal: web::Data<Portal>,
    memo: Option<web::Data<Memo>>,
) -> HttpResponse {
    let asked = match ask(&req, &portal, memo.as_ref().map(|m| m.get_ref())) {
        Ok(a) => a,
        Err(detail) => return bad_request(&req, &detail),
    };
    let plain = SelfLinks {
        path: req.path().to_owned(),
        code: None,
    };
    match &asked.parsed.target {
        Target::Unknown => not_found(&asked, &plain),
        Target::Product { gtin, lot } => {
            product(&req, &portal, &asked, gtin, lot.as_deref(), &plain).await
        }
        Target::Unit { key, lot } => {
            let unit = match unit_of(&portal, &asked, key, lot.as_deref(), &plain).await {
                Ok(u) => u,
                Err(res) => return res,
            };
            if !asked.remembered
                && let Some(memo) = &memo
            {
                let key = memo_key(&req);
                // A label's URL is short; a long one is not worth its memory.
                if key.len() <= MEMO_KEY_BYTES {
                    memo.lock().put(key, Arc::clone(&asked.parsed));
                }
            }
            // A scan is a GET (not HEAD, a link preview's usual probe).
            if req.method() == actix_web::http::Method::GET
                && unit.viewer == PageViewer::Customer
                && let Some((addr, country)) = report::client(&req, &portal)
            {
                portal.count_scan(&unit, addr, country.as_deref());
            }
            let variant = if asked.json {
                "json"
            } else {
                asked.lang.code()
            };
            let key = PageKey::of(&unit, variant);
            let cached = match portal.cached_page(&key).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "reading a unit's parts failed");
                    return unavailable(Some(&asked), asked.lang, &plain);
                }
            };
            if let Some(page) = cached {
                return serve(&req, &asked, &page);
            }
            let generation = portal.page_generation();
            match render_unit(&portal, &asked, &unit, generation).await {
                // Kept only when nothing changed while it was read.
                Ok(Some((r, true))) if portal.page_generation() == generation => {
                    serve(&req, &asked, &portal.keep_page(key, r))
                }
                Ok(Some((r, _))) => serve(&req, &asked, &r),
                Ok(None) => not_found(&asked, &plain),
                Err(()) => unavailable(Some(&asked), asked.lang, &plain),
            }
        }
    }
}

async fn render_unit(
    portal: &Portal,
    asked: &Asked,
    unit: &PageUnit,
    generation: u64,
) -> Result<Option<(Rendered, bool)>, ()> {
    let (page, parts) = match portal.stamped_unit_page(unit).await {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::error!(error = %e, "reading a unit's page failed");
            return Err(());
        }
    };
    let body = if asked.json {
        let mut body = json!({
            "gtin": page.gtin,
            "serial": page.serial,
            "digitalLink": page.digital_link,
            "product": page.product.as_ref().map(|p| json!({ "name": p.name, "model": p.model })),
            "banner": page.banner.as_str(),
            "status": page.status.map(|s| s.as_str()),
            "verified": page.viewer == PageViewer::Customer,
        });
        if page.wrong_code {
            body["notice"] = json!(
                "This code does not match this unit's label. The label may be a copy; what is shown is what anyone sees without a code."
            );
        }
        if page.copy_confirmed {
            body["copyConfirmed"] = json!(true);
        }
        body.to_string()
    } else {
        render::unit(&page, asked.lang, &unit_links(asked, unit)).map_err(|e| {
            tracing::error!(error = %e, "rendering a unit's page failed");
        })?
    };
    Ok(Some((
        Rendered {
            etag: etag_of(&body),
            body: body.into(),
            valid_until: page.valid_until,
            parts: parts.clone().unwrap_or_default(),
            parts_checked: std::sync::atomic::AtomicU64::new(generation),
        },
        parts.is_some(),
    )))
}

async fn product(
    req: &HttpRequest,
    portal: &Portal,
    asked: &Asked,
    gtin: &Gtin,
    lot: Option<&str>,
    links: &SelfLinks,
) -> HttpResponse {
    let p = match portal.product_page(gtin).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(asked, links),
        Err(e) => {
            tracing::error!(error = %e, "reading a product for its page failed");
            return unavailable(Some(asked), asked.lang, links);
        }
    };
    let body = if asked.json {
        json!({ "gtin": p.gtin, "name": p.name, "model": p.model, "lot": lot }).to_string()
    } else {
        match render::product(&p, lot, asked.lang, links) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "rendering a product page failed");
                return unavailable(Some(asked), asked.lang, links);
            }
        }
    };
    let page = Rendered {
        etag: etag_of(&body),
        body: body.into(),
        valid_until: None,
        parts: Vec::new(),
        parts_checked: Default::default(),
    };
    serve(req, asked, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn json_is_chosen_only_when_preferred_to_html() {
        let with = |a: &str| {
            wants_json(
                &TestRequest::default()
                    .insert_header(("Accept", a))
                    .to_http_request(),
            )
        };
        assert!(with("application/json"));
        assert!(with("application/json, text/html;q=0.5"));
        assert!(!with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!with("*/*"));
        assert!(!with("application/json;q=0.5, text/*"));
        assert!(!wants_json(&TestRequest::default().to_http_request()));
    }
}
