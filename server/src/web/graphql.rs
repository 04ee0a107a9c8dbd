//! `/graphql`: POST executes; GET with a `query` parameter executes queries
//! only (a mutation over GET is 405); GET without one serves the in-browser
//! IDE. Every operation needs a valid bearer token.

use actix_web::guard::{self, GuardContext};
use actix_web::{Either, HttpRequest, HttpResponse, Resource, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};

use crate::graphql::{PortalSchema, unauthenticated_error};
use crate::services::Portal;

pub fn resource() -> Resource {
    web::resource("/graphql")
        .route(web::post().to(execute))
        .route(
            web::get()
                .guard(guard::fn_guard(has_query_param))
                .to(execute),
        )
        .route(web::get().to(ide))
}

fn has_query_param(ctx: &GuardContext<'_>) -> bool {
    ctx.head().uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "query" || kv.starts_with("query="))
    })
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false; // the executor reports the syntax error
    };
    match doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => ops.iter().any(|(name, op)| {
            operation_name.is_none_or(|n| n == name.as_str())
                && op.node.ty == OperationType::Mutation
        }),
    }
}

#[tracing::instrument(skip_all)]
async fn execute(
    http: HttpRequest,
    portal: web::Data<Portal>,
    schema: web::Data<PortalSchema>,
    request: GraphQLRequest,
) -> Either<GraphQLResponse, HttpResponse> {
    let request = request.into_inner();
    if http.method() == actix_web::http::Method::GET
        && is_mutation(&request.query, request.operation_name.as_deref())
    {
        return Either::Right(
            HttpResponse::MethodNotAllowed()
                .insert_header(("Allow", "POST"))
                .body("mutations must be sent with POST\n"),
        );
    }
    let principal = match portal.authenticate(bearer(&http)).await {
        Ok(p) => p,
        Err(_) => {
            return Either::Left(
                async_graphql::Response::from_errors(vec![unauthenticated_error()]).into(),
            );
        }
    };
    Either::Left(schema.execute(request.data(principal)).await.into())
}

async fn ide() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("Provenance Portal GraphQL")
                .finish(),
        )
}
