//! GraphQL errors carry `extensions.code`; the message never holds database
//! text or why a token was refused.

use async_graphql::{Error, ErrorExtensionValues, ErrorExtensions, ServerError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    NotFound,
    InvalidInput,
    LimitExceeded,
    Forbidden,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    pub fn error(self, message: impl Into<String>) -> Error {
        Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

pub fn unauthenticated() -> Error {
    ErrorCode::Unauthenticated.error("a valid bearer token is required")
}

/// The refusal sent when a request has no valid token: no location, no
/// data, one code.
pub fn unauthenticated_error() -> ServerError {
    let mut error = ServerError::new("a valid bearer token is required", None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::Unauthenticated.as_str());
    error.extensions = Some(extensions);
    error
}

/// An unexpected failure: the cause goes to the log, the client gets an
/// opaque `INTERNAL`.
pub fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "internal error");
    ErrorCode::Internal.error("internal error")
}
