//! The spend ledger: a cap per window, reservations before forwarding,
//! settlement on actual cost, persistence of what was settled.
//!
//! Owned by `actors::budget::BudgetActor` (one owner, so every call is
//! atomic with respect to the others). Money is counted in integer
//! nano-dollars, so "spent ≤ cap" is exact, not subject to float drift.
//!
//! # Windows
//!
//! The ledger keeps all three windows at once and the cap applies to the
//! configured one, so switching `--budget-period` live shows real figures:
//!
//! - hourly: a rolling hour, opened by the first activity after the
//!   previous hour ran out, and lasting 60 minutes;
//! - daily: local midnight to local midnight;
//! - monthly: the 1st of the month, local midnight, to the next 1st.
//!
//! # Admission
//!
//! `reserve(estimate)` admits only if `spent + reserved + estimate ≤ cap`
//! in the active window; `settle` replaces the reservation by the actual
//! cost (which is charged even when it exceeds the estimate: the money is
//! spent), `release` gives it back. A reservation settled after its window
//! rolled over is charged to the new window, where the money lands.
//!
//! # Persistence
//!
//! Every settlement (and `reset`) is written through the [`LedgerStore`]
//! before the call returns (the sled store flushes), so a `kill -9` loses
//! nothing settled. Reservations are kept in memory only: after a restart
//! the requests that held them are gone (their connections died with the
//! daemon), so counting them would block the budget for nothing. The cap
//! and period come from the config at start (a live `set_cap` lasts until
//! the restart, like `headroomctl mode`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Local, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::store::{LedgerStore, MemoryLedgerStore};
use crate::config::BudgetPeriod;

/// Nano-dollars per dollar.
pub const NANOS_PER_USD: f64 = 1e9;

/// Models listed individually per window; the rest add up under
/// [`OTHER_MODELS`] (a client inventing model names cannot grow the ledger).
pub const MAX_MODELS: usize = 64;
pub const OTHER_MODELS: &str = "(other)";

/// Dollars to nano-dollars, rounded up (never under-count); NaN and
/// negative amounts count as zero.
pub fn usd_to_nanos(usd: f64) -> u64 {
    if usd.is_nan() || usd <= 0.0 {
        return 0;
    }
    let x = usd * NANOS_PER_USD;
    // `0.045 * 1e9` is 45000000.000000007: a product within float noise
    // of a whole number is that number, anything else rounds up.
    let near = x.round();
    let n = if (x - near).abs() < 1e-6 {
        near
    } else {
        x.ceil()
    };
    n.min(u64::MAX as f64) as u64
}

pub fn nanos_to_usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// The time source; tests inject one they can move.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A reservation handed out by [`Ledger::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservationId(pub u64);

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Denied {
    #[error(
        "headroomd's own spend cap is reached (this is not your provider's limit): \
         spent ${spent:.4} of ${cap:.4} this {period}, ${reserved:.4} more reserved by requests in flight; \
         resets in {retry_after_secs} s (raise it with `headroomctl budget set` or --budget)"
    )]
    OverBudget {
        spent: f64,
        /// Held by requests in flight.
        reserved: f64,
        cap: f64,
        /// `hour`, `day` or `month`.
        period: &'static str,
        /// Whole seconds until the window resets (at least 1).
        retry_after_secs: u64,
    },
}

/// One accounting window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub spent_nanos: u64,
    pub per_model: BTreeMap<String, u64>,
}

impl Window {
    fn open(period: BudgetPeriod, now: DateTime<Utc>) -> Window {
        let (start, end) = bounds(period, now);
        Window {
            start,
            end,
            spent_nanos: 0,
            per_model: BTreeMap::new(),
        }
    }

    fn charge(&mut self, model: &str, nanos: u64) {
        self.spent_nanos = self.spent_nanos.saturating_add(nanos);
        let key = if self.per_model.contains_key(model) || self.per_model.len() < MAX_MODELS {
            model
        } else {
            OTHER_MODELS
        };
        let slot = self.per_model.entry(key.to_string()).or_insert(0);
        *slot = slot.saturating_add(nanos);
    }
}

/// The three windows, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Windows {
    pub hourly: Window,
    pub daily: Window,
    pub monthly: Window,
}

impl Windows {
    fn open(now: DateTime<Utc>) -> Windows {
        Windows {
            hourly: Window::open(BudgetPeriod::Hourly, now),
            daily: Window::open(BudgetPeriod::Daily, now),
            monthly: Window::open(BudgetPeriod::Monthly, now),
        }
    }

