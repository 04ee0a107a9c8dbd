//! The GS1-conformant resolver (docs/resolver.md): GET, HEAD and OPTIONS on
//! every Digital Link form of our units, lots and products; a 307 to the
//! default link or to the link of a `linkType`; the RFC 9264 linkset; the
//! resolver description file.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::domain::{DigitalLinkUri, DlParseOptions};
use crate::services::Portal;
use crate::services::resolver::{GS1_VOC, Resolution, ResolveError};

/// The GS1 linkset JSON-LD context.
const LINKSET_CONTEXT: &str = "https://ref.gs1.org/standards/resolver/linkset-context";
const LINKSET_TYPE: &str = "application/linkset+json";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/gs1resolver")
            .route(web::get().to(description))
            .route(web::head().to(description)),
    )
    .service(
        web::resource("/01/{tail:.*}")
            .route(web::get().to(resolve))
            .route(web::head().to(resolve))
            .route(web::method(actix_web::http::Method::OPTIONS).to(resolve)),
    );
}

fn cors(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Accept, Accept-Language",
        ))
        .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "Link, Location"));
}

/// `/.well-known/gs1resolver`: the resolver description file.
async fn description(portal: web::Data<Portal>) -> HttpResponse {
    let base = portal
        .settings()
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let mut res = HttpResponse::Ok();
    cors(&mut res);
    res.content_type("application/json").json(json!({
        "name": "Provenance Portal resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{ "namespace": GS1_VOC, "prefix": "gs1:" }],
        "linkTypeDefaultCanBeLinkset": false,
        "jsonLdContextLocation": LINKSET_CONTEXT,
    }))
}

fn problem(status: actix_web::http::StatusCode, detail: &str, private: bool) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    cors(&mut res);
    if private {
        keep_private(&mut res);
    }
    res.content_type("application/problem+json").json(
        json!({ "status": status.as_u16(), "title": status.canonical_reason(), "detail": detail }),
    )
}

/// The link type a `linkType` value names, as its name in the GS1
/// vocabulary (`gs1:pip`, or the full URI).
fn link_type_name(value: &str) -> Option<&str> {
    value
        .strip_prefix("gs1:")
        .or_else(|| value.strip_prefix(GS1_VOC))
        .or_else(|| value.strip_prefix("https://ref.gs1.org/voc/"))
}

