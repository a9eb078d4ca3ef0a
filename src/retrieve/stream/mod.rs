//! Streaming resolution: splice `headroom_retrieve` rounds into one client
//! stream.
//!
//! A [`Splicer`] sees the upstream's SSE events one at a time and returns
//! what the client gets *now*: text and other deltas pass straight through
//! (byte for byte while nothing needs renumbering); a retrieve call is held
//! back; the turn's end (stop reason, usage, `[DONE]`) is held until the
//! round is over. [`Splicer::finish_round`] then says whether the stream is
//! done, ended in a mixed turn, or must continue upstream with the model's
//! turn and the calls to answer. In a continuation round, the new stream's
//! preamble is dropped and its indices, ids and sequence numbers are
//! rewritten to continue the first, so the client sees one well-formed
//! stream with a single final stop whose usage covers every round.

mod anthropic;
mod chat;
mod gemini;
mod responses;

use bytes::Bytes;
use serde_json::Value;

use super::Call;
use crate::provider::ApiFormat;
use crate::sse::Event;

/// How a round ended.
#[derive(Debug)]
pub enum RoundEnd {
    /// Send these bytes and close the stream.
    Done(Vec<Bytes>),
    /// The model called retrieve and client tools: answer the retrieve
    /// calls, remember them for the next request (keys: client call ids and
    /// response id), send these bytes and close.
    Mixed {
        out: Vec<Bytes>,
        calls: Vec<Call>,
        items: Vec<Value>,
        keys: Vec<String>,
    },
    /// Only retrieve calls: answer them and continue upstream with the
    /// model's turn appended.
    Continue { turn: Vec<Value>, calls: Vec<Call> },
}

/// Per-format splicing state.
pub enum Splicer {
    Anthropic(anthropic::State),
    Chat(chat::State),
    Responses(responses::State),
    Gemini(gemini::State),
}

impl Splicer {
    pub fn new(format: ApiFormat) -> Splicer {
        match format {
            ApiFormat::AnthropicMessages => Splicer::Anthropic(anthropic::State::default()),
            ApiFormat::OpenAiChat => Splicer::Chat(chat::State::default()),
            ApiFormat::OpenAiResponses => Splicer::Responses(responses::State::default()),
            ApiFormat::GeminiGenerate => Splicer::Gemini(gemini::State::default()),
        }
    }

    /// One upstream event in; what the client gets now out.
    pub fn on_event(&mut self, ev: Event) -> Vec<Bytes> {
        match self {
            Splicer::Anthropic(s) => s.on_event(ev),
            Splicer::Chat(s) => s.on_event(ev),
            Splicer::Responses(s) => s.on_event(ev),
            Splicer::Gemini(s) => s.on_event(ev),
        }
    }

    /// The upstream stream of this round ended. `last` = no further round
    /// is allowed (remaining retrieve calls are dropped from the output).
    pub fn finish_round(&mut self, last: bool) -> RoundEnd {
        match self {
            Splicer::Anthropic(s) => s.finish_round(last),
            Splicer::Chat(s) => s.finish_round(last),
            Splicer::Responses(s) => s.finish_round(last),
            Splicer::Gemini(s) => s.finish_round(last),
        }
    }

    /// For a continued Responses stream: (id the client saw, upstream id).
    pub fn response_alias(&self) -> Option<(String, String)> {
        match self {
            Splicer::Responses(s) => s.alias.clone(),
            _ => None,
        }
    }

    /// Usage summed over the rounds finished so far (provider shape).
    pub fn usage(&self) -> Value {
        match self {
            Splicer::Anthropic(s) => s.usage_total.clone(),
            Splicer::Chat(s) => s.usage_total.clone(),
            Splicer::Responses(s) => s.usage_total.clone(),
            Splicer::Gemini(s) => s.usage_total.clone(),
        }
    }
}

/// Serialize a JSON payload back into an SSE event with the same name.
pub(crate) fn event_bytes(name: Option<&str>, data: &Value) -> Bytes {
    Event::new(name, data).raw
}

#[cfg(test)]
mod tests;
