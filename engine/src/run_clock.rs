//! The clock of runs and of the watchdog: the system clock, or for tests the time in
//! `DEPOT_TEST_NOW` (RFC 3339), so that a test can look 20 minutes ahead without waiting.

use std::time::SystemTime;

/// Now: `DEPOT_TEST_NOW` when it is set and parses, else the system clock.
pub fn now() -> SystemTime {
    std::env::var("DEPOT_TEST_NOW")
        .ok()
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .unwrap_or_else(SystemTime::now)
}

/// An RFC 3339 time as the state records it.
pub fn parse(at: Option<&str>) -> Option<SystemTime> {
    at.and_then(|t| humantime::parse_rfc3339_weak(t).ok())
}

/// Milliseconds from `started` to now (0 when the clock went back).
pub fn elapsed_ms(started: Option<SystemTime>) -> Option<u64> {
    let d = now().duration_since(started?).unwrap_or_default();
    Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
