//! The per-connection publish rate limit.

use std::time::Instant;

/// Per-connection publish budget: `rate` tokens per second, at most `burst` saved up.
pub(super) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    pub(super) fn new(rate: u32, burst: u32) -> Self {
        TokenBucket {
            rate: rate as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            at: Instant::now(),
        }
    }

    /// Spend one token if there is one.
    pub(super) fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let mut b = TokenBucket::new(1, 3);
        assert!((0..3).all(|_| b.take()));
        assert!(
            !b.take(),
            "the fourth publish in the same instant exceeds the burst"
        );
    }
}
