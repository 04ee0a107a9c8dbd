//! The in-browser GraphQL IDE (GraphiQL), served from the binary: its page
//! and the vendored assets in `static/graphiql/` (see its README), under
//! versioned paths that can be cached for good. No CDN is contacted, so the
//! IDE works offline and the page where users paste tokens loads nothing
//! from third parties (its Content-Security-Policy says so).

use actix_web::{HttpResponse, web};

/// Versioned asset paths: a new bundle gets a new path.
const PREFIX: &str = "/static/graphiql-3.8.3";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Provenance Portal GraphQL</title>
<link rel="stylesheet" href="/static/graphiql-3.8.3/graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql"><noscript>The GraphQL IDE needs JavaScript; the API itself is POST /graphql.</noscript></div>
<script src="/static/graphiql-3.8.3/react.production.min.js"></script>
<script src="/static/graphiql-3.8.3/react-dom.production.min.js"></script>
<script src="/static/graphiql-3.8.3/graphiql.min.js"></script>
<script src="/static/graphiql-3.8.3/ide.js"></script>
</body>
</html>
"#;

/// Scripts and styles from this origin only (GraphiQL sets inline styles;
/// its fonts are data: URLs); requests to this origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   font-src 'self' data:; img-src 'self' data:; connect-src 'self'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("Cache-Control", "no-cache"))
        .body(PAGE)
}

fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match name {
        "graphiql.min.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../../static/graphiql/graphiql.min.js"),
        ),
        "graphiql.min.css" => (
            "text/css; charset=utf-8",
            include_bytes!("../../../static/graphiql/graphiql.min.css"),
        ),
        "react.production.min.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../../static/graphiql/react.production.min.js"),
        ),
        "react-dom.production.min.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../../static/graphiql/react-dom.production.min.js"),
        ),
        "ide.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("../../../static/graphiql/ide.js"),
        ),
        _ => return None,
    })
}

async fn file(name: web::Path<String>) -> HttpResponse {
    match asset(&name) {
        Some((kind, bytes)) => HttpResponse::Ok()
            .content_type(kind)
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found\n"),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(format!("{PREFIX}/{{name}}")).route(web::get().to(file)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every asset the page names is served, and nothing comes from
    /// elsewhere.
    #[test]
    fn the_page_names_only_served_assets() {
        let mut named = 0;
        for part in PAGE.split('"') {
            if let Some(name) = part.strip_prefix(&format!("{PREFIX}/")) {
                assert!(asset(name).is_some(), "{name} is not served");
                named += 1;
            }
            assert!(!part.starts_with("http"), "{part} is not ours");
        }
        assert_eq!(named, 5);
    }
}
