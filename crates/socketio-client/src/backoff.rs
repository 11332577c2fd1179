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
    /// uniformly from [0, 1), in whole milliseconds as socket.io-client
    /// reckons it, so both sides of a fleet spread their retries alike:
    ///
    /// - the base is `min * factor^attempt`, in milliseconds;
    /// - it strays by `floor(rand * jitter * base)` milliseconds, up or
    ///   down: the same draw picks the direction (down when its first
    ///   decimal digit is even), so a delay lies in
    ///   `[base * (1 - jitter), base * (1 + jitter)]`;
    /// - the result is truncated to a whole millisecond and capped at `max`.
    pub fn delay(&self, attempt: u32, rand: f64) -> Duration {
        let rand = if rand.is_nan() {
            0.0
        } else {
            rand.clamp(0.0, 1.0)
        };
        // NaN or negative: no jitter.
        let jitter = if self.jitter > 0.0 {
            self.jitter.min(1.0)
        } else {
            0.0
        };
        let max_ms = self.max.as_nanos() as f64 / 1e6;
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let base = self.min.as_nanos() as f64 / 1e6 * self.factor.powi(exponent);
        // A large attempt count (or a factor that overflows) gives `max`,
        // not a panic or a NaN.
        if !base.is_finite() {
            return self.max;
        }
        let deviation = (rand * jitter * base).floor();
        let ms = if ((rand * 10.0).floor() as u64) & 1 == 0 {
            base - deviation
        } else {
            base + deviation
        };
        let ms = ms.trunc().max(0.0);
        if ms >= max_ms {
            self.max
        } else {
            // Whole and below `max` (a cast past u64 saturates).
            Duration::from_millis(ms as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap()
    }

    #[test]
    fn without_jitter_delays_double_up_to_the_cap() {
        let b = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        for rand in [0.0, 0.3, 0.999] {
            let delays: Vec<u64> = (0..5).map(|a| ms(b.delay(a, rand))).collect();
            assert_eq!(delays, [1000, 2000, 4000, 5000, 5000], "draw {rand}");
        }
    }

    /// The draw sets both the size of the deviation (in milliseconds, not
    /// rounded to seconds) and its direction.
    #[test]
    fn a_draw_moves_the_delay_by_whole_milliseconds_either_way() {
        let b = Backoff::default(); // 1 s, doubling, jitter 0.5, max 5 s
        for (attempt, rand, want) in [
            // First digit even: down by floor(rand * 0.5 * base).
            (0, 0.0, 1000),
            (0, 0.05, 975),
            (0, 0.25, 875),
            (0, 0.85, 575),
            (1, 0.0123, 1988),
            (2, 0.65, 2700),
            // First digit odd: up.
            (0, 0.15, 1075),
            (0, 0.999, 1499),
            (1, 0.1234, 2123),
            (2, 0.15, 4300),
            // Up past the cap: the cap.
            (2, 0.55, 5000),
            // Down from a base past the cap: below it.
            (3, 0.05, 5000),
            (3, 0.85, 4600),
        ] {
            assert_eq!(
                ms(b.delay(attempt, rand)),
                want,
                "attempt {attempt} draw {rand}"
            );
        }
    }

    /// Over draws spread evenly across [0, 1): every delay within the
    /// jitter's bounds and the cap, about half below the base and half above,
    /// and spread over many distinct milliseconds.
    #[test]
    fn jitter_spreads_delays_both_ways_within_bounds() {
        const DRAWS: u32 = 10_000;
        let b = Backoff::default();
        for attempt in 0..6 {
            let base = 1000.0 * 2f64.powi(attempt as i32);
            let (low, high) = ((base * 0.5).min(5000.0), (base * 1.5).min(5000.0));
            let delays: Vec<u64> = (0..DRAWS)
                .map(|i| ms(b.delay(attempt, (f64::from(i) + 0.5) / f64::from(DRAWS))))
                .collect();
            for &d in &delays {
                assert!(
                    (low..=high).contains(&(d as f64)),
                    "attempt {attempt}: {d} ms outside [{low}, {high}]"
                );
            }
            if base >= 5000.0 {
                // Past the cap only the bounds are left to check.
                continue;
            }
            let below = delays.iter().filter(|&&d| (d as f64) < base).count();
            let above = delays.iter().filter(|&&d| (d as f64) > base).count();
            assert!(
                (4000..=6000).contains(&below) && (4000..=6000).contains(&above),
                "attempt {attempt}: of {DRAWS}, {below} below the base, {above} above"
            );
            let mut distinct = delays.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(
                distinct.len() > 400,
                "attempt {attempt}: only {} distinct delays",
                distinct.len()
            );
            // Below the cap, a whole second only from a draw that moves the
            // delay by less than a millisecond (or by a whole second).
            let whole_seconds = delays
                .iter()
                .filter(|&&d| d < 5000 && d % 1000 == 0)
                .count();
            assert!(
                whole_seconds < 100,
                "attempt {attempt}: {whole_seconds} whole seconds"
            );
        }
    }

    #[test]
    fn the_cap_holds_for_any_attempt_and_draw() {
        let b = Backoff::default();
        for attempt in [2, 3, 10, 64, 1000, u32::MAX] {
            for i in 0..1000 {
                let d = b.delay(attempt, f64::from(i) / 1000.0);
                assert!(d <= b.max, "attempt {attempt} draw {i}: {d:?}");
            }
        }
        // An overflowing base gives the cap, never a panic or zero.
        assert_eq!(b.delay(u32::MAX, 0.9), Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX, 0.05), Duration::from_secs(5));
        assert_eq!(b.delay(5000, f64::NAN), Duration::from_secs(5));
    }
}
