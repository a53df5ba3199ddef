//! A token bucket that may go into debt: a request is admitted when the bucket is not in debt,
//! and then takes everything it costs, so a request larger than the burst still passes once
//! and the tenant waits until the debt is refilled. Time is passed in, never read here.

use std::time::{Duration, Instant};

/// One rate: `rate` units per second, holding at most `rate × burst` units.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    rate: f64,
    capacity: f64,
    /// Units available at `updated`; negative while in debt.
    level: f64,
    updated: Instant,
}

impl Bucket {
    /// A full bucket. `rate` > 0 and `burst` > 0 (config validation refuses a zero burst; a
    /// zero rate means "unlimited" and gets no bucket).
    pub fn new(rate: u64, burst: Duration, now: Instant) -> Bucket {
        let rate = rate as f64;
        let capacity = (rate * burst.as_secs_f64()).max(1.0);
        Bucket {
            rate,
            capacity,
            level: capacity,
            updated: now,
        }
    }

    /// Refill for the time since the last update (a clock going backwards refills nothing).
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + self.rate * elapsed).min(self.capacity);
        self.updated = self.updated.max(now);
    }

    /// `None` when a request may pass now; otherwise how long until the debt is paid.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        if self.level >= 0.0 {
            None
        } else {
            Some(Duration::from_secs_f64(-self.level / self.rate))
        }
    }

    /// Take `cost` units (call after [`Bucket::wait`] said yes); the level may go negative.
    pub fn take(&mut self, cost: u64) {
        self.level -= cost as f64;
    }

    /// Whether the bucket is full at `now`: it then behaves exactly as a new one, so it can be
    /// forgotten without changing any answer.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level + self.rate * elapsed >= self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_full_bucket_admits_a_request_larger_than_the_burst_then_waits_for_the_debt() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(100, SECOND, t0);
        assert_eq!(bucket.wait(t0), None);
        bucket.take(350);
        // 100 - 350 = -250 units at 100/s: 2.5 s.
        assert_eq!(bucket.wait(t0), Some(Duration::from_millis(2500)));
        assert_eq!(bucket.wait(t0 + SECOND), Some(Duration::from_millis(1500)));
        assert_eq!(bucket.wait(t0 + Duration::from_millis(2500)), None);
    }

    #[test]
    fn refill_is_continuous_and_stops_at_the_burst() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10, Duration::from_secs(2), t0);
        bucket.take(20);
        assert_eq!(bucket.wait(t0), None, "empty is not in debt");
        bucket.take(1);
        assert!(bucket.wait(t0).is_some());
        assert_eq!(bucket.wait(t0 + Duration::from_millis(200)), None);
        assert!(!bucket.is_full(t0 + Duration::from_secs(1)));
        assert!(bucket.is_full(t0 + Duration::from_secs(60)));
        // A long idle time refills only up to rate × burst = 20.
        assert_eq!(bucket.wait(t0 + Duration::from_secs(60)), None);
        bucket.take(21);
        assert_eq!(
            bucket.wait(t0 + Duration::from_secs(60)),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut bucket = Bucket::new(1, SECOND, t0);
        bucket.take(3);
        assert_eq!(
            bucket.wait(t0 - Duration::from_secs(5)),
            Some(Duration::from_secs(2))
        );
    }
}
