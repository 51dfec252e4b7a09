//! The per-connection publish rate limit.

// tokio's clock (the std one outside a runtime), so tests can run it paused.
use tokio::time::Instant;

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
    use std::time::Duration;

    /// Tokens come back at the rate, never beyond the burst (on tokio's paused clock).
    #[tokio::test(start_paused = true)]
    async fn tokens_come_back_at_the_rate_up_to_the_burst() {
        let mut b = TokenBucket::new(10, 2);
        assert!(b.take() && b.take() && !b.take());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.take(), "one token after a tenth of a second at 10/s");
        assert!(!b.take());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(b.take() && b.take(), "a long pause refills the burst");
        assert!(!b.take(), "and no more than the burst");
    }

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