    fn get(&self, period: BudgetPeriod) -> &Window {
        match period {
            BudgetPeriod::Hourly => &self.hourly,
            BudgetPeriod::Daily => &self.daily,
            BudgetPeriod::Monthly => &self.monthly,
        }
    }

    /// Open a new window where the current one ran out; true if any did.
    fn roll(&mut self, now: DateTime<Utc>) -> bool {
        let mut rolled = false;
        for (period, w) in [
            (BudgetPeriod::Hourly, &mut self.hourly),
            (BudgetPeriod::Daily, &mut self.daily),
            (BudgetPeriod::Monthly, &mut self.monthly),
        ] {
            if now >= w.end {
                *w = Window::open(period, now);
                rolled = true;
            }
        }
        rolled
    }

    fn charge(&mut self, model: &str, nanos: u64) {
        self.hourly.charge(model, nanos);
        self.daily.charge(model, nanos);
        self.monthly.charge(model, nanos);
    }
}

/// `period`'s window containing `now`.
pub fn bounds(period: BudgetPeriod, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    match period {
        BudgetPeriod::Hourly => (now, now + Duration::hours(1)),
        BudgetPeriod::Daily => {
            let day = now.with_timezone(&Local).date_naive();
            let next = day.succ_opt().unwrap_or(day);
            (local_midnight(day), local_midnight(next))
        }
        BudgetPeriod::Monthly => {
            let d = now.with_timezone(&Local).date_naive();
            let first = d.with_day(1).unwrap_or(d);
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .unwrap_or(first);
            (local_midnight(first), local_midnight(next))
        }
    }
}

/// The instant local `day` begins (midnight, or the first valid local time
/// where a DST change skips midnight).
fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    (0..3)
        .find_map(|h| {
            let t = NaiveTime::from_hms_opt(h, 0, 0)?;
            Local.from_local_datetime(&day.and_time(t)).earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)),
            |t| t.with_timezone(&Utc),
        )
}

/// The noun used in messages.
pub fn period_noun(period: BudgetPeriod) -> &'static str {
    match period {
        BudgetPeriod::Hourly => "hour",
        BudgetPeriod::Daily => "day",
        BudgetPeriod::Monthly => "month",
    }
}

/// What `headroomctl budget` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSnapshot {
    pub cap_usd: Option<f64>,
    pub period: BudgetPeriod,
    pub spent_usd: f64,
    pub reserved_usd: f64,
    pub open_reservations: usize,
    pub window_start: DateTime<Utc>,
    /// When the active window resets.
    pub resets_at: DateTime<Utc>,
    /// Spend per model in the active window, largest first.
    pub per_model: Vec<(String, f64)>,
}

struct Reservation {
    nanos: u64,
    model: String,
}

/// Spend ledger (see module docs).
pub struct Ledger {
    cap: Option<u64>,
    period: BudgetPeriod,
    windows: Windows,
    open: HashMap<u64, Reservation>,
    reserved: u64,
    next: u64,
    clock: Arc<dyn Clock>,
    store: Box<dyn LedgerStore>,
    /// Saved but not flushed yet.
    dirty: bool,
}

impl Default for Ledger {
    /// No cap, daily, system clock, nothing persisted.
    fn default() -> Ledger {
        Ledger::new(
            None,
            BudgetPeriod::Daily,
            Arc::new(SystemClock),
            Box::new(MemoryLedgerStore),
        )
    }
}

impl Ledger {
    /// A ledger with what `store` remembers (windows that ran out while
    /// the daemon was down start afresh).
    pub fn new(
        cap_usd: Option<f64>,
        period: BudgetPeriod,
        clock: Arc<dyn Clock>,
        store: Box<dyn LedgerStore>,
    ) -> Ledger {
        let now = clock.now();
        let mut windows = store.load().unwrap_or_else(|| Windows::open(now));
        windows.roll(now);
        Ledger {
            cap: cap_usd.map(usd_to_nanos),
            period,
            windows,
            open: HashMap::new(),
            reserved: 0,
            next: 0,
            clock,
            store,
            dirty: false,
        }
    }

    fn active(&self) -> &Window {
        self.windows.get(self.period)
    }

    fn roll(&mut self) -> DateTime<Utc> {
        let now = self.clock.now();
        self.windows.roll(now);
        now
    }

