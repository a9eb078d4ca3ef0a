//! The daemon's actors: thin shells over plain state structs.
//!
//! Message types are all in [`messages`]; each actor's `//!` header says
//! who sends it what. Mailboxes are bounded: the request path uses
//! `send().await` with a deadline where it must wait (admission,
//! compression, budget) and `try_send` plus a drop counter where it must not
//! (log, stats).

pub mod budget;
pub mod compression;
pub mod ingress;
pub mod log_writer;
pub mod messages;
pub mod stats;
