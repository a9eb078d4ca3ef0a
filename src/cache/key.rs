//! The response-cache key: SHA-256 of a canonical form of the request, so
//! two requests that mean the same thing hit the same entry.
//!
//! Called by the proxy handler before forwarding (on the client's original
//! body, before compression: compression is a deterministic function of the
//! body and the mode, and the mode is part of the key).
//!
//! # What is in the key
//!
//! The API format, the model named in the path (Gemini), the streaming
//! endpoint flag, the compression mode, a partition chosen by the caller
//! (e.g. a hash of the client's credential, so two clients never share an
//! answer) and the whole body in canonical JSON: keys sorted, no
//! whitespace, strings re-escaped one way, `1.0` written `1`. So model,
//! system, tools, messages / input / contents, every sampling parameter,
//! `stream` and `stream_options` count. Left out, anywhere in the body:
//! `cache_control` (a prompt-cache hint, not content); at the top level:
//! `metadata`, `user`, `safety_identifier`, `prompt_cache_key`,
//! `prompt_cache_retention` (who is asking or how the provider caches, not
//! what the answer is).
//!
//! # What is cacheable
//!
//! A JSON object body, unless it asks for variety or for deferred work:
//! `temperature` set above 0 (the client wants a different answer each
//! time: a regenerate must regenerate; also Gemini's
//! `generationConfig.temperature`), or Responses' `background: true`. An unset
//! temperature is cacheable (as the reference caches by default): the
//! same conversation asked again, typically a retry, gets the same answer.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::provider::ApiFormat;

/// Top-level body keys left out of the key.
pub const IGNORED_TOP_LEVEL: &[&str] = &[
    "metadata",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
];

/// Key left out at every depth.
pub const IGNORED_ANYWHERE: &str = "cache_control";

/// A cache key.
pub type Key = [u8; 32];

/// What the key depends on besides the body.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    pub format: ApiFormat,
    /// The model named in the path (Gemini), if any.
    pub path_model: Option<&'a str>,
    /// The endpoint streams (Gemini `:streamGenerateContent`).
    pub stream_endpoint: bool,
    /// The compression mode (`token`, `cache`, or `off` for
    /// `--no-optimize`).
    pub mode: &'a str,
    /// Separates clients (e.g. a hash of the credential); may be empty.
    pub partition: &'a [u8],
}

/// Bodies larger than this are not cached: keying them (a full parse and
/// a canonical re-encoding on the request path) costs more than the rare
/// hit of an identical multi-megabyte request saves.
pub const MAX_KEYED_BODY: usize = 1 << 20;

/// The key of `body` in `ctx`, or `None` when the request is not cacheable
/// (module docs).
pub fn key(ctx: &KeyContext<'_>, body: &[u8]) -> Option<Key> {
    if body.len() > MAX_KEYED_BODY {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    if !cacheable(obj) {
        return None;
    }
    let mut h = Sha256::new();
    h.update(b"headroom-cache-v1");
    for part in [
        ctx.format.as_str().as_bytes(),
        ctx.path_model.unwrap_or("").as_bytes(),
        if ctx.stream_endpoint { b"stream" } else { b"" },
        ctx.mode.as_bytes(),
        ctx.partition,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let mut canon = Vec::with_capacity(body.len());
    write_object(&mut canon, obj, true);
    h.update(&canon);
    Some(h.finalize().into())
}

fn cacheable(obj: &serde_json::Map<String, Value>) -> bool {
    let temperature = obj
        .get("temperature")
        .or_else(|| {
            obj.get("generationConfig")
                .and_then(|g| g.get("temperature"))
        })
        .and_then(Value::as_f64);
    if temperature.is_some_and(|t| t > 0.0) {
        return false;
    }
    obj.get("background").and_then(Value::as_bool) != Some(true)
}

fn write_object(out: &mut Vec<u8>, obj: &serde_json::Map<String, Value>, top: bool) {
    let mut keys: Vec<&String> = obj
        .keys()
        .filter(|k| *k != IGNORED_ANYWHERE && !(top && IGNORED_TOP_LEVEL.contains(&k.as_str())))
        .collect();
    keys.sort();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, k);
        out.push(b':');
        write_value(out, &obj[k]);
    }
    out.push(b'}');
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    // serde_json writes a given string one way only; a `&str` always
    // serialises.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(s.as_bytes());
    }
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                out.extend_from_slice((f as i64).to_string().as_bytes())
            }
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(o) => write_object(out, o, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> KeyContext<'static> {
        KeyContext {
            format: ApiFormat::AnthropicMessages,
            path_model: None,
            stream_endpoint: false,
            mode: "token",
            partition: b"client-a",
        }
    }

    fn k(body: &str) -> Option<Key> {
        key(&ctx(), body.as_bytes())
    }

    #[test]
    fn order_whitespace_escapes_and_numbers_do_not_matter() {
        let a = k(
            r#"{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hé"}],"top_p":1.0}"#,
        );
        let b = k(
            r#"{ "messages" : [ { "content":"h\u00e9", "role":"user" } ],
                      "top_p": 1, "max_tokens":100, "model":"m" }"#,
        );
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn cache_control_and_identity_fields_are_ignored() {
        let a = k(
            r#"{"model":"m","system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[]}"#,
        );
        let b = k(
            r#"{"model":"m","system":[{"type":"text","text":"S"}],"messages":[],"metadata":{"user_id":"u1"}}"#,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn content_and_parameters_matter() {
        let base = k(r#"{"model":"m","messages":[{"role":"user","content":"a"}]}"#);
        for other in [
            r#"{"model":"m2","messages":[{"role":"user","content":"a"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"b"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":5}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"stream":true}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"tools":[]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"stop":["x"]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"temperature":0}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a"}],"system":"s"}"#,
        ] {
            assert_ne!(base, k(other), "{other}");
        }
        // A nested `metadata` is content, not identity.
        assert_ne!(
            k(r#"{"model":"m","tools":[{"metadata":1}]}"#),
            k(r#"{"model":"m","tools":[{}]}"#)
        );
    }

    #[test]
    fn context_matters() {
        let body = br#"{"contents":[]}"#;
        let base = key(&ctx(), body);
        let variants = [
            KeyContext {
                mode: "cache",
                ..ctx()
            },
            KeyContext {
                partition: b"client-b",
                ..ctx()
            },
            KeyContext {
                format: ApiFormat::GeminiGenerate,
                ..ctx()
            },
            KeyContext {
                path_model: Some("gemini-2.5-pro"),
                ..ctx()
            },
            KeyContext {
                stream_endpoint: true,
                ..ctx()
            },
        ];
        for v in variants {
            assert_ne!(base, key(&v, body), "{v:?}");
        }
    }

    #[test]
    fn variety_and_background_are_not_cacheable() {
        assert!(k(r#"{"model":"m","temperature":0.7}"#).is_none());
        assert!(k(r#"{"contents":[],"generationConfig":{"temperature":1}}"#).is_none());
        assert!(k(r#"{"model":"m","background":true}"#).is_none());
        assert!(k(r#"{"model":"m","temperature":0.0}"#).is_some());
        assert!(k(r#"{"model":"m"}"#).is_some());
        assert!(k("[1,2]").is_none());
        assert!(k("not json").is_none());
    }
}