/// The request's query without `linkType`, for passing on; the
/// verification code `c` only to targets on our own base URL.
fn passed_on(raw_query: &str, ours: bool) -> String {
    let dropped = |name: &str| name == "linkType" || (!ours && name == "c");
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            // Names compared as the parser reads them (`%63` is `c`).
            let name = crate::domain::percent_decoded(pair.split('=').next().unwrap_or_default());
            !dropped(&name)
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether the request carries a verification code, in any spelling.
pub(super) fn carries_code(raw_query: &str) -> bool {
    raw_query.split('&').any(|pair| {
        crate::domain::percent_decoded(pair.split('=').next().unwrap_or_default()) == "c"
    })
}

/// Headers for answers to requests with a code: it must travel no further.
pub(super) fn keep_private(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"));
}

fn linkset(resolution: &Resolution) -> Value {
    let entries: Vec<Value> = resolution
        .levels
        .iter()
        .map(|level| {
            let mut entry = Map::new();
            entry.insert("anchor".into(), json!(level.anchor));
            entry.insert("itemDescription".into(), json!(level.item_description));
            let target = |l: &crate::services::resolver::Link| {
                json!({ "href": l.href, "title": l.title, "type": l.media_type, "hreflang": ["en"] })
            };
            for link in &level.links {
                if let Some(links) = entry
                    .entry(format!("{GS1_VOC}{}", link.link_type))
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                {
                    links.push(target(link));
                }
            }
            // The default link: its target, title and media type (a title
            // and a media type on every link), no language.
            if let Some(default) = level.links.get(level.default) {
                entry.insert(
                    format!("{GS1_VOC}defaultLink"),
                    json!([{ "href": default.href, "title": default.title, "type": default.media_type }]),
                );
            }
            Value::Object(entry)
        })
        .collect();
    json!({ "linkset": entries })
}

async fn resolve(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    let base = portal
        .settings()
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let raw_query = req.query_string();
    let private = carries_code(raw_query);
    let uri = if raw_query.is_empty() {
        format!("{base}{}", req.path())
    } else {
        format!("{base}{}?{raw_query}", req.path())
    };
    let parsed = match DigitalLinkUri::parse(&uri, &DlParseOptions::portal()) {
        Ok(p) => p,
        Err(e) => {
            let detail = format!("not a valid GS1 Digital Link: {e}");
            if super::pages::wants_html(&req) {
                return super::pages::refusal_page(&req, false, &detail);
            }
            return problem(actix_web::http::StatusCode::BAD_REQUEST, &detail, private);
        }
    };
    let resolution = match portal.resolve(&parsed).await {
        Ok(r) => r,
        // A browser (a scanned label) gets the page that says the unit is
        // not known and may be counterfeit; any other client the problem.
        Err(ResolveError::NotFound) if super::pages::wants_html(&req) => {
            return super::pages::refusal_page(&req, true, "no such item");
        }
        Err(ResolveError::NotFound) => {
            return problem(
                actix_web::http::StatusCode::NOT_FOUND,
                "no such item",
                private,
            );
        }
        Err(ResolveError::Invalid(m)) => {
            return problem(actix_web::http::StatusCode::BAD_REQUEST, &m, private);
        }
        Err(ResolveError::Store(e)) => {
            tracing::error!(error = %e, "resolving a Digital Link failed");
            return problem(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the resolver failed; try again",
                private,
            );
        }
    };
    let anchor = resolution
        .levels
        .first()
        .map(|l| l.anchor.clone())
        .unwrap_or_default();
    let linkset_link =
        format!("<{anchor}?linkType=linkset>; rel=\"linkset\"; type=\"{LINKSET_TYPE}\"");
    let with_code = private || parsed.params().iter().any(|p| p.name() == "c");
    let mut res = if req.method() == actix_web::http::Method::OPTIONS {
        HttpResponse::NoContent()
    } else {
        HttpResponse::Ok()
    };
    cors(&mut res);
    if with_code {
        res.insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"));
    }
    res.insert_header((header::VARY, "Accept"));
    if req.method() == actix_web::http::Method::OPTIONS {
        return res.insert_header((header::LINK, linkset_link)).finish();
    }
    let link_type = parsed
        .params()
        .iter()
        .find(|p| p.name() == "linkType")
        .map(|p| p.value().to_owned());
    let wants_linkset = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains(LINKSET_TYPE));
    let target = match link_type.as_deref() {
        Some("linkset" | "all") => None,
        None if wants_linkset => None,
        None => resolution.default_link(),
        Some(other) => match link_type_name(other).and_then(|name| {
            if name == "defaultLink" {
                resolution.default_link()
            } else {
                resolution.link(name)
            }
        }) {
            Some(link) => Some(link),
            None => {
                return problem(
                    actix_web::http::StatusCode::NOT_FOUND,
                    &format!("this item has no link of type {other}"),
                    with_code,
                );
            }
        },
    };
    match target {
        None => {
            let context = format!(
                "<{LINKSET_CONTEXT}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
            );
            res.insert_header((header::LINK, format!("{linkset_link}, {context}")))
                .content_type(LINKSET_TYPE)
                .body(linkset(&resolution).to_string())
        }
        Some(link) => {
            let ours = link.href.starts_with(&format!("{base}/"));
            let query = passed_on(raw_query, ours);
            let location = if query.is_empty() {
                link.href.clone()
            } else {
                format!("{}?{query}", link.href)
            };
            let mut redirect = HttpResponse::TemporaryRedirect();
            cors(&mut redirect);
            if with_code {
                redirect
                    .insert_header((header::CACHE_CONTROL, "private, no-store"))
                    .insert_header(("Referrer-Policy", "no-referrer"));
            } else {
                redirect.insert_header((header::CACHE_CONTROL, "public, max-age=60"));
            }
            match HeaderValue::from_str(&location) {
                Ok(v) => redirect
                    .insert_header((header::LOCATION, v))
                    .insert_header((header::LINK, linkset_link))
                    .insert_header((header::VARY, "Accept"))
                    .finish(),
                Err(_) => problem(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "the query cannot be passed on",
                    with_code,
                ),
            }
        }
    }
}
