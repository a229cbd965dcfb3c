//! Defences against compromised enclaves, applied per platform id in block validation
//! (DESIGN §4.5). A host that controls a simulated enclave can forge wins; these tests bound
//! how many it gets before its blocks are refused.
//!
//! - REM's **Poisson cap**: over a window of W blocks the fastest honest platform, holding a
//!   share f of the network's instruction rate, wins about Poisson(W·f) blocks; a platform with
//!   more wins than that distribution's 1 − α quantile is refused.
//! - PoET's **z-test**: with a population of P live platforms, each expected to win 1/P of the
//!   blocks, a platform with more than 3 wins whose z-score exceeds z_max = 3.075 is refused.
//!
//! Consensus code may not use libm (`exp`, `pow` differ between platforms), so the quantile is
//! computed with + − × ÷ and `sqrt` only, which IEEE 754 rounds identically everywhere.

use ankr_types::PouwParams;

/// The defence settings of a chain spec, as numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DefenceParams {
    /// Blocks over which wins are counted.
    pub window: u64,
    /// False-rejection level α of the Poisson cap for the fastest honest platform.
    pub poisson_alpha: f64,
    /// Share of the network's instruction rate the fastest honest platform may hold.
    pub fastest_honest_share: f64,
    /// PoET's z_max.
    pub z_max: f64,
    /// The z-test applies only above this many wins (PoET: 3).
    pub z_min_wins: u64,
}

impl DefenceParams {
    /// The settings of a chain spec (which stores them as integers).
    pub fn from_spec(params: &PouwParams) -> Self {
        Self {
            window: params.defence_window,
            poisson_alpha: params.poisson_alpha_ppb as f64 / 1e9,
            fastest_honest_share: params.fastest_honest_share_ppm as f64 / 1e6,
            z_max: params.z_max_milli as f64 / 1e3,
            z_min_wins: params.z_min_wins,
        }
    }
}

impl Default for DefenceParams {
    fn default() -> Self {
        Self::from_spec(&PouwParams::default())
    }
}

/// Why a platform's block was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefenceError {
    #[error(
        "platform won {wins} of the last {window} blocks, above the Poisson cap {cap} (possibly compromised enclave)"
    )]
    PoissonCap { wins: u64, window: u64, cap: u64 },
    #[error(
        "platform won {wins} of the last {blocks} blocks among {population} platforms: z = {z:.3} > {z_max} (possibly compromised enclave)"
    )]
    ZTest {
        wins: u64,
        blocks: u64,
        population: u64,
        z: f64,
        z_max: f64,
    },
}

/// e^(−x) for x ≥ 0 with basic operations only: Taylor series on x/2^k, squared k times.
fn exp_neg(x: f64) -> f64 {
    let mut k = 0;
    let mut y = x;
    while y > 0.125 {
        y /= 2.0;
        k += 1;
    }
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 1..=20 {
        term *= -y / f64::from(i);
        sum += term;
    }
    for _ in 0..k {
        sum *= sum;
    }
    sum
}

/// Smallest k with P(Poisson(λ) ≤ k) ≥ 1 − α.
pub fn poisson_quantile(lambda: f64, alpha: f64) -> u64 {
    let mut pmf = exp_neg(lambda);
    let mut cdf = pmf;
    let mut k = 0u64;
    while cdf < 1.0 - alpha && k < 1_000_000 {
        k += 1;
        pmf *= lambda / k as f64;
        cdf += pmf;
    }
    k
}

impl DefenceParams {
    /// The most wins an honest platform may have in a full window among `population` live
    /// platforms: the fastest holds the configured share, or 1/P if that is more (a lone
    /// platform honestly wins every block).
    pub fn poisson_cap(&self, population: u64) -> u64 {
        let share = self
            .fastest_honest_share
            .max(1.0 / population.max(1) as f64);
        poisson_quantile(self.window as f64 * share, self.poisson_alpha)
    }

    /// Checks a platform that has `wins` (counting the new block) in the last `blocks` blocks
    /// (at most the window) with `population` live platforms.
    pub fn check(&self, wins: u64, blocks: u64, population: u64) -> Result<(), DefenceError> {
        let cap = self.poisson_cap(population);
        if wins > cap {
            return Err(DefenceError::PoissonCap {
                wins,
                window: self.window,
                cap,
            });
        }
        if population > 1 && wins > self.z_min_wins {
            let z = z_score(wins, blocks, population);
            if z > self.z_max {
                return Err(DefenceError::ZTest {
                    wins,
                    blocks,
                    population,
                    z,
                    z_max: self.z_max,
                });
            }
        }
        Ok(())
    }
}

