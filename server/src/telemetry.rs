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
