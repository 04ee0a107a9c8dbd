//! The report form of a unit's page (POST, docs/pages.md "Reports") and
//! the client address scans and reports are counted for.

use std::net::IpAddr;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::render::Message;
use super::{
    Asked, SelfLinks, Target, ask, bad_request, message, not_found, unavailable, unit_links,
    unit_of,
};
use crate::services::Portal;
use crate::services::pages::reports::{ReportKind, Reported};

/// The address a scan or a report is counted for: the peer's, or — when
/// the peer is one of the trusted proxies — the last address in
/// `X-Forwarded-For` that is not a trusted proxy, with the country the
/// proxy gives in `X-Client-Country`.
pub(super) fn client(req: &HttpRequest, portal: &Portal) -> Option<(IpAddr, Option<String>)> {
    let peer = req.peer_addr()?.ip();
    let trusted = &portal.settings().trusted_proxies;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some((peer, None));
    }
    let forwarded = req
        .headers()
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut addr = peer;
    for hop in forwarded.iter().rev().take(16) {
        // `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:4711`.
        let bare = match hop.parse::<std::net::SocketAddr>() {
            Ok(sock) => Ok(sock.ip()),
            Err(_) => hop
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(hop)
                .parse::<IpAddr>(),
        };
        match bare {
            Ok(ip) if is_trusted(&ip) => addr = ip,
            Ok(ip) => {
                addr = ip;
                break;
            }
            Err(_) => break,
        }
    }
    // The proxy's own value is the last one (a client's comes before it).
    let country = req
        .headers()
        .get_all("X-Client-Country")
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned());
    Some((addr, country))
}

/// Whether a POST comes from this site's own form (or from no browser at
/// all). A browser that sends `Sec-Fetch-Site` is believed: `same-origin`
/// (the form) or `none` (the user's own doing) pass. Without it, `Origin`,
/// when sent, must be the public base URL's origin; `null` (what a page
/// with `Referrer-Policy: no-referrer` sends with its own form in some
/// browsers) does not pass without `Sec-Fetch-Site`.
fn same_site(req: &HttpRequest, portal: &Portal) -> bool {
    if let Some(site) = req.headers().get("Sec-Fetch-Site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let base = &portal.settings().public_base_url;
    let ours = base
        .split_once("://")
        .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")));
    origin.to_str().ok() == ours.as_deref()
}

#[derive(Deserialize)]
pub(super) struct ReportForm {
    kind: String,
}

/// The report form's POST: records the report for staff, rate-limited per
/// network and per unit.
pub(super) async fn report(
    req: HttpRequest,
    portal: web::Data<Portal>,
    form: Result<web::Form<ReportForm>, actix_web::Error>,
) -> HttpResponse {
    let asked = match ask(&req, &portal, None) {
        Ok(a) => a,
        Err(detail) => return bad_request(&req, &detail),
    };
    let plain = SelfLinks {
        path: req.path().to_owned(),
        code: None,
    };
    // Answers to a POST are never stored.
    let asked = Asked {
        private: true,
        ..asked
    };
    if !same_site(&req, &portal) {
        return message(
            StatusCode::FORBIDDEN,
            &Message::Invalid,
            Some(&asked),
            asked.lang,
            &plain,
            "reports are taken from this site's own form only",
        );
    }
    let Target::Unit { key, lot } = &asked.parsed.target else {
        return not_found(&asked, &plain);
    };
    let Some(kind) = form.ok().and_then(|f| ReportKind::parse(&f.kind)) else {
        return bad_request(&req, "the form's kind must be stolen or found");
    };
    let unit = match unit_of(&portal, &asked, key, lot.as_deref(), &plain).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let links = unit_links(&asked, &unit);
    let Some((addr, _)) = client(&req, &portal) else {
        return unavailable(Some(&asked), asked.lang, &links);
    };
    match portal.report_unit(&unit, kind, addr).await {
        Ok(Reported::Recorded) => message(
            StatusCode::OK,
            &Message::Reported,
            Some(&asked),
            asked.lang,
            &links,
            "the report was recorded",
        ),
        Ok(Reported::Limited { retry_after }) => {
            let mut res = message(
                StatusCode::TOO_MANY_REQUESTS,
                &Message::Limited,
                Some(&asked),
                asked.lang,
                &links,
                "too many reports; try again later",
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "recording a report failed");
            unavailable(Some(&asked), asked.lang, &links)
        }
    }
}
