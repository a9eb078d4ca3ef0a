//! The crate error: what went wrong, whose fault it was (client, upstream,
//! headroomd itself) and what the user can do. Mapped to HTTP once
//! (`http::errors`, in the calling client's protocol shape) and to gRPC
//! once (`control`).

use std::time::Duration;

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    Client,
    Upstream,
    Internal,
}

/// Every error a proxied request can end in before the upstream answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] crate::admission::Refusal),
    #[error(transparent)]
    Budget(#[from] crate::budget::Denied),
    #[error(transparent)]
    RateLimited(#[from] crate::ratelimit::Limited),
    #[error("headroomd does not proxy `{method} {path}`: use /v1/* (Anthropic, OpenAI) or /v1beta/* (Gemini)")]
    NotFound { method: String, path: String },
    #[error("request body rejected: {0}")]
    BadRequest(String),
    #[error("request body too large ({size} bytes; headroomd accepts up to {limit} bytes)")]
    TooLarge { size: usize, limit: usize },
    #[error("headroomd could not reach the {provider} upstream at {url}: {reason} (after {attempts} attempt(s); check --{provider}-api-url and your network)")]
    UpstreamUnreachable {
        provider: &'static str,
        url: String,
        reason: String,
        attempts: u32,
    },
    #[error(
        "the {provider} upstream did not answer within {timeout:?} (--request-timeout-seconds)"
    )]
    UpstreamTimeout {
        provider: &'static str,
        timeout: Duration,
    },
    #[error("headroomd is shutting down; retry against the next instance")]
    Draining,
    #[error("internal headroomd error: {0}")]
    Internal(String),
}

impl Error {
    pub fn blame(&self) -> Blame {
        match self {
            Error::Refused(_)
            | Error::Budget(_)
            | Error::RateLimited(_)
            | Error::NotFound { .. } => Blame::Client,
            Error::BadRequest(_) | Error::TooLarge { .. } => Blame::Client,
            Error::UpstreamUnreachable { .. } | Error::UpstreamTimeout { .. } => Blame::Upstream,
            Error::Draining | Error::Internal(_) => Blame::Internal,
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        use crate::admission::Refusal;
        match self {
            Error::Refused(Refusal::Unauthorized) => 401,
            Error::Refused(Refusal::Overloaded { .. }) => 503,
            Error::Budget(_) | Error::RateLimited(_) => 429,
            Error::NotFound { .. } => 404,
            Error::BadRequest(_) => 400,
            Error::TooLarge { .. } => 413,
            Error::UpstreamUnreachable { .. } => 502,
            Error::UpstreamTimeout { .. } => 504,
            Error::Draining => 503,
            Error::Internal(_) => 500,
        }
    }

    /// Seconds the client should wait before retrying, when that is known.
    pub fn retry_after(&self) -> Option<u64> {
        use crate::admission::Refusal;
        match self {
            Error::Refused(Refusal::Overloaded { .. }) | Error::Draining => Some(1),
            Error::Budget(crate::budget::Denied::OverBudget {
                retry_after_secs, ..
            }) => Some(*retry_after_secs),
            Error::RateLimited(l) => Some(crate::ratelimit::retry_after_secs(l.retry_after)),
            _ => None,
        }
    }

    /// Whether retrying the same request can succeed (`x-should-retry`).
    pub fn should_retry(&self) -> bool {
        !matches!(
            self,
            Error::Budget(_)
                | Error::Refused(crate::admission::Refusal::Unauthorized)
                | Error::NotFound { .. }
                | Error::BadRequest(_)
                | Error::TooLarge { .. }
        )
    }
}
