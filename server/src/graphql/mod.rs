//! The GraphQL schema. It knows nothing of the web framework: the web layer
//! authenticates and puts the `Principal` on the request; resolvers call
//! `services::Portal`.

mod alerts;
mod device;
mod errors;
mod ids;
mod inputs;
mod labels;
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

/// The most a query may cost (README, "What a query costs").
pub const MAX_COMPLEXITY: usize = 100_000;
/// A page of `devices` by default and at most.
pub const DEVICES_PAGE: (usize, usize) = (100, 500);
/// A page of `accessLog` by default and at most.
pub const ACCESS_LOG_PAGE: (usize, usize) = (100, 1000);
/// A page of a device's `history` by default (the first, or with
/// `newestFirst` the newest) and at most.
pub const HISTORY_PAGE: (usize, usize) = (1000, 1000);
/// What a device's `history` costs before its page: it reads the whole
/// history (the policy filters it) and pages it in memory.
pub const HISTORY_READ: usize = 1000;
/// What `lineage` and `components` count for the devices they may list:
/// an assembly tree is not paged, so its size is estimated.
pub const TREE_ESTIMATE: usize = 50;
/// What one `tlogProof` costs: a proof reads tiles from the store.
pub const PROOF_COST: usize = 20;
/// What a label costs (a transaction, a QR code rendered twice): at most
/// ten per operation.
pub const LABEL_COST: usize = MAX_COMPLEXITY / 10;

/// The cost of a page: its size (the smaller of `first` and `last` when
/// given, else `page.0`, never over `page.1`) times what each item's
/// selection costs, plus one for the field itself.
pub(crate) fn page_cost(
    first: Option<i32>,
    last: Option<i32>,
    page: (usize, usize),
    child: usize,
) -> usize {
    let asked = match (first, last) {
        (Some(f), Some(l)) => Some(f.min(l)),
        (f, l) => f.or(l),
    };
    let size = asked.map_or(page.0, |n| usize::try_from(n).unwrap_or(0));
    size.clamp(1, page.1)
        .saturating_mul(child)
        .saturating_add(1)
}

pub fn build_schema(portal: Arc<Portal>) -> PortalSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .data(portal)
        .limit_depth(32)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The devices whose partner-class attributes (custodian, service partner,
/// revision) one operation returned: one access-log row after it.
#[derive(Default)]
pub(crate) struct AttributeReads(std::sync::Mutex<std::collections::BTreeSet<String>>);

impl AttributeReads {
    pub(crate) fn note(&self, gtin: &str, serial: &str) {
        let mut set = match self.0.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        set.insert(format!("{gtin}/{serial}"));
    }

    fn take(&self) -> Vec<String> {
        let mut set = match self.0.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        std::mem::take(&mut *set).into_iter().collect()
    }
}

/// Executes one operation for `principal` calling from `client`, as the
/// web layer does: with a data loader of its own (loaders cache per
/// operation) and the client's address for the access log. Partner-class
/// device attributes it returned are logged in one access-log row.
pub async fn execute(
    schema: &PortalSchema,
    portal: Arc<Portal>,
    request: async_graphql::Request,
    principal: Principal,
    client: &str,
) -> async_graphql::Response {
    let loader = async_graphql::dataloader::DataLoader::new(
        loaders::DeviceLoader(portal.clone(), principal.clone()),
        crate::services::spawn_counted,
    );
    let reads = Arc::new(AttributeReads::default());
    let execution = schema.execute(
        request
            .data(principal.clone())
            .data(ClientAddress(client.to_owned()))
            .data(loader)
            .data(reads.clone()),
    );
    let response = crate::services::access::CLIENT
        .scope(client.to_owned(), execution)
        .await;
    let devices = reads.take();
    if !devices.is_empty() {
        portal
            .record_read(crate::services::access::row(
                (&principal).into(),
                client,
                "device.attributes",
                devices,
                &[crate::domain::visibility::Visibility::Partner],
                "ok",
            ))
            .await;
    }
    response
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

#[cfg(test)]
mod layering_tests {
    /// The API layers map service views to the wire: none of their files
    /// names a store type.
    #[test]
    fn graphql_and_web_name_no_store_path() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = 0;
        for dir in ["graphql", "web"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Spelt in two parts, so this file does not match itself.
                    let store = concat!("crate::", "store");
                    assert!(!text.contains(store), "{} names {store}", path.display());
                    files += 1;
                }
            }
        }
        assert!(files > 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_size_times_its_items() {
        // The default page, a given one, the smaller of first and last.
        assert_eq!(page_cost(None, None, DEVICES_PAGE, 10), 100 * 10 + 1);
        assert_eq!(page_cost(Some(7), None, DEVICES_PAGE, 10), 71);
        assert_eq!(page_cost(None, Some(7), HISTORY_PAGE, 10), 71);
        assert_eq!(page_cost(Some(9), Some(3), HISTORY_PAGE, 10), 31);
        // Never over the largest page the field returns, never under one.
        assert_eq!(page_cost(Some(100_000), None, DEVICES_PAGE, 2), 1001);
        assert_eq!(page_cost(Some(-5), None, DEVICES_PAGE, 2), 3);
        assert_eq!(page_cost(Some(0), None, DEVICES_PAGE, 2), 3);
        // No overflow.
        assert_eq!(
            page_cost(Some(i32::MAX), None, (1, usize::MAX), usize::MAX),
            usize::MAX
        );
    }
}
