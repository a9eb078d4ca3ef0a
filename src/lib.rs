//! headroom: a local daemon (`headroomd`) that compresses LLM request
//! context between agents and providers, and its control client
//! (`headroomctl`).
//!
//! # Layout
//!
//! - [`server`]: assembly and lifecycle (`run`: actors, HTTP, control API,
//!   signals, drain).
//! - [`actors`]: the actors (ingress, compression pool, budget, log writer,
//!   stats) and, in [`actors::messages`], every message they exchange.
//! - [`http`]: the actix-web app: proxy handler, upstream client, response
//!   tap, error shapes, ops endpoints.
//! - [`control`]: the gRPC control API (tonic) and its client.
//! - [`pipeline`]: request-level compression policy (which blocks, splicing).
//! - [`compress`]: the pure compressors (router + one per content kind).
//! - [`config`]: flags, `headroom.toml`, env, validation, live snapshots.
//! - [`provider`]: providers, API formats and routing.
//! - [`admission`], [`budget`], [`stats`], [`request_log`]: plain state
//!   behind the actors; [`ratelimit`] (per-client rpm/tpm) and [`cache`]
//!   (response cache) are plain state used by the request path.
//! - [`corpus`]: the retention corpus reader used by tests and the report.

pub mod actors;
pub mod admission;
pub mod budget;
pub mod cache;
pub mod ccr;
pub mod compress;
pub mod config;
pub mod control;
pub mod corpus;
pub mod error;
pub mod http;
pub mod pipeline;
pub mod provider;
pub mod ratelimit;
pub mod request_log;
pub mod retrieve;
pub mod server;
pub mod sse;
pub mod stats;
pub mod trace;