    /// Hold `estimate_usd` for a request to `model`, if it fits under the cap.
    pub fn reserve(&mut self, model: &str, estimate_usd: f64) -> Result<ReservationId, Denied> {
        let now = self.roll();
        let nanos = usd_to_nanos(estimate_usd);
        if let Some(cap) = self.cap {
            let spent = self.active().spent_nanos;
            let want = spent.saturating_add(self.reserved).saturating_add(nanos);
            if want > cap {
                let left = (self.active().end - now).num_milliseconds().max(0) as u64;
                return Err(Denied::OverBudget {
                    spent: nanos_to_usd(spent),
                    reserved: nanos_to_usd(self.reserved),
                    cap: nanos_to_usd(cap),
                    period: period_noun(self.period),
                    retry_after_secs: left.div_ceil(1000).max(1),
                });
            }
        }
        self.next += 1;
        self.reserved += nanos;
        self.open.insert(
            self.next,
            Reservation {
                nanos,
                model: model.to_string(),
            },
        );
        Ok(ReservationId(self.next))
    }

    /// Replace reservation `id` by the actual cost. An unknown id (already
    /// settled or released) is ignored, so a double settle never charges
    /// twice.
    pub fn settle(&mut self, id: ReservationId, actual_usd: f64) {
        let Some(r) = self.take(id) else { return };
        self.charge(&r.model, actual_usd);
    }

    /// Give reservation `id` back (the request cost nothing).
    pub fn release(&mut self, id: ReservationId) {
        self.take(id);
    }

    /// Record spend that had no reservation (e.g. a route that was not
    /// reserved for); persisted like a settlement.
    pub fn charge(&mut self, model: &str, usd: f64) {
        self.roll();
        self.windows.charge(model, usd_to_nanos(usd));
        self.persist();
    }

    fn take(&mut self, id: ReservationId) -> Option<Reservation> {
        let r = self.open.remove(&id.0)?;
        self.reserved = self.reserved.saturating_sub(r.nanos);
        Some(r)
    }

    fn persist(&mut self) {
        self.dirty = true;
    }

    /// Save and make durable what changed since the last flush (the budget
    /// actor calls this every 100 ms and at shutdown, so no request pays
    /// for encoding or syncing the ledger).
    pub fn flush(&mut self) {
        if std::mem::take(&mut self.dirty) {
            let saved = self
                .store
                .save(&self.windows)
                .and_then(|()| self.store.flush());
            if let Err(error) = saved {
                tracing::warn!(%error, "could not save the budget ledger");
                self.dirty = true;
            }
        }
    }

    /// Change the cap (`None`: no cap). Open reservations stay.
    pub fn set_cap(&mut self, cap_usd: Option<f64>) {
        self.cap = cap_usd.map(usd_to_nanos);
    }

    /// Apply the cap to another window (all three are always counted).
    pub fn set_period(&mut self, period: BudgetPeriod) {
        self.period = period;
    }

    /// Forget what was spent: every window starts afresh now. Open
    /// reservations stay (their requests are still running).
    pub fn reset(&mut self) {
        self.windows = Windows::open(self.clock.now());
        self.persist();
    }

    pub fn cap(&self) -> Option<f64> {
        self.cap.map(nanos_to_usd)
    }

    pub fn period(&self) -> BudgetPeriod {
        self.period
    }

    /// Settled spend in the active window.
    pub fn spent(&mut self) -> f64 {
        self.roll();
        nanos_to_usd(self.active().spent_nanos)
    }

    pub fn reserved(&self) -> f64 {
        nanos_to_usd(self.reserved)
    }

    pub fn open_reservations(&self) -> usize {
        self.open.len()
    }

