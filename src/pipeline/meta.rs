//! Cheap facts about a request body that the proxy needs even when nothing
//! is compressed: the model and whether the client asked for a stream.

use serde::Deserialize;

use crate::provider::ApiFormat;

/// Model and stream flag of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub model: Option<String>,
    pub stream: bool,
    /// The body parsed as a JSON object.
    pub json: bool,
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    stream: Option<serde_json::Value>,
}

impl RequestMeta {
    /// Parse `body` for `format` (any JSON body works; Gemini puts the
    /// model in the path and streams by endpoint, which the caller knows).
    pub fn parse(_format: ApiFormat, body: &[u8]) -> RequestMeta {
        match serde_json::from_slice::<Top<'_>>(body) {
            Ok(top) => RequestMeta {
                model: top.model.map(|m| m.into_owned()),
                stream: matches!(top.stream, Some(serde_json::Value::Bool(true))),
                json: true,
            },
            Err(_) => RequestMeta::default(),
        }
    }

    /// Like [`parse`](Self::parse) for bodies of routes we do not compress.
    pub fn parse_any(body: &[u8]) -> RequestMeta {
        Self::parse(ApiFormat::OpenAiChat, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_and_stream() {
        let m = RequestMeta::parse_any(br#"{"model":"claude-x","stream":true,"messages":[]}"#);
        assert_eq!(m.model.as_deref(), Some("claude-x"));
        assert!(m.stream && m.json);
        let m = RequestMeta::parse_any(br#"{"model":"a\"b"}"#);
        assert_eq!(m.model.as_deref(), Some("a\"b"));
        assert!(!m.stream);
        assert!(!RequestMeta::parse_any(b"not json").json);
    }
}
