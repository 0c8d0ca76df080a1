//! The backoff schedule as a pure function, so it is the same in the supervisor, the CLI and tests.
//!
//! Defaults follow what users of PM2, systemd and Kubernetes ask for: double from 1 s up to 30 s, with
//! ±10 % jitter so a stack of services does not retry in lock-step, reset after 60 s healthy, and give
//! up (and say why) after 8 attempts instead of retrying blindly forever.

use serde::{Deserialize, Serialize};

/// How retries are spaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackoffPolicy {
    /// Delay before the first retry.
    pub base_ms: u64,
    /// Multiplier per attempt (≥ 1).
    pub factor: f64,
    /// Longest delay.
    pub cap_ms: u64,
    /// Random spread as a fraction of the delay (0 = none, 0.1 = ±10 %).
    pub jitter: f64,
    /// A service up this long before failing starts counting from zero again.
    pub reset_after_healthy_secs: u64,
    /// Attempts before giving up (0 = never give up).
    pub max_attempts: u32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base_ms: 1000,
            factor: 2.0,
            cap_ms: 30_000,
            jitter: 0.1,
            reset_after_healthy_secs: 60,
            max_attempts: 8,
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay; `attempt` counts from 1.
    RetryAfter {
        /// Which attempt this will be.
        attempt: u32,
        /// How long to wait first.
        delay_ms: u64,
    },
    /// Stop: the attempts are used up.
    GiveUp {
        /// How many were made.
        attempts: u32,
    },
}

impl BackoffPolicy {
    /// Problems with the policy, each naming its field.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            p.push(format!("factor: {} must be at least 1", self.factor));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            p.push(format!("jitter: {} must be between 0 and 1", self.jitter));
        }
        if self.cap_ms < self.base_ms {
            p.push(format!(
                "cap_ms: {} is below base_ms {}",
                self.cap_ms, self.base_ms
            ));
        }
        p
    }

    /// Delay before retry number `attempt` (1-based). `jitter_unit` is a random number in [0, 1)
    /// supplied by the caller (the engine has no randomness of its own); 0.5 means no jitter.
    pub fn delay_ms(&self, attempt: u32, jitter_unit: f64) -> u64 {
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let exp = attempt.saturating_sub(1).min(64) as i32;
        let raw = (self.base_ms as f64) * factor.powi(exp);
        let capped = raw.min(self.cap_ms as f64);
        let j = self.jitter.clamp(0.0, 1.0);
        let spread = 1.0 + j * (2.0 * jitter_unit.clamp(0.0, 1.0) - 1.0);
        (capped * spread).min(self.cap_ms as f64).max(0.0).round() as u64
    }
}

/// Attempts made so far for one service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryState {
    /// Failures counted since the last reset.
    pub attempts: u32,
}

impl RetryState {
    /// Records a failure after `healthy_secs` of uptime and decides what comes next.
    pub fn on_failure(
        &mut self,
        policy: &BackoffPolicy,
        healthy_secs: u64,
        jitter_unit: f64,
    ) -> RetryDecision {
        if healthy_secs >= policy.reset_after_healthy_secs {
            self.attempts = 0;
        }
        if policy.max_attempts != 0 && self.attempts >= policy.max_attempts {
            return RetryDecision::GiveUp {
                attempts: self.attempts,
            };
        }
        self.attempts += 1;
        RetryDecision::RetryAfter {
            attempt: self.attempts,
            delay_ms: policy.delay_ms(self.attempts, jitter_unit),
        }
    }

    /// Forgets past failures (after a manual start, say).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let p = BackoffPolicy::default();
        let d: Vec<u64> = (1..=7).map(|a| p.delay_ms(a, 0.5)).collect();
        assert_eq!(d, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
        assert_eq!(p.delay_ms(u32::MAX, 0.5), 30_000);
    }

    #[test]
    fn jitter_stays_in_its_band_and_under_the_cap() {
        let p = BackoffPolicy::default();
        assert_eq!(p.delay_ms(1, 0.0), 900);
        assert_eq!(p.delay_ms(1, 1.0), 1100);
        assert_eq!(p.delay_ms(10, 1.0), 30_000);
    }

    #[test]
    fn gives_up_then_resets_after_a_healthy_period() {
        let p = BackoffPolicy {
            max_attempts: 3,
            ..BackoffPolicy::default()
        };
        let mut s = RetryState::default();
        for a in 1..=3 {
            assert!(
                matches!(s.on_failure(&p, 0, 0.5), RetryDecision::RetryAfter { attempt, .. } if attempt == a)
            );
        }
        assert_eq!(
            s.on_failure(&p, 5, 0.5),
            RetryDecision::GiveUp { attempts: 3 }
        );
        assert_eq!(
            s.on_failure(&p, 61, 0.5),
            RetryDecision::RetryAfter {
                attempt: 1,
                delay_ms: 1000
            }
        );
    }

    #[test]
    fn unlimited_when_zero() {
        let p = BackoffPolicy {
            max_attempts: 0,
            ..BackoffPolicy::default()
        };
        let mut s = RetryState::default();
        for _ in 0..100 {
            assert!(matches!(
                s.on_failure(&p, 0, 0.5),
                RetryDecision::RetryAfter { .. }
            ));
        }
        assert!(p.validate().is_empty());
        assert_eq!(
            BackoffPolicy {
                factor: 0.5,
                jitter: 2.0,
                cap_ms: 1,
                ..p
            }
            .validate()
            .len(),
            3
        );
    }
}
