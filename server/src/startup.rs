//! Wires the portal into an HTTP server. The listener is bound before the
//! server is built, so `--bind 127.0.0.1:0` (tests) gets a free port.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::graphql::build_schema;
use crate::services::Portal;
use crate::web as routes;

pub struct Application {
    port: u16,
    server: Server,
    portal: Arc<Portal>,
}

impl Application {
    pub fn build(portal: Portal) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&portal.settings().bind)
            .with_context(|| format!("binding {}", portal.settings().bind))?;
        Self::with_listener(portal, listener)
    }

    pub fn with_listener(portal: Portal, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let portal = Arc::new(portal);
        let schema = web::Data::new(build_schema(portal.clone()));
        let data = web::Data::from(portal.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
                .wrap(middleware::NormalizePath::new(
                    middleware::TrailingSlash::Trim,
                ))
                .app_data(data.clone())
                .app_data(schema.clone())
                .app_data(web::Data::new(crate::web::PageMemo::default()))
                // Everything but /graphql (which sets its own) takes small
                // bodies only.
                .app_data(web::PayloadConfig::new(64 * 1024))
                .configure(routes::routes)
        })
        .listen(listener)?
        .run();
        tokio::spawn(checkpointer(std::sync::Arc::downgrade(&portal)));
        tokio::spawn(key_watcher(std::sync::Arc::downgrade(&portal)));
        tokio::spawn(crate::services::pages::poller(std::sync::Arc::downgrade(
            &portal,
        )));
        tokio::spawn(crate::services::pages::scan_flusher(
            std::sync::Arc::downgrade(&portal),
        ));
        if let Some(rx) = portal.take_access_receiver() {
            tokio::spawn(crate::services::access::flusher(portal.store().clone(), rx));
        }
        Ok(Self {
            port,
            server,
            portal,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn portal(&self) -> Arc<Portal> {
        self.portal.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Signs a checkpoint after the log grows, at most once a second, and
/// anchors the access log's head in the log every
/// [`crate::services::log::ANCHOR_EVERY`] when it moved. Holds only a weak
/// reference, so it ends with the portal.
async fn checkpointer(portal: std::sync::Weak<Portal>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut anchored = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let Some(portal) = portal.upgrade() else {
            return;
        };
        if anchored.elapsed() >= crate::services::log::ANCHOR_EVERY {
            anchored = tokio::time::Instant::now();
            match portal.anchor_access_log().await {
                Ok(Some(index)) => tracing::info!(index, "access log anchored in the public log"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "access log not anchored"),
            }
        }
        if let Err(e) = portal.checkpoint_now().await {
            tracing::warn!(error = %e, "checkpoint not signed");
        }
    }
}

/// Picks up keys rotated by `provenance keys rotate` while the server runs.
async fn key_watcher(portal: std::sync::Weak<Portal>) {
    let mut tick = tokio::time::interval(crate::services::keys::RELOAD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(portal) = portal.upgrade() else {
            return;
        };
        if let Err(e) = portal.reload_keys_if_changed() {
            tracing::warn!(error = %e, "rotated keys not loaded; the keys in use stay");
        }
    }
}
