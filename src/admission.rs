//! Admission of proxy requests: the inbound token and the concurrency cap.
//!
//! Plain logic owned by `actors::ingress::IngressActor`; the actor answers
//! `Admit` and counts `Release`s, so the count is exact across all HTTP
//! worker threads.

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
pub struct Admission {
    in_flight: usize,
    admitted: u64,
    refused: u64,
}

impl Admission {
    /// Decide on one request. `token` is the `x-headroom-token` header (or
    /// a `Bearer` proxy-authorization) the client sent, if any.
    pub fn admit(&mut self, config: &Config, token: Option<&str>) -> Result<(), Refusal> {
        if let Some(expected) = config.proxy_token.as_deref() {
            if !token.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
                self.refused += 1;
                return Err(Refusal::Unauthorized);
            }
        }
        if self.in_flight >= config.limit_concurrency {
            self.refused += 1;
            return Err(Refusal::Overloaded {
                limit: config.limit_concurrency,
            });
        }
        self.in_flight += 1;
        self.admitted += 1;
        Ok(())
    }

    /// A request admitted earlier finished (its response ended or was dropped).
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn admitted(&self) -> u64 {
        self.admitted
    }

    pub fn refused(&self) -> u64 {
        self.refused
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
        let mut a = Admission::default();
        assert_eq!(a.admit(&c, None), Err(Refusal::Unauthorized));
        assert_eq!(a.admit(&c, Some("tok2")), Err(Refusal::Unauthorized));
        assert_eq!(a.admit(&c, Some("tok")), Ok(()));
        assert_eq!(a.in_flight(), 1);
    }

    #[test]
    fn concurrency_cap_and_release() {
        let c = config(&["--limit-concurrency", "2"], None);
        let mut a = Admission::default();
        assert!(a.admit(&c, None).is_ok());
        assert!(a.admit(&c, None).is_ok());
        assert_eq!(a.admit(&c, None), Err(Refusal::Overloaded { limit: 2 }));
        a.release();
        assert!(a.admit(&c, None).is_ok());
        assert_eq!((a.admitted(), a.refused()), (3, 1));
    }
}