    /// The figures `headroomctl budget` shows.
    pub fn snapshot(&mut self) -> BudgetSnapshot {
        self.roll();
        let w = self.active();
        let mut per_model: Vec<(String, f64)> = w
            .per_model
            .iter()
            .map(|(m, n)| (m.clone(), nanos_to_usd(*n)))
            .collect();
        per_model.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        BudgetSnapshot {
            cap_usd: self.cap(),
            period: self.period,
            spent_usd: nanos_to_usd(w.spent_nanos),
            reserved_usd: self.reserved(),
            open_reservations: self.open.len(),
            window_start: w.start,
            resets_at: w.end,
            per_model,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// A clock the test moves.
    #[derive(Clone)]
    struct TestClock(Arc<Mutex<DateTime<Utc>>>);

    impl TestClock {
        fn at(t: DateTime<Utc>) -> TestClock {
            TestClock(Arc::new(Mutex::new(t)))
        }
        fn set(&self, t: DateTime<Utc>) {
            *self.0.lock() = t;
        }
        fn advance(&self, secs: i64) {
            *self.0.lock() += Duration::seconds(secs);
        }
    }

    impl Clock for TestClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock()
        }
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Local
            .with_ymd_and_hms(y, m, d, h, min, s)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ledger(cap: f64, period: BudgetPeriod, clock: &TestClock) -> Ledger {
        Ledger::new(
            Some(cap),
            period,
            Arc::new(clock.clone()),
            Box::new(MemoryLedgerStore),
        )
    }

    fn retry_after(r: Result<ReservationId, Denied>) -> u64 {
        match r {
            Err(Denied::OverBudget {
                retry_after_secs, ..
            }) => retry_after_secs,
            Ok(_) => panic!("admitted"),
        }
    }

    #[test]
    fn admits_exactly_up_to_the_cap() {
        let clock = TestClock::at(local(2026, 6, 10, 12, 0, 0));
        let mut l = ledger(0.45, BudgetPeriod::Daily, &clock);
        // 0.45 / 0.045 = 10 reservations fit exactly; float 0.1 + 0.2
        // style drift cannot let an 11th in or keep the 10th out.
        let ids: Vec<_> = (0..10).map(|_| l.reserve("m", 0.045).unwrap()).collect();
        assert!(l.reserve("m", 0.045).is_err());
        assert!(l.reserve("m", 1e-9).is_err());
        assert_eq!(l.open_reservations(), 10);
        for id in &ids {
            l.settle(*id, 0.045);
        }
        assert!((l.spent() - 0.45).abs() < 1e-12);
        assert_eq!(l.reserved(), 0.0);
        assert!(l.reserve("m", 1e-9).is_err());
    }

    #[test]
    fn release_and_settle_free_the_reservation() {
        let clock = TestClock::at(local(2026, 6, 10, 12, 0, 0));
        let mut l = ledger(1.0, BudgetPeriod::Daily, &clock);
        let a = l.reserve("m", 0.6).unwrap();
        assert!(l.reserve("m", 0.6).is_err());
        l.release(a);
        let b = l.reserve("m", 0.6).unwrap();
        l.settle(b, 0.1);
        l.settle(b, 0.1); // double settle is ignored
        assert!((l.spent() - 0.1).abs() < 1e-12);
        assert!(l.reserve("m", 0.9).is_ok());
        assert!(l.reserve("m", 0.01).is_err());
    }

    #[test]
    fn actual_above_estimate_is_charged() {
        let clock = TestClock::at(local(2026, 6, 10, 12, 0, 0));
        let mut l = ledger(1.0, BudgetPeriod::Daily, &clock);
        let a = l.reserve("m", 0.1).unwrap();
        l.settle(a, 1.5);
        assert!((l.spent() - 1.5).abs() < 1e-12);
        let denied = l.reserve("m", 0.0);
        assert!(
            matches!(denied, Err(Denied::OverBudget { spent, .. }) if (spent - 1.5).abs() < 1e-12)
        );
    }

    #[test]
    fn hourly_window_rolls_an_hour_after_it_opened() {
        let t0 = local(2026, 6, 10, 12, 20, 0);
        let clock = TestClock::at(t0);
        let mut l = ledger(1.0, BudgetPeriod::Hourly, &clock);
        let a = l.reserve("m", 1.0).unwrap();
        l.settle(a, 1.0);
        clock.advance(30 * 60);
        assert_eq!(retry_after(l.reserve("m", 0.5)), 30 * 60);
        clock.advance(30 * 60 - 1);
        assert_eq!(retry_after(l.reserve("m", 0.5)), 1);
        clock.advance(1);
        let b = l.reserve("m", 0.5).expect("new hour");
        let s = l.snapshot();
        assert_eq!(s.window_start, t0 + Duration::hours(1));
        assert_eq!(s.resets_at, t0 + Duration::hours(2));
        l.settle(b, 0.5);
        assert!((l.spent() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn daily_window_rolls_at_local_midnight() {
        let clock = TestClock::at(local(2026, 6, 10, 23, 59, 0));
        let mut l = ledger(1.0, BudgetPeriod::Daily, &clock);
        let a = l.reserve("m", 1.0).unwrap();
        l.settle(a, 1.0);
        assert_eq!(retry_after(l.reserve("m", 0.1)), 60);
        clock.set(local(2026, 6, 10, 23, 59, 59) + Duration::milliseconds(500));
        assert_eq!(retry_after(l.reserve("m", 0.1)), 1);
        clock.set(local(2026, 6, 11, 0, 0, 0));
        assert!(l.reserve("m", 0.1).is_ok());
        assert_eq!(l.spent(), 0.0);
        assert_eq!(l.snapshot().resets_at, local(2026, 6, 12, 0, 0, 0));
    }

    #[test]
    fn monthly_window_rolls_on_the_first() {
        let clock = TestClock::at(local(2026, 12, 15, 9, 0, 0));
        let mut l = ledger(2.0, BudgetPeriod::Monthly, &clock);
        let a = l.reserve("m", 2.0).unwrap();
        l.settle(a, 2.0);
        clock.set(local(2026, 12, 31, 23, 0, 0));
        assert_eq!(retry_after(l.reserve("m", 0.1)), 3600);
        clock.set(local(2027, 1, 1, 0, 0, 1));
        assert!(l.reserve("m", 0.1).is_ok());
        let s = l.snapshot();
        assert_eq!(s.window_start, local(2027, 1, 1, 0, 0, 0));
        assert_eq!(s.resets_at, local(2027, 2, 1, 0, 0, 0));
    }

    #[test]
    fn all_windows_count_so_the_period_can_change_live() {
        let clock = TestClock::at(local(2026, 6, 10, 10, 0, 0));
        let mut l = ledger(10.0, BudgetPeriod::Hourly, &clock);
        l.charge("a", 1.0);
        clock.advance(2 * 3600);
        l.charge("b", 2.0);
        assert!((l.spent() - 2.0).abs() < 1e-12);
        l.set_period(BudgetPeriod::Daily);
        assert!((l.spent() - 3.0).abs() < 1e-12);
        l.set_period(BudgetPeriod::Monthly);
        let s = l.snapshot();
        assert_eq!(s.per_model, vec![("b".into(), 2.0), ("a".into(), 1.0)]);
        l.set_cap(Some(3.0));
        assert!(l.reserve("m", 0.01).is_err());
        l.set_cap(None);
        assert!(l.reserve("m", 100.0).is_ok());
        l.reset();
        assert_eq!(l.spent(), 0.0);
        assert!((l.reserved() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn per_model_breakdown_is_bounded() {
        let clock = TestClock::at(local(2026, 6, 10, 10, 0, 0));
        let mut l = ledger(1e6, BudgetPeriod::Daily, &clock);
        for i in 0..(MAX_MODELS + 10) {
            l.charge(&format!("model-{i}"), 0.001);
        }
        let s = l.snapshot();
        assert_eq!(s.per_model.len(), MAX_MODELS + 1);
        let other = s.per_model.iter().find(|(m, _)| m == OTHER_MODELS).unwrap();
        assert!((other.1 - 0.010).abs() < 1e-12);
    }

    #[test]
    fn denial_says_whose_limit_it_is() {
        let clock = TestClock::at(local(2026, 6, 10, 12, 0, 0));
        let mut l = ledger(0.01, BudgetPeriod::Daily, &clock);
        let e = l.reserve("m", 0.02).unwrap_err().to_string();
        assert!(e.contains("headroomd"), "{e}");
        assert!(e.contains("not your provider's limit"), "{e}");
        assert!(e.contains("this day"), "{e}");
    }

    proptest::proptest! {
        /// Interleaved reservations, settlements (actual ≤ estimate) and
        /// releases in any order: committed money never passes the cap.
        #[test]
        fn committed_spend_never_exceeds_the_cap(
            cap_cents in 1u64..500,
            ops in proptest::collection::vec((0u8..3, 1u64..100, 0u64..=100), 1..300),
        ) {
            let clock = TestClock::at(local(2026, 6, 10, 12, 0, 0));
            let cap = cap_cents as f64 / 100.0;
            let mut l = ledger(cap, BudgetPeriod::Daily, &clock);
            let mut open: Vec<(ReservationId, f64)> = Vec::new();
            for (op, amount, pick) in ops {
                match op {
                    0 => {
                        let est = amount as f64 / 1000.0;
                        if let Ok(id) = l.reserve("m", est) {
                            open.push((id, est));
                        }
                    }
                    _ if open.is_empty() => {}
                    1 => {
                        let (id, est) = open.remove(pick as usize % open.len());
                        l.settle(id, est * (pick as f64 / 100.0));
                    }
                    _ => {
                        let (id, _) = open.remove(pick as usize % open.len());
                        l.release(id);
                    }
                }
                let committed = l.spent() + l.reserved();
                proptest::prop_assert!(committed <= cap + 1e-9, "{committed} > {cap}");
            }
        }
    }

    #[test]
    fn nanos_round_up() {
        assert_eq!(usd_to_nanos(1e-10), 1);
        assert_eq!(usd_to_nanos(0.0), 0);
        assert_eq!(usd_to_nanos(-1.0), 0);
        assert_eq!(usd_to_nanos(f64::NAN), 0);
        assert_eq!(usd_to_nanos(0.45), 450_000_000);
    }
}
