//! The GraphQL schema. It knows nothing of the web framework: the web layer
//! authenticates and puts the `Principal` on the request; resolvers call
//! `services::Portal`.

mod device;
mod errors;
mod inputs;
pub mod loaders;
mod mutation;
mod query;

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Schema};

use crate::auth::Principal;
use crate::services::Portal;

pub use errors::{ErrorCode, internal, unauthenticated, unauthenticated_error};
pub use mutation::Mutation;
pub use query::Query;

pub type PortalSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build_schema(portal: Arc<Portal>) -> PortalSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .data(portal)
        .limit_depth(32)
        .limit_complexity(100_000)
        .finish()
}

/// The schema's SDL, as committed at `server/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .finish()
        .sdl()
}

/// The caller's network address, for the access log.
#[derive(Clone, Debug)]
pub struct ClientAddress(pub String);

pub(crate) fn client<'a>(ctx: &Context<'a>) -> &'a str {
    ctx.data_opt::<ClientAddress>()
        .map_or("unknown", |c| c.0.as_str())
}

pub(crate) fn principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(unauthenticated)
}

pub(crate) fn portal<'a>(ctx: &Context<'a>) -> &'a Portal {
    // The schema is always built with the portal (`build_schema`).
    ctx.data_unchecked::<Arc<Portal>>()
}

#[cfg(test)]
mod sdl_tests {
    /// The committed SDL is the schema's: a change to the API shows up as a
    /// diff of `server/schema.graphql`. `UPDATE_SCHEMA=1` rewrites it.
    #[test]
    fn committed_sdl_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
        let sdl = super::sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &sdl).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == sdl,
            "server/schema.graphql differs from the schema; run UPDATE_SCHEMA=1 cargo test -p provenance --lib sdl and commit the file"
        );
    }
}
