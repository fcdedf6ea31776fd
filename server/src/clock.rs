//! Berth's one source of time: every "now" and every wait on the server goes through a [`Clock`] (clippy's
//! `disallowed-methods` refuses `Utc::now` and `tokio::time::sleep` elsewhere).
//!
//! One clock is made at start-up and handed to everything that reads the time, so a test can move it forward
//! (a grant's end, a lapse, a lease) instead of waiting or writing past times into the database behind
//! Berth's back.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The wall clock, possibly moved ahead (tests). Copies share the same offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// How far ahead of the system clock this clock runs, in milliseconds.
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch (sessions and sign-ins count in these).
    pub fn unix_seconds(&self) -> i64 {
        self.now().timestamp()
    }

    /// Waits `duration` (real time: moving the clock ahead does not cut a wait short).
    pub async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    /// Moves this clock, and every copy of it, `by` ahead: for tests, where a day must pass at once.
    pub fn advance(&self, by: TimeDelta) {
        self.ahead_ms.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_moves_every_copy_and_not_the_system_clock() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(TimeDelta::days(3));
        let ahead = copy.now() - before;
        assert!(ahead >= TimeDelta::days(3) && ahead < TimeDelta::days(3) + TimeDelta::minutes(1), "{ahead}");
        assert!(Clock::system().now() < copy.now() - TimeDelta::days(2));
    }
}
