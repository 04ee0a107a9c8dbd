//! Issue 16: the resolver, checked the way GS1's resolver conformance suite
//! (gs1/GS1DL-resolver-testsuite) checks one: the description file, CORS on
//! OPTIONS, `Link: rel="linkset"`, 400 for a malformed link, a tolerated
//! trailing slash, the query passed on, the linkset by `linkType` and by
//! `Accept`, its structure (anchors from the level asked for up to the
//! primary key, exactly one default link, full link-type URIs, a title on
//! every link), the default link's 307, one link type's 307, 404 for a
//! link type the item lacks, and a lot that walks up to its product. Then
//! the page behind a label: verified with the code, the same view and a
//! notice with a wrong one.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::events::{PACK_GTIN, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(the_resolver_answers_as_the_conformance_suite_expects);

const BASE: &str = provenance::config::DEFAULT_BASE_URL;

struct Client<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
}

impl Client<'_> {
    /// A request on the public base URL's path, without following redirects.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        accept: Option<&str>,
    ) -> (u16, HeaderMap, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.app.address))
            .header("Origin", "https://ref.gs1.org/test-suites/resolver/");
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        let res = req.send().await.expect("the resolver answers");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap_or_default())
    }

    async fn get(&self, path: &str) -> (u16, HeaderMap, String) {
        self.send(reqwest::Method::GET, path, None).await
    }
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> &'h str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The suite's `stripLinkType`: the URL without a `linkType` parameter.
fn strip_link_type(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("linkType="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => url.to_owned(),
    }
}

