//! `/graphql`: POST executes; GET with a `query` parameter executes queries
//! only (a mutation over GET is 405); GET without one serves the in-browser
//! IDE. Every operation needs a valid bearer token.

use actix_web::guard::{self, GuardContext};
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};

use super::graphql_body::BodyError;
use crate::graphql::{ErrorCode, PortalSchema, unauthenticated_error};
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

/// The raw request body of `/graphql` from a principal that may capture is
/// limited to this many bytes (a 10,000-event batch fits); a larger one is
/// refused with 413 before it is read.
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// The limit for everyone else, anonymous callers included (decided from
/// the `Authorization` header before any of the body is read).
pub const MAX_SMALL_BODY: usize = 64 * 1024;
/// Operations in one batched request.
pub const MAX_BATCH: usize = 16;

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("application/json")
        .json(serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "INVALID_INPUT" } }] }))
}

fn refused(code: ErrorCode, message: &str) -> async_graphql::Response {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    async_graphql::Response::from_errors(vec![error])
}

/// Every error carries `extensions.code`: the executor's own (syntax,
/// validation, limits) get one here.
fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if error.message.contains("nested too deep")
            || error.message.contains("limit exceeded")
            || error.message.contains("too complex")
            || error.message.contains("too many")
            || error.message.contains("recursion depth")
        {
            ErrorCode::LimitExceeded
        } else {
            ErrorCode::InvalidInput
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
    response
}

fn json_response(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .json(body)
}

/// Whether the client accepts `application/graphql-response+json` (GraphQL
/// over HTTP); such clients get request errors as 400 without `data`.
fn accepts_graphql_response(http: &HttpRequest) -> bool {
    http.headers()
        .get_all("accept")
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/graphql-response+json"))
}

/// One operation's answer. A request error (the document did not parse or
/// validate, or was over a limit: no data, no error with a path) is 400
/// without a `data` entry for clients that accept
/// `application/graphql-response+json`; everything else is 200.
fn single_response(http: &HttpRequest, response: &async_graphql::Response) -> HttpResponse {
    if !accepts_graphql_response(http) {
        return json_response(response);
    }
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let mut body = serde_json::to_value(response).unwrap_or_default();
    let mut builder = if request_error {
        if let Some(map) = body.as_object_mut() {
            map.remove("data");
        }
        HttpResponse::BadRequest()
    } else {
        HttpResponse::Ok()
    };
    builder
        .content_type("application/graphql-response+json; charset=utf-8")
        .json(body)
}

/// Parses the request: POST carries JSON (one operation or a batch), GET the
/// `query`, `operationName` and `variables` parameters.
fn parse(
    http: &HttpRequest,
    body: &[u8],
) -> Result<async_graphql::BatchRequest, Box<HttpResponse>> {
    if http.method() == actix_web::http::Method::GET {
        return parse_get(http.query_string());
    }
    let json = http
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("application/json") || v.starts_with("application/graphql-response+json")
        });
    if !json {
        return Err(Box::new(
            HttpResponse::UnsupportedMediaType().body("send the request as application/json\n"),
        ));
    }
    super::graphql_body::parse(body, MAX_BATCH).map_err(|e| {
        Box::new(match e {
            BodyError::Malformed(e) => {
                bad_request(&format!("the body is not a GraphQL request: {e}"))
            }
            BodyError::Limit(message) => {
                HttpResponse::BadRequest().json(refused(ErrorCode::LimitExceeded, &message))
            }
        })
    })
}

/// A GET's parameters, as the JSON body a POST would carry, through the
/// same bounded parser: at most [`MAX_SMALL_BODY`] of query string,
/// variables and extensions counted and nested like a body's.
fn parse_get(query_string: &str) -> Result<async_graphql::BatchRequest, Box<HttpResponse>> {
    if query_string.len() > MAX_SMALL_BODY {
        return Err(Box::new(too_large(MAX_SMALL_BODY)));
    }
    let params = web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map_err(|e| Box::new(bad_request(&format!("invalid query parameters: {e}"))))?
        .into_inner();
    let mut body = serde_json::Map::new();
    let mut raw: Vec<(&str, &str)> = Vec::new();
    for (name, value) in &params {
        let twice = match name.as_str() {
            "query" | "operationName" => body
                .insert(name.clone(), serde_json::Value::String(value.clone()))
                .is_some(),
            "variables" | "extensions" if value.trim().is_empty() => false,
            "variables" | "extensions" => {
                let twice = raw.iter().any(|(n, _)| n == name);
                raw.push((name.as_str(), value.as_str()));
                twice
            }
            _ => false,
        };
        if twice {
            return Err(Box::new(bad_request(&format!("{name} given twice"))));
        }
    }
    // The JSON texts of variables and extensions go in as they are, to be
    // parsed once, with the body's budget.
    let mut json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
    json.pop();
    for (name, text) in raw {
        if json.len() > 1 {
            json.push(',');
        }
        json.push_str(&format!("\"{name}\":{text}"));
    }
    json.push('}');
    super::graphql_body::parse(json.as_bytes(), 1).map_err(|e| {
        Box::new(match e {
            BodyError::Malformed(e) => bad_request(&format!("invalid query parameters: {e}")),
            BodyError::Limit(message) => {
                HttpResponse::BadRequest().json(refused(ErrorCode::LimitExceeded, &message))
            }
        })
    })
}

