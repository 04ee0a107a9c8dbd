//! The GraphQL schema. It knows nothing of the web framework: the web layer
//! authenticates and puts the `Principal` on the request; resolvers call
//! `services::Portal`.

mod errors;
mod query;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::services::Portal;

pub use errors::{ErrorCode, unauthenticated, unauthenticated_error};
pub use query::Query;

pub type PortalSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn build_schema(portal: Arc<Portal>) -> PortalSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(portal)
        .limit_depth(32)
        .limit_complexity(10_000)
        .finish()
}
