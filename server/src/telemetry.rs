//! Logging to stderr. `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    // sea-orm's drivers trace their connect options, the database URL (a
    // password) among them: never, at whatever level is asked for.
    for module in [
        "sea_orm::driver",
        "sea_orm::driver::sqlx_postgres",
        "sea_orm::driver::sqlx_sqlite",
        "sea_orm::driver::sqlx_common",
    ] {
        if let Ok(cap) = format!("{module}=info").parse() {
            filter = filter.add_directive(cap);
        }
    }
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The request's root span, as `tracing-actix-web`'s default but with the
/// label's verification code (`c`) cut out of the target: a code never
/// reaches a log line.
pub struct RedactedRootSpan;

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        let target = redact_target(request.path(), request.uri().query().unwrap_or_default());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %target,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// `path?query` with every parameter's value left out: a code may come as
/// `c` in any spelling (`%63`), or inside another parameter (a Digital
/// Link passed to `/graphql`), so no value is logged at all.
pub fn redact_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let names: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=…"),
            None => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", names.join("&"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_cut_from_targets() {
        assert_eq!(
            super::redact_target("/01/04012345000016/21/P1", "c=LYWBYVCHDEYZX&x=1"),
            "/01/04012345000016/21/P1?c=…&x=…"
        );
        assert_eq!(super::redact_target("/a", ""), "/a");
        assert_eq!(super::redact_target("/a", "%63=SECRET&c"), "/a?%63=…&c");
        assert_eq!(
            super::redact_target("/graphql", "query=%7Bd(uri%3A%22x%3Fc%3DSECRET%22)%7D"),
            "/graphql?query=…"
        );
    }
}