fn too_large(limit: usize) -> HttpResponse {
    let message = if limit == MAX_BODY {
        format!("the request body is over {} MiB", MAX_BODY >> 20)
    } else {
        format!(
            "the request body is over {} KiB (larger ones only from a principal that captures events)",
            MAX_SMALL_BODY >> 10
        )
    };
    HttpResponse::PayloadTooLarge().json(refused(ErrorCode::LimitExceeded, &message))
}

/// Reads a POST body of at most `limit` bytes: a declared length over it
/// is refused before anything is read, a stream that runs over it as soon
/// as it does. The body is taken as sent (no content coding).
async fn read_body(
    http: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Box<HttpResponse>> {
    if http.method() != actix_web::http::Method::POST {
        return Ok(web::Bytes::new());
    }
    let coded = http
        .headers()
        .get("content-encoding")
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if coded {
        return Err(Box::new(
            HttpResponse::UnsupportedMediaType()
                .body("send the request without a content coding\n"),
        ));
    }
    let declared = http
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Box::new(too_large(limit)));
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(Box::new(bad_request(&format!(
            "the body was not read: {e}"
        )))),
        Err(_) => Err(Box::new(too_large(limit))),
    }
}

#[tracing::instrument(skip_all)]
async fn execute(
    http: HttpRequest,
    payload: web::Payload,
    portal: web::Data<Portal>,
    schema: web::Data<PortalSchema>,
) -> HttpResponse {
    // Who asks decides how much of a body is read: nothing is read before.
    let principal = portal.authenticate(bearer(&http)).await;
    let limit = match &principal {
        Ok(p) if crate::policy::may_capture(p.role) => MAX_BODY,
        _ => MAX_SMALL_BODY,
    };
    let body = match read_body(&http, payload, limit).await {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let batch = match parse(&http, &body) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let requests: Vec<async_graphql::Request> = match batch {
        async_graphql::BatchRequest::Single(r) => vec![r],
        async_graphql::BatchRequest::Batch(rs) => rs,
    };
    if requests.is_empty() {
        return bad_request("an empty batch");
    }
    // The document's own limits, in time linear in its text, before it is
    // parsed for anything else.
    let checks: Vec<Result<(), String>> = requests
        .iter()
        .map(|r| super::graphql_document::check(&r.query))
        .collect();
    if http.method() == actix_web::http::Method::GET
        && checks.iter().all(Result::is_ok)
        && requests
            .iter()
            .any(|r| is_mutation(&r.query, r.operation_name.as_deref()))
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST"))
            .body("mutations must be sent with POST\n");
    }
    drop(body);
    let principal = match principal {
        Ok(p) => p,
        Err(_) => {
            return json_response(&async_graphql::Response::from_errors(vec![
                unauthenticated_error(),
            ]));
        }
    };
    // Limits are checked before any resolver runs: the body's size, value
    // count, nesting and operations by the parser above, aliases below,
    // depth and complexity by the executor's validation, which also
    // precedes execution.
    // The peer's address (not a header a client could set).
    let client = http
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let single = requests.len() == 1;
    let mut responses = Vec::with_capacity(requests.len());
    for (request, check) in requests.into_iter().zip(checks) {
        let response = if let Err(message) = check {
            refused(ErrorCode::LimitExceeded, &message)
        } else {
            with_codes(
                crate::graphql::execute(
                    &schema,
                    portal.clone().into_inner(),
                    request,
                    principal.clone(),
                    &client,
                )
                .await,
            )
        };
        responses.push(response);
    }
    if single {
        single_response(&http, &responses[0])
    } else {
        json_response(&responses)
    }
}

async fn ide() -> HttpResponse {
    super::ide::page().await
}
