//! Where the ledger keeps what was settled: a sled tree (`budget`) under
//! the state dir, or nothing at all with `--stateless`.
//!
//! Called by [`super::ledger::Ledger`] on every settlement (an in-memory
//! sled insert); the budget actor calls [`LedgerStore::flush`] every
//! 100 ms when something changed and at shutdown, so a `kill -9` loses at
//! most the last 100 ms of settled spend while no request waits on a disk
//! sync. One key holds the three windows as JSON (a few hundred bytes to a
//! few KB with the per-model breakdown).

use super::ledger::Windows;

/// Why the ledger could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("budget store: {0}")]
    Sled(#[from] sled::Error),
    #[error("budget store: could not encode the ledger: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Persistence for the ledger's windows.
pub trait LedgerStore: Send {
    /// The windows last saved, if any (an unreadable record counts as none).
    fn load(&self) -> Option<Windows>;
    /// Record `windows` (durable after the next [`flush`](Self::flush)).
    fn save(&self, windows: &Windows) -> Result<(), StoreError>;
    /// Make what was saved durable.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// `--stateless`: nothing is kept; a restart starts from zero.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryLedgerStore;

impl LedgerStore for MemoryLedgerStore {
    fn load(&self) -> Option<Windows> {
        None
    }

    fn save(&self, _: &Windows) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The sled tree `budget`, key `windows`.
pub struct SledLedgerStore {
    tree: sled::Tree,
}

const KEY: &[u8] = b"windows";

impl SledLedgerStore {
    pub fn open(db: &sled::Db) -> Result<SledLedgerStore, StoreError> {
        Ok(SledLedgerStore {
            tree: db.open_tree("budget")?,
        })
    }
}

impl LedgerStore for SledLedgerStore {
    fn load(&self) -> Option<Windows> {
        let bytes = self.tree.get(KEY).ok()??;
        match serde_json::from_slice(&bytes) {
            Ok(w) => Some(w),
            Err(error) => {
                tracing::warn!(%error, "the saved budget ledger is unreadable; starting from zero");
                None
            }
        }
    }

    fn save(&self, windows: &Windows) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(windows)?;
        self.tree.insert(KEY, bytes)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.tree.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::budget::ledger::{Ledger, SystemClock};
    use crate::config::BudgetPeriod;

    fn scratch(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "headroom-budget-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn a_restart_remembers_what_was_settled() {
        let dir = scratch("restart");
        {
            let db = sled::open(&dir).unwrap();
            let mut l = Ledger::new(
                Some(1.0),
                BudgetPeriod::Daily,
                Arc::new(SystemClock),
                Box::new(SledLedgerStore::open(&db).unwrap()),
            );
            let a = l.reserve("claude-sonnet-4-5", 0.5).unwrap();
            l.settle(a, 0.25);
            l.flush(); // the budget actor's 100 ms tick
            let _lost = l.reserve("gpt-4o", 0.5).unwrap(); // in flight at the "crash"
                                                           // No clean shutdown: the db is dropped as is.
        }
        let db = sled::open(&dir).unwrap();
        let mut l = Ledger::new(
            Some(1.0),
            BudgetPeriod::Daily,
            Arc::new(SystemClock),
            Box::new(SledLedgerStore::open(&db).unwrap()),
        );
        assert!((l.spent() - 0.25).abs() < 1e-12);
        assert_eq!(l.open_reservations(), 0);
        let s = l.snapshot();
        assert_eq!(s.per_model, vec![("claude-sonnet-4-5".to_string(), 0.25)]);
        assert!(l.reserve("m", 0.75).is_ok());
        assert!(l.reserve("m", 0.01).is_err());
        drop(l);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memory_store_keeps_nothing() {
        let s = MemoryLedgerStore;
        assert!(s.load().is_none());
    }
}
