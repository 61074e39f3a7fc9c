//! The one clock: the time the engine writes into state, history, journal, leases and
//! events. Every "now" of the engine comes from here. Two readings of it:
//!
//! - [`now_rfc3339`] / [`now_unix`]: the system clock, for what is recorded (state,
//!   history, journal, lease renewals).
//! - [`run_now`]: the clock that measures runs and the watchdog's limits
//!   (`durationMs`, a dataset scheduled for too long): the system clock, or for tests
//!   the time in `DEPOT_TEST_NOW` (RFC 3339), so that a test can look 20 minutes ahead
//!   without waiting.

use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3339 time now, to the second (`2026-01-02T03:04:05Z`).
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// A time as RFC 3339, to the second.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Seconds since the Unix epoch now (0 before the epoch).
pub fn now_unix() -> i64 {
    unix_seconds(SystemTime::now())
}

/// Seconds since the Unix epoch of a time (0 before the epoch).
pub fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The clock of runs and of the watchdog: `DEPOT_TEST_NOW` when it is set and parses,
/// else the system clock.
pub fn run_now() -> SystemTime {
    std::env::var("DEPOT_TEST_NOW")
        .ok()
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .unwrap_or_else(SystemTime::now)
}

/// An RFC 3339 time as the state records it.
pub fn parse(at: Option<&str>) -> Option<SystemTime> {
    at.and_then(|t| humantime::parse_rfc3339_weak(t).ok())
}

/// Milliseconds from `started` to [`run_now`] (0 when the clock went back).
pub fn elapsed_ms(started: Option<SystemTime>) -> Option<u64> {
    let d = run_now().duration_since(started?).unwrap_or_default();
    Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_and_counts_from_the_epoch() {
        let at = UNIX_EPOCH + Duration::from_secs(1_767_323_045);
        assert_eq!(rfc3339(at), "2026-01-02T03:04:05Z");
        assert_eq!(unix_seconds(at), 1_767_323_045);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(1)), 0);
        let before = now_unix();
        let text = now_rfc3339();
        let parsed = humantime::parse_rfc3339(&text).expect("RFC 3339");
        assert!(unix_seconds(parsed) >= before, "{text} not before {before}");
    }
}