async fn the_resolver_answers_as_the_conformance_suite_expects(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let with_lot = format!("https://id.example/01/{PACK_GTIN}/10/LOT7/21/R1");
    let r = app
        .capture(&staff, vec![object("r-1", "commissioning", &[with_lot])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let client = Client {
        app: &app,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let unit = format!("/01/{PACK_GTIN}/21/R1");

    // rdFile: the description file, readable cross-origin.
    let (status, h, body) = client.get("/.well-known/gs1resolver").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), "*");
    let rd: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rd["resolverRoot"], BASE);
    assert_eq!(rd["supportedPrimaryKeys"], serde_json::json!(["01"]));
    assert_eq!(rd["supportedLinkType"][0]["prefix"], "gs1:");
    assert!(rd["name"].is_string() && rd["jsonLdContextLocation"].is_string());

    // corsCheck, methodsCheck, linkOnRedirect on OPTIONS.
    let (status, h, _) = client.send(reqwest::Method::OPTIONS, &unit, None).await;
    assert!(status < 300, "{status}");
    assert_eq!(header(&h, "access-control-allow-origin"), "*");
    let methods = header(&h, "access-control-allow-methods");
    for m in ["GET", "HEAD", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    assert!(header(&h, "link").contains("rel=\"linkset\""));
    assert!(
        !header(&h, "link").contains("rel=\"gs1:"),
        "no legacy link headers"
    );

    // reportWith400: a malformed link.
    assert_eq!(client.get(&format!("{unit}/foo")).await.0, 400);

    // The default link: 307 to the linkset's defaultLink, query passed on.
    let (status, h, _) = client.get(&unit).await;
    assert_eq!(status, 307);
    let default_location = header(&h, "location").to_owned();
    assert!(
        header(&h, "link").contains("rel=\"linkset\""),
        "Link on the redirect"
    );
    // trailingSlash: the same answer.
    let (status2, h2, _) = client.get(&format!("{unit}/")).await;
    assert_eq!(
        (status2, header(&h2, "location")),
        (status, default_location.as_str())
    );
    // qsPassedOn.
    let (_, h, _) = client.get(&format!("{unit}?foo=bar")).await;
    assert!(header(&h, "location").contains("foo=bar"));

    // ltLinksetNoRedirect, ltAcceptHeader, declaredContentType, JSON-LD context.
    let (status, h, body) = client.get(&format!("{unit}?linkType=linkset")).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("application/linkset+json"));
    assert!(header(&h, "link").split(',').any(|l| {
        l.contains("rel=\"http://www.w3.org/ns/json-ld#context\"")
            && l.contains("type=\"application/ld+json\"")
    }));
    let (status, _, by_accept) = client
        .send(
            reqwest::Method::GET,
            &format!("{unit}?linkType=all"),
            Some("application/linkset+json"),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, bare_accept) = client
        .send(
            reqwest::Method::GET,
            &unit,
            Some("application/linkset+json"),
        )
        .await;
    assert_eq!(by_accept, body);
    assert_eq!(bare_accept, body);

    // validLinkset: the GS1 linkset schema's rules, and the walk up.
    let linkset: Value = serde_json::from_str(&body).unwrap();
    let top = linkset.as_object().unwrap();
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        vec!["linkset"],
        "nothing but linkset"
    );
    let entries = linkset["linkset"].as_array().unwrap();
    let mut current = format!("{BASE}{unit}");
    let mut defaults = Vec::new();
    loop {
        let entry = entries
            .iter()
            .find(|e| e["anchor"] == current.as_str())
            .unwrap_or_else(|| panic!("no entry anchored at {current}: {body}"));
        assert!(entry["itemDescription"].is_string());
        for (key, links) in entry.as_object().unwrap() {
            if key == "anchor" || key == "itemDescription" {
                continue;
            }
            assert!(
                key.starts_with("https://gs1.org/voc/"),
                "a full link-type URI: {key}"
            );
            for link in links.as_array().unwrap() {
                assert!(link["href"].as_str().unwrap().starts_with("http"));
                assert!(link["title"].is_string(), "a title on every link");
                assert!(link["type"].is_string(), "a media type on every link");
                // The schema's language tags: two letters (or xx-XX).
                assert!(link.get("hreflang").is_none_or(|tags| {
                    tags.as_array()
                        .is_some_and(|a| a.iter().all(|l| l.as_str().is_some_and(|t| t.len() == 2)))
                }));
            }
        }
        let default = entry["https://gs1.org/voc/defaultLink"].as_array().unwrap();
        assert_eq!(default.len(), 1, "exactly one default link");
        defaults.push(default[0]["href"].as_str().unwrap().to_owned());
        let segments: Vec<&str> = current
            .trim_start_matches(BASE)
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if segments.len() <= 2 {
            break;
        }
        current = format!("{BASE}/{}", segments[..segments.len() - 2].join("/"));
    }
    assert_eq!(
        default_location, defaults[0],
        "defaultTarget: Location is the defaultLink"
    );

    // testSingleLinkObject: one link type's 307; specificLinkTypeNotFound.
    let (status, h, _) = client.get(&format!("{unit}?linkType=gs1:pip")).await;
    assert_eq!(status, 307);
    assert_eq!(strip_link_type(header(&h, "location")), defaults[0]);
    assert_eq!(
        client.get(&format!("{unit}?linkType=gs1:nosuchlt")).await.0,
        404
    );

    // basicWalkUp: a lot resolves whether known or not (a guesser learns
    // no lot numbers: the two answers differ only in the lot named), to a
    // page showing the product; an unknown serial of a known GTIN does not.
    let (status, h, _) = client.get(&format!("/01/{PACK_GTIN}/10/KL8G")).await;
    assert_eq!(status, 307);
    assert_eq!(
        header(&h, "location"),
        format!("{BASE}/pip/01/{PACK_GTIN}/10/KL8G")
    );
    let (_, known, _) = client.get(&format!("/01/{PACK_GTIN}/10/LOT7")).await;
    assert_eq!(
        header(&known, "location"),
        format!("{BASE}/pip/01/{PACK_GTIN}/10/LOT7")
    );
    let (status, _, product) = client.get(&format!("/pip/01/{PACK_GTIN}/10/KL8G")).await;
    assert_eq!(status, 200);
    assert!(!product.contains("R1"), "never a serial: {product}");
    let (status, _, _) = client.get(&format!("/01/{PACK_GTIN}/10/LOT7/21/R1")).await;
    assert_eq!(status, 307);
    assert_eq!(client.get(&format!("/01/{PACK_GTIN}/21/NOPE")).await.0, 404);
    assert_eq!(
        client
            .get(&format!("/01/{PACK_GTIN}/10/OTHER/21/R1"))
            .await
            .0,
        404
    );
    assert_eq!(
        client.get("/01/09506000134352/21/R1").await.0,
        404,
        "not our product"
    );

    // The page behind a label: verified with the code, the anonymous view
    // and a notice without a match; the code is not cached or referred on.
    let label = app
        .gql(
            &staff,
            "mutation { label: printLabel(gtin: \"04012345000016\", serial: \"R1\") { url } }",
            serde_json::json!({}),
        )
        .await;
    let url = label["data"]["label"]["url"].as_str().unwrap().to_owned();
    let path = url.trim_start_matches(BASE);
    let (status, h, _) = client.get(path).await;
    assert_eq!(status, 307);
    assert_eq!(header(&h, "referrer-policy"), "no-referrer");
    let page = header(&h, "location").trim_start_matches(BASE).to_owned();
    assert!(page.starts_with("/pip/") && page.contains("c="), "{page}");
    let json = Some("application/json");
    let (status, h, body) = client.send(reqwest::Method::GET, &page, json).await;
    assert_eq!(status, 200);
    assert!(header(&h, "cache-control").contains("private"));
    assert_eq!(header(&h, "referrer-policy"), "no-referrer");
    let verified: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["status"], "commissioned");
    let wrong = format!("{}c=AAAAAAAAAAAAA", page.split("c=").next().unwrap());
    let (_, _, body) = client.send(reqwest::Method::GET, &wrong, json).await;
    let guessed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(guessed["verified"], false);
    assert_eq!(
        guessed["banner"], verified["banner"],
        "no other status for a guesser"
    );
    assert!(guessed["status"].is_null(), "nor the lifecycle's");
    assert!(guessed["notice"].is_string());
    // Errors on requests with a code keep it private too; `%63` is `c`.
    let (status, h, _) = client
        .get(&format!("/01/{PACK_GTIN}/21/NOPE?%63=AAAAAAAAAAAAA"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(header(&h, "referrer-policy"), "no-referrer");
    assert!(header(&h, "cache-control").contains("no-store"));
}
