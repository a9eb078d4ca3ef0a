//! Shared test infrastructure: the mock upstream, the test daemon and a raw
//! HTTP client. Real sockets on loopback only.

#![allow(dead_code)]

pub mod daemon;
pub mod http;
pub mod mock;
