//! Reconnection delays: exponential, capped, with jitter. Pure: the random
//! draw comes in as an argument.

use std::time::Duration;

/// Reconnection settings, with socket.io-client's defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Backoff {
    /// The first delay. Default 1 s.
    pub min: Duration,
    /// The largest delay. Default 5 s.
    pub max: Duration,
    /// How much each attempt multiplies the delay. Default 2.
    pub factor: f64,
    /// How far a delay may stray, as a share of it (0 to 1). Default 0.5.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(5),
            factor: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0-based), given `rand` drawn
    /// uniformly from [0, 1): `min * factor^attempt`, moved up or down by
    /// up to `jitter` of itself, capped at `max`. As socket.io-client's
    /// backoff, so both sides of a fleet spread their retries alike.
    pub fn delay(&self, attempt: u32, rand: f64) -> Duration {
        let rand = rand.clamp(0.0, 1.0);
        let base = self.min.as_secs_f64() * self.factor.powi(attempt.min(64) as i32);
        let deviation = (rand * self.jitter.clamp(0.0, 1.0) * base).floor();
        // The same draw decides the direction, as in the official client.
        let ms = if ((rand * 10.0).floor() as u64) & 1 == 0 {
            base - deviation
        } else {
            base + deviation
        };
        // Cap before converting: a large attempt count (or a factor that
        // overflows) must give `max`, not a panic.
        let capped = if ms.is_finite() {
            ms.clamp(0.0, self.max.as_secs_f64())
        } else {
            self.max.as_secs_f64()
        };
        Duration::from_secs_f64(capped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters_within_bounds() {
        let b = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        let delays: Vec<u64> = (0..5).map(|a| b.delay(a, 0.3).as_millis() as u64).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
        let b = Backoff::default();
        for attempt in 0..6 {
            let base = (1000.0 * 2f64.powi(attempt as i32)).min(5000.0);
            for i in 0..100 {
                let d = b.delay(attempt, i as f64 / 100.0).as_millis() as f64;
                assert!(
                    d >= base * 0.5 - 1.0 && d <= 5000.0,
                    "attempt {attempt} draw {i}: {d}"
                );
            }
        }
        // Huge attempt counts stay capped, never overflow.
        assert_eq!(b.delay(u32::MAX, 0.9), Duration::from_secs(5));
    }
}
