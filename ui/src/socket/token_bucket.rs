//! The pace at which a socket sends publishes: a token bucket (the rate limiter's tokens,
//! not the region token of [`crate::token`]).
//!
//! It holds at most one second's worth of sends and refills continuously, so a burst starts
//! at full speed and then goes out at `rate` per second, under the server's own limit.
//!
//! Pure (the caller passes the time, ms on any clock), so it is unit-tested natively.

/// Sends allowed now, refilled at `rate` per second up to `rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    /// When `tokens` was last refilled, ms.
    at: f64,
}

impl TokenBucket {
    /// A full bucket for `rate` sends per second, as of `now` (ms).
    pub fn full(rate: f64, now: f64) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: rate,
            at: now,
        }
    }

    /// Add what the time since the last refill earned, up to a full bucket.
    pub fn refill(&mut self, now: f64) {
        self.tokens = (self.tokens + (now - self.at) / 1000.0 * self.rate).min(self.rate);
        self.at = now;
    }

    /// True when one more send is allowed now.
    pub fn ready(&self) -> bool {
        self.tokens >= 1.0
    }

    /// One send went out.
    pub fn spend(&mut self) {
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    /// Sends allowed now, spending them.
    fn drain(b: &mut TokenBucket) -> u32 {
        let mut n = 0;
        while b.ready() {
            b.spend();
            n += 1;
        }
        n
    }

    #[test]
    fn a_burst_gets_one_seconds_worth_then_the_rate() {
        let mut b = TokenBucket::full(800.0, 0.0);
        assert_eq!(drain(&mut b), 800);
        b.refill(10.9);
        assert_eq!(drain(&mut b), 8, "10.9 ms at 800/s: 8.72 sends");
        b.refill(11.3);
        assert_eq!(drain(&mut b), 1, "the fraction left carries over");
        // A long pause fills the bucket, no more.
        b.refill(60_000.0);
        assert_eq!(drain(&mut b), 800);
    }
}
