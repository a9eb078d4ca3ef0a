//! The per-request JSONL log (`--log-file`): the record, the writer and
//! secret redaction for `--log-messages`.
//!
//! Records are produced on the request path and handed to
//! `actors::log_writer::LogWriter` with `try_send` (never blocking a
//! request); the writer batches them and flushes on a timer and at drain.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

/// One line of the request log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestRecord {
    /// RFC 3339 UTC time the request arrived.
    pub timestamp: String,
    pub request_id: String,
    pub provider: Option<&'static str>,
    pub model: Option<String>,
    pub path: String,
    pub status: u16,
    pub stream: bool,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub latency_ms: f64,
    pub overhead_ms: f64,
    pub upstream_ms: f64,
    pub error: Option<String>,
    pub retries: u32,
    pub compressed: bool,
    pub fail_open: bool,
    /// Provider cost in USD from the reported usage (0 when not billed).
    pub cost_usd: f64,
    /// The cost used a fallback price or an estimate of the usage.
    pub cost_estimated: bool,
    /// Input tokens the provider reported (cache reads and writes included).
    pub usage_input_tokens: Option<u64>,
    pub usage_output_tokens: Option<u64>,
    /// `hit` or `miss` when the response cache was consulted.
    pub cache: Option<&'static str>,
    /// `headroom_retrieve` rounds headroomd answered for this request.
    pub retrieve_rounds: u32,
    /// Compression per content kind: blocks, tokens before/after, time.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub compression: std::collections::BTreeMap<&'static str, crate::stats::KindStats>,
    /// Request messages, redacted; only with `--log-messages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Box<serde_json::value::RawValue>>,
}

/// Append-only JSONL file.
pub struct JsonlWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonlWriter {
    /// Open (create or append) `path`, creating parent directories.
    pub fn open(path: &Path) -> std::io::Result<JsonlWriter> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonlWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(64 * 1024, file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, record: &RequestRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn secret_patterns() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Provider keys (sk-…, sk-ant-…, sk-proj-…, AIza…), bearer tokens,
        // GitHub/Slack/AWS-style tokens and `api_key=`/`"x-api-key": "…"` pairs.
        Regex::new(concat!(
            r#"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"#,
            r#"|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"#,
            r#"|AIza[0-9A-Za-z_-]{30,}"#,
            r#"|gh[pousr]_[A-Za-z0-9]{30,}"#,
            r#"|xox[abpr]-[A-Za-z0-9-]{10,}"#,
            r#"|AKIA[0-9A-Z]{16}"#,
            r#"|((?:api[_-]?key|x-api-key|access[_-]?token|secret|password)\\?"?\s*[:=]\s*\\?"?)[^"\s,}\\]{6,}"#,
        ))
        .expect("static redaction regex compiles")
    })
}

/// Replace API keys and bearer tokens in `text` with `[REDACTED]`.
pub fn redact(text: &str) -> String {
    secret_patterns()
        .replace_all(text, |c: &regex::Captures<'_>| {
            let keep = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
            format!("{keep}[REDACTED]")
        })
        .into_owned()
}

/// The redacted `messages` (or `contents`/`input`) of a request body, for
/// `--log-messages`. `None` when the body is not JSON or has none.
pub fn redacted_messages(body: &[u8]) -> Option<Box<serde_json::value::RawValue>> {
    #[derive(serde::Deserialize)]
    struct Parts<'a> {
        #[serde(borrow)]
        system: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        messages: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        contents: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        input: Option<&'a serde_json::value::RawValue>,
    }
    let parts: Parts<'_> = serde_json::from_slice(body).ok()?;
    let raw = parts.messages.or(parts.contents).or(parts.input)?;
    let text = match parts.system {
        Some(sys) => format!("{{\"system\":{},\"messages\":{}}}", sys.get(), raw.get()),
        None => raw.get().to_string(),
    };
    serde_json::value::RawValue::from_string(redact(&text)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys_and_tokens() {
        let t = r#"{"content":"use sk-ant-api03-abcdefghijklmnopqrstuvwxyz and Bearer abc.def-ghi_12345 then api_key=hunter2hunter2 ok"}"#;
        let r = redact(t);
        assert!(!r.contains("abcdefghijklmnop"), "{r}");
        assert!(!r.contains("abc.def-ghi_12345"), "{r}");
        assert!(!r.contains("hunter2hunter2"), "{r}");
        assert!(r.contains("Bearer [REDACTED]"), "{r}");
        assert!(r.contains(" ok"), "{r}");
        assert!(serde_json::from_str::<serde_json::Value>(&r).is_ok(), "{r}");
    }

    #[test]
    fn messages_are_extracted_and_redacted() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"key sk-proj-ABCDEFGHIJKLMNOPQRSTUV"}]}"#;
        let m = redacted_messages(body).unwrap();
        assert!(m.get().starts_with("[{"));
        assert!(!m.get().contains("ABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn writer_appends_lines() {
        let dir = std::env::temp_dir().join(format!("hr-log-{}", std::process::id()));
        let path = dir.join("sub/requests.jsonl");
        let mut w = JsonlWriter::open(&path).unwrap();
        w.write(&RequestRecord {
            request_id: "a".into(),
            ..Default::default()
        })
        .unwrap();
        w.write(&RequestRecord {
            request_id: "b".into(),
            ..Default::default()
        })
        .unwrap();
        w.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["request_id"], "a");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
