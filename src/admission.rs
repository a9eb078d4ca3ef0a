//! Admission of proxy requests: the inbound token and the concurrency cap.
//!
//! A lock-free gate shared by every HTTP worker thread: the count of
//! requests in flight is one atomic, incremented only below the cap (a
//! compare-and-swap loop), so the cap is exact across threads without a
//! message round trip per request. A [`Permit`] gives the slot back when it
//! is dropped — at the end of the response stream, including streams cut
//! by the client. `IngressActor` reads the counters for status.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::Config;

/// Why a request was refused at the door.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing or wrong headroomd proxy token: send it in the `x-headroom-token` header (HEADROOM_PROXY_TOKEN is set on this daemon)")]
    Unauthorized,
    #[error("headroomd is at its concurrency limit ({limit} requests in flight; --limit-concurrency); retry shortly")]
    Overloaded { limit: usize },
}

/// In-flight accounting.
#[derive(Debug, Default)]
pub struct Gate {
    in_flight: AtomicUsize,
    admitted: AtomicU64,
    refused: AtomicU64,
}

/// An admission slot; dropping it ends the request's admission.
#[derive(Debug)]
pub struct Permit(Option<Arc<Gate>>);

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Gate {
    /// Decide on one request. `token` is the `x-headroom-token` header (or
    /// a `Bearer` proxy-authorization) the client sent, if any.
    pub fn admit(
        self: &Arc<Gate>,
        config: &Config,
        token: Option<&str>,
    ) -> Result<Permit, Refusal> {
        if let Some(expected) = config.proxy_token.as_deref() {
            if !token.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::Unauthorized);
            }
        }
        let limit = config.limit_concurrency;
        let mut current = self.in_flight.load(Ordering::Acquire);
        loop {
            if current >= limit {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::Overloaded { limit });
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        self.admitted.fetch_add(1, Ordering::Relaxed);
        Ok(Permit(Some(self.clone())))
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{build, CommandLine, Env, RawFile};

    struct NoEnv(Option<&'static str>);
    impl Env for NoEnv {
        fn var(&self, k: &str) -> Option<String> {
            (k == "HEADROOM_PROXY_TOKEN")
                .then(|| self.0.map(str::to_string))
                .flatten()
        }
    }

    fn config(args: &[&str], token: Option<&'static str>) -> Config {
        let mut argv = vec!["headroomd"];
        argv.extend_from_slice(args);
        build(
            &CommandLine::parse(argv).unwrap(),
            &RawFile::default(),
            None,
            &NoEnv(token),
        )
        .unwrap()
    }

    #[test]
    fn token_is_required_when_set() {
        let c = config(&[], Some("tok"));
        let g = Arc::new(Gate::default());
        assert_eq!(g.admit(&c, None).unwrap_err(), Refusal::Unauthorized);
        assert_eq!(
            g.admit(&c, Some("tok2")).unwrap_err(),
            Refusal::Unauthorized
        );
        let p = g.admit(&c, Some("tok")).unwrap();
        assert_eq!(g.in_flight(), 1);
        drop(p);
        assert_eq!(g.in_flight(), 0);
    }

    #[test]
    fn concurrency_cap_is_exact_across_threads() {
        let c = Arc::new(config(&["--limit-concurrency", "7"], None));
        let g = Arc::new(Gate::default());
        let held: Vec<_> = (0..8)
            .map(|_| {
                let (g, c) = (g.clone(), c.clone());
                std::thread::spawn(move || {
                    (0..50)
                        .filter_map(|_| g.admit(&c, None).ok())
                        .collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(held.len(), 7, "exactly the cap is admitted");
        assert_eq!(g.in_flight(), 7);
        assert_eq!(g.admitted(), 7);
        assert_eq!(g.refused(), 8 * 50 - 7);
        drop(held);
        assert_eq!(g.in_flight(), 0);
        assert!(g.admit(&c, None).is_ok());
    }
}