/// PoET's z-score of `wins` in `blocks` when each of `population` platforms should win 1/P.
pub fn z_score(wins: u64, blocks: u64, population: u64) -> f64 {
    let p = 1.0 / population as f64;
    let expected = blocks as f64 * p;
    let deviation = (expected * (1.0 - p)).sqrt();
    (wins as f64 - expected) / deviation
}

/// How often the defences refuse honest blocks, from [`simulate_honest`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FalseRejections {
    pub blocks: u64,
    pub poisson: u64,
    pub z_test: u64,
}

impl FalseRejections {
    /// Refused blocks per block checked.
    pub fn rate(&self) -> f64 {
        (self.poisson + self.z_test) as f64 / self.blocks.max(1) as f64
    }
}

/// Simulates `blocks` blocks won by honest platforms holding `shares` of the instruction rate
/// (the lottery makes each block's winner a draw by share) and counts how many the checks
/// would refuse, exactly as block validation applies them: wins in the window counting the
/// new block, all platforms live. Seeded, so a figure can be reproduced.
pub fn simulate_honest(
    params: &DefenceParams,
    shares: &[f64],
    blocks: u64,
    seed: u64,
) -> FalseRejections {
    let total: f64 = shares.iter().sum();
    let mut state = seed.max(1);
    let mut recent = std::collections::VecDeque::new();
    let mut result = FalseRejections::default();
    for n in 1..=blocks {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut point = (state >> 11) as f64 / (1u64 << 53) as f64 * total;
        let winner = shares
            .iter()
            .position(|share| {
                point -= share;
                point < 0.0
            })
            .unwrap_or(shares.len() - 1);
        let wins = recent.iter().filter(|&&w| w == winner).count() as u64 + 1;
        let in_window = n.min(params.window);
        match params.check(wins, in_window, shares.len() as u64) {
            Ok(()) => {}
            Err(DefenceError::PoissonCap { .. }) => result.poisson += 1,
            Err(DefenceError::ZTest { .. }) => result.z_test += 1,
        }
        result.blocks += 1;
        recent.push_back(winner);
        if recent.len() as u64 >= params.window {
            recent.pop_front();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_closely() {
        for x in [0.0, 0.1, 1.0, 5.0, 50.0, 200.0] {
            let rel = (exp_neg(x) / (-x).exp() - 1.0).abs();
            assert!(rel < 1e-9, "x={x}: {rel}");
        }
    }

    #[test]
    fn poisson_quantiles_are_right() {
        // P(Poisson(1) ≤ 3) = 0.981, ≤ 4 = 0.9963.
        assert_eq!(poisson_quantile(1.0, 0.01), 4);
        assert_eq!(poisson_quantile(1.0, 0.05), 3);
        assert!(DefenceParams::default().poisson_cap(5) > 50);
    }

    #[test]
    fn a_lone_platform_may_win_every_block_but_one_of_two_may_not() {
        let params = DefenceParams::default();
        assert!(params.check(100, 100, 1).is_ok());
        assert!(params.poisson_cap(1) >= params.window);
        assert!(matches!(
            params.check(100, 100, 2),
            Err(DefenceError::PoissonCap { .. })
        ));
    }

    #[test]
    fn honest_platforms_are_rarely_refused() {
        let params = DefenceParams::default();
        for shares in [vec![0.2; 5], vec![0.5, 0.5], vec![0.4, 0.3, 0.2, 0.1]] {
            let r = simulate_honest(&params, &shares, 200_000, 42);
            println!("shares {shares:?}: {r:?}, rate {:.2e}", r.rate());
            // The Poisson cap is set at α = 1e-6 for the fastest honest share (0.5).
            assert!(r.poisson as f64 / (r.blocks as f64) < 1e-4, "{r:?}");
        }
        let equal = simulate_honest(&params, &[0.2; 5], 200_000, 42);
        assert!(equal.rate() < 0.01, "{equal:?}");
    }

    #[test]
    fn a_fair_share_passes_and_five_times_it_does_not() {
        let params = DefenceParams::default();
        // Ten platforms, 100 blocks: a fair share is 10 wins.
        assert!(params.check(10, 100, 10).is_ok());
        assert!(params.check(16, 100, 10).is_ok());
        assert!(matches!(
            params.check(50, 100, 10),
            Err(DefenceError::ZTest { .. })
        ));
    }
}
