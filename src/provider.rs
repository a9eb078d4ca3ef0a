//! Providers, their API formats, and routing of a request path to one.
//!
//! Routing is by path, as the clients address us: Anthropic clients post to
//! `/v1/messages...`, OpenAI clients to `/v1/chat/completions`,
//! `/v1/responses`, `/v1/models`...; Gemini clients to `/v1beta/...`. Any
//! other `/v1/*` path goes to the OpenAI upstream unless the request carries
//! Anthropic headers (`anthropic-version` or `x-api-key`).

use std::fmt;

/// An upstream provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Anthropic,
    OpenAi,
    Gemini,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Anthropic, Provider::OpenAi, Provider::Gemini];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request body format of a compressible endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiFormat {
    /// `POST /v1/messages` (Anthropic Messages).
    AnthropicMessages,
    /// `POST /v1/chat/completions`.
    OpenAiChat,
    /// `POST /v1/responses`.
    OpenAiResponses,
    /// `POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent`.
    GeminiGenerate,
}

impl ApiFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFormat::AnthropicMessages => "anthropic_messages",
            ApiFormat::OpenAiChat => "openai_chat",
            ApiFormat::OpenAiResponses => "openai_responses",
            ApiFormat::GeminiGenerate => "gemini_generate",
        }
    }
}

/// Where a request goes and what its body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub provider: Provider,
    /// `Some` for the endpoints whose bodies we compress.
    pub format: Option<ApiFormat>,
}

/// Route `method path` (path without query). `anthropic_headers` is true
/// when the request carries `anthropic-version` or `x-api-key`.
pub fn route(method: &str, path: &str, anthropic_headers: bool) -> Option<Route> {
    let post = method.eq_ignore_ascii_case("POST");
    if let Some(rest) = path.strip_prefix("/v1beta/") {
        let format = (post
            && rest.starts_with("models/")
            && (rest.ends_with(":generateContent") || rest.ends_with(":streamGenerateContent")))
        .then_some(ApiFormat::GeminiGenerate);
        return Some(Route {
            provider: Provider::Gemini,
            format,
        });
    }
    if path == "/v1/messages" {
        return Some(Route {
            provider: Provider::Anthropic,
            format: post.then_some(ApiFormat::AnthropicMessages),
        });
    }
    if path.starts_with("/v1/messages/") || path.starts_with("/v1/complete") {
        return Some(Route {
            provider: Provider::Anthropic,
            format: None,
        });
    }
    if path == "/v1/chat/completions" {
        return Some(Route {
            provider: Provider::OpenAi,
            format: post.then_some(ApiFormat::OpenAiChat),
        });
    }
    if path == "/v1/responses" {
        return Some(Route {
            provider: Provider::OpenAi,
            format: post.then_some(ApiFormat::OpenAiResponses),
        });
    }
    if path.starts_with("/v1/") || path == "/v1" {
        let provider = if anthropic_headers {
            Provider::Anthropic
        } else {
            Provider::OpenAi
        };
        return Some(Route {
            provider,
            format: None,
        });
    }
    None
}

/// True when `path` is a streaming Gemini call (`:streamGenerateContent`).
pub fn gemini_streams(path: &str) -> bool {
    path.ends_with(":streamGenerateContent")
}

/// The model named in a Gemini path (`/v1beta/models/{model}:method`).
pub fn gemini_model(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1beta/models/")?;
    Some(rest.split(':').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_path() {
        let r = route("POST", "/v1/messages", false).unwrap();
        assert_eq!(
            (r.provider, r.format),
            (Provider::Anthropic, Some(ApiFormat::AnthropicMessages))
        );
        let r = route("POST", "/v1/messages/count_tokens", false).unwrap();
        assert_eq!((r.provider, r.format), (Provider::Anthropic, None));
        let r = route("POST", "/v1/messages/batches", false).unwrap();
        assert_eq!(r.provider, Provider::Anthropic);
        let r = route("POST", "/v1/chat/completions", false).unwrap();
        assert_eq!(r.format, Some(ApiFormat::OpenAiChat));
        let r = route("POST", "/v1/responses", false).unwrap();
        assert_eq!(r.format, Some(ApiFormat::OpenAiResponses));
        let r = route("GET", "/v1/models", false).unwrap();
        assert_eq!((r.provider, r.format), (Provider::OpenAi, None));
        let r = route("GET", "/v1/models", true).unwrap();
        assert_eq!(r.provider, Provider::Anthropic);
        let r = route(
            "POST",
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
            false,
        )
        .unwrap();
        assert_eq!(
            (r.provider, r.format),
            (Provider::Gemini, Some(ApiFormat::GeminiGenerate))
        );
        assert_eq!(
            gemini_model("/v1beta/models/gemini-2.5-pro:generateContent"),
            Some("gemini-2.5-pro")
        );
        assert!(route("GET", "/health", false).is_none());
    }
}
