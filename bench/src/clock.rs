//! The process clock: every send and receive instant is read from one monotonic origin, so
//! end-to-end latency is a difference of two readings of the same clock.

use std::sync::OnceLock;
use std::time::Instant;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Microseconds since the process clock's origin (the first call).
pub fn now_us() -> u64 {
    origin().elapsed().as_micros() as u64
}
