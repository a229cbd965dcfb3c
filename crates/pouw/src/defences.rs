//! Defences against compromised enclaves, applied per platform in block validation
//! (DESIGN §4.5). A host that controls a simulated enclave can sign any report it likes; these
//! rules bound what that buys it to what an honest platform at the fastest plausible rate
//! would win, and they never stop an honest chain.
//!
//! **Rate cap** (REM's approach: judge a platform by what its claimed work rate could
//! physically be). A platform running at the chain's `max_platform_rate` R tickets per second
//! wins block i, of difficulty Dᵢ and interval Δtᵢ, with expectation R·Δtᵢ/Dᵢ; over the last W
//! blocks (the new one included) it expects λ = Σ R·Δtᵢ/Dᵢ wins, Poisson distributed. A
//! platform with more wins than that distribution's 1 − α quantile is refused.
//!
//! - The population plays no part: idle or Sybil registrations change nothing, and unequal
//!   honest miners are judged each by the same physical ceiling, not by equal shares.
//! - The new block's own interval is in λ, so a refused platform's cap rises as time passes:
//!   waiting always makes a block acceptable, and a chain can never reach a state where no
//!   sealer is acceptable.
//! - Each seal's tickets are capped too ([`crate::PouwSeal::verify`]), so one forged report
//!   cannot claim an instant win.
//!
//! What a key holder can still do: win at the rate of a platform at R, plus the quantile's
//! slack (measured by [`simulate`] and printed by `ankr bench --only pouw`).
//!
//! PoET's z-test, which assumed every live platform should win 1/P of the blocks, is kept
//! only as [`z_score`] for the benchmark's comparison: with idle registrations or unequal
//! miners it refused honest blocks and could halt a chain for good.
//!
//! Consensus code may not use libm (`exp`, `pow` differ between platforms), so λ is summed in
//! integers and the quantile computed with + − × ÷ only, which IEEE 754 rounds identically
//! everywhere.

use alloy_primitives::U256;
use ankr_types::PouwParams;

/// The defence settings of a chain spec, as numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DefenceParams {
    /// Blocks over which wins are counted.
    pub window: u64,
    /// False-rejection level α: the chance that a platform at exactly the fastest honest rate
    /// is refused a block.
    pub alpha: f64,
    /// Tickets per second the fastest honest platform can meter.
    pub max_platform_rate: u64,
}

impl DefenceParams {
    /// The settings of a chain spec (which stores them as integers).
    pub fn from_spec(params: &PouwParams) -> Self {
        Self {
            window: params.defence_window,
            alpha: params.poisson_alpha_ppb as f64 / 1e9,
            max_platform_rate: params.max_platform_rate,
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
        "platform won {wins} of the last {blocks} blocks, above the {cap} a platform at the fastest honest rate ({rate} tickets/s) could win in their {seconds} s at α {alpha:e} (expected {expected:.1}; possibly compromised enclave, or wait: the cap grows with time)"
    )]
    RateCap {
        wins: u64,
        blocks: u64,
        cap: u64,
        rate: u64,
        seconds: u64,
        alpha: f64,
        expected: f64,
    },
}

/// One block of the window: the time since its parent and its difficulty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowBlock {
    pub interval_seconds: u64,
    pub difficulty: U256,
}

/// Fixed-point scale of λ's terms: 2^32.
const LAMBDA_FRACTION_BITS: usize = 32;

fn fixed_to_f64(sum: U256) -> f64 {
    let whole: u128 = sum.saturating_to();
    whole as f64 / (1u64 << LAMBDA_FRACTION_BITS) as f64
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

/// Smallest k with P(Poisson(λ) ≤ k) ≥ 1 − α. Above λ = 600, where e^(−λ) underflows, the
/// normal approximation with continuity correction (z for α from a bisection on the same
/// series) takes over.
pub fn poisson_quantile(lambda: f64, alpha: f64) -> u64 {
    if lambda > 600.0 {
        let z = normal_quantile(alpha);
        let cap = lambda + z * lambda.sqrt() + 0.5;
        return cap as u64;
    }
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

/// z with P(N(0,1) > z) = α, by bisection on a Taylor-free bound: the upper tail
/// φ(z)/z·(1 − 1/z² + 3/z⁴), accurate to 1 % for z > 2.5, which is where α ≤ 10⁻² puts it.
fn normal_quantile(alpha: f64) -> f64 {
    let tail = |z: f64| {
        let density = exp_neg(z * z / 2.0) / 2.506_628_274_631_000_5;
        density / z * (1.0 - 1.0 / (z * z) + 3.0 / (z * z * z * z))
    };
    let (mut lo, mut hi) = (1.0, 40.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > alpha {
            lo = mid
        } else {
            hi = mid
        }
    }
    hi
}

impl DefenceParams {
    /// Wins a platform at the fastest honest rate expects over `blocks`: λ = Σ R·Δt/D, summed
    /// in 32-bit fixed point so that every node gets the same number.
    pub fn expected_wins(&self, blocks: &[WindowBlock]) -> f64 {
        let sum = blocks
            .iter()
            .fold(U256::ZERO, |sum, block| sum + self.expected_term(block));
        fixed_to_f64(sum)
    }

    /// One block's R·Δt/D in 32-bit fixed point.
    fn expected_term(&self, block: &WindowBlock) -> U256 {
        let rate = U256::from(self.max_platform_rate);
        let numerator = (rate * U256::from(block.interval_seconds)) << LAMBDA_FRACTION_BITS;
        numerator / block.difficulty.max(U256::from(1u8))
    }

    /// The most wins a platform may hold over `blocks` (the new block included).
    pub fn cap(&self, blocks: &[WindowBlock]) -> u64 {
        poisson_quantile(self.expected_wins(blocks), self.alpha)
    }

    /// Checks a platform that has `wins` (counting the new block) over `blocks`, the window
    /// ending with the new block.
    pub fn check(&self, wins: u64, blocks: &[WindowBlock]) -> Result<(), DefenceError> {
        let expected = self.expected_wins(blocks);
        let cap = poisson_quantile(expected, self.alpha);
        if wins > cap {
            return Err(DefenceError::RateCap {
                wins,
                blocks: blocks.len() as u64,
                cap,
                rate: self.max_platform_rate,
                seconds: blocks.iter().map(|b| b.interval_seconds).sum(),
                alpha: self.alpha,
                expected,
            });
        }
        Ok(())
    }
}

/// PoET's z-score of `wins` in `blocks` when each of `population` platforms should win 1/P:
/// no longer a rule, kept so that the benchmark can show what it would have refused.
pub fn z_score(wins: u64, blocks: u64, population: u64) -> f64 {
    let p = 1.0 / population as f64;
    let expected = blocks as f64 * p;
    let deviation = (expected * (1.0 - p)).sqrt();
    (wins as f64 - expected) / deviation
}

/// A network for [`simulate`]: honest platforms' rates as shares of the honest total, how many
/// registered platforms never mine, and whether one more platform is a key holder that forges
/// a win whenever the rules let it.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub honest_shares: Vec<f64>,
    pub idle_platforms: usize,
    pub compromised: bool,
    /// Target seconds between blocks.
    pub block_time: u64,
    pub blocks: u64,
    pub seed: u64,
}

/// What [`simulate`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimulationReport {
    pub blocks: u64,
    /// Blocks the key holder sealed.
    pub compromised_blocks: u64,
    /// The share of blocks an honest platform at the fastest honest rate would get beside
    /// the honest ones: what the key holder is allowed.
    pub fastest_honest_share: f64,
    /// Honest winning draws refused, and honest winning draws in all.
    pub honest_refused: u64,
    pub honest_wins: u64,
    /// Honest blocks PoET's z-test (population = registered platforms) would have refused.
    pub z_test_would_refuse: u64,
    /// Longest time between two blocks, in target block times.
    pub longest_gap: f64,
}

impl SimulationReport {
    /// The key holder's share of blocks.
    pub fn compromised_share(&self) -> f64 {
        self.compromised_blocks as f64 / self.blocks.max(1) as f64
    }

    /// Honest winning draws refused per honest winning draw.
    pub fn false_rejection_rate(&self) -> f64 {
        self.honest_refused as f64 / self.honest_wins.max(1) as f64
    }
}

/// Simulates a network under the rules exactly as block validation applies them: honest
/// platforms win as Poisson processes at rate/difficulty (the per-instruction lottery), the
/// difficulty follows ASERT on whole-second timestamps, a block is stamped
/// max(now, parent + 1), and the key holder seals at the earliest second its cap allows.
/// Seeded, so every figure can be reproduced.
pub fn simulate(params: &DefenceParams, scenario: &Scenario) -> SimulationReport {
    use crate::difficulty::{Anchor, next_difficulty};
    use std::collections::{HashMap, VecDeque};
    const KEY_HOLDER: usize = usize::MAX;
    let fastest = scenario.honest_shares.iter().cloned().fold(0.0, f64::max);
    let honest_total = params.max_platform_rate as f64 / fastest;
    let rates: Vec<f64> = scenario
        .honest_shares
        .iter()
        .map(|s| s * honest_total)
        .collect();
    let total_rate: f64 = rates.iter().sum();
    let mut rng = scenario.seed.max(1);
    let mut uniform = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        ((rng >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let target_ms = scenario.block_time * 1000;
    let genesis_difficulty = U256::from((total_rate * scenario.block_time as f64) as u128);
    let mut report = SimulationReport {
        fastest_honest_share: params.max_platform_rate as f64
            / (total_rate + params.max_platform_rate as f64),
        ..Default::default()
    };
    let population = (scenario.honest_shares.len()
        + scenario.idle_platforms
        + usize::from(scenario.compromised)) as u64;
    // The window as validation sees it, kept with running sums: each block's λ term and
    // sealer, the terms' total, and wins per sealer.
    let window = params.window as usize;
    let mut history: VecDeque<(U256, usize)> = VecDeque::new();
    let mut lambda = U256::ZERO;
    let mut wins: HashMap<usize, u64> = HashMap::new();
    // Checks a candidate block by `who` with λ term `term`, as the chain would: the window of
    // the last W − 1 blocks plus the candidate.
    let passes = |history: &VecDeque<(U256, usize)>,
                  lambda: U256,
                  wins: &HashMap<usize, u64>,
                  term: U256,
                  who: usize| {
        let (mut total, mut count) = (lambda + term, wins.get(&who).copied().unwrap_or(0) + 1);
        if history.len() >= window {
            let (oldest, sealer) = history[0];
            total -= oldest;
            if sealer == who {
                count -= 1;
            }
        }
        (
            count <= poisson_quantile(fixed_to_f64(total), params.alpha),
            count,
        )
    };
    let (mut anchor, mut parent_time) = (None, 0u64);
    let mut height = 0u64;
    let mut now = 0.0f64;
    while height < scenario.blocks {
        let difficulty = match anchor {
            None => genesis_difficulty,
            Some(anchor) => next_difficulty(anchor, height, parent_time, target_ms, 60_000),
        };
        let term_at = |stamp: u64| {
            params.expected_term(&WindowBlock {
                interval_seconds: if height == 0 {
                    scenario.block_time
                } else {
                    stamp - parent_time
                },
                difficulty,
            })
        };
        let d = difficulty.saturating_to::<u128>() as f64;
        let honest_at = now + -uniform().ln() * d / total_rate;
        // The key holder's earliest whole second at which its next block passes the cap.
        let mut forged_at = f64::INFINITY;
        if scenario.compromised {
            let mut t = (parent_time + 1).max(now.ceil() as u64);
            while (t as f64) < honest_at.ceil() + 1.0 {
                if passes(&history, lambda, &wins, term_at(t), KEY_HOLDER).0 {
                    forged_at = t as f64;
                    break;
                }
                t += 1;
            }
        }
        let (time, who) = if forged_at <= honest_at {
            (forged_at, KEY_HOLDER)
        } else {
            let mut point = uniform() * total_rate;
            let who = rates
                .iter()
                .position(|r| {
                    point -= r;
                    point < 0.0
                })
                .unwrap_or(rates.len() - 1);
            (honest_at, who)
        };
        now = time;
        let stamp = (time.ceil() as u64).max(parent_time + 1);
        let term = term_at(stamp);
        if who == KEY_HOLDER {
            report.compromised_blocks += 1;
        } else {
            report.honest_wins += 1;
            let (ok, count) = passes(&history, lambda, &wins, term, who);
            if !ok {
                report.honest_refused += 1;
                continue;
            }
            let in_window = (history.len() + 1).min(window) as u64;
            if count > 3 && z_score(count, in_window, population) > 3.075 {
                report.z_test_would_refuse += 1;
            }
        }
        if height > 0 {
            let gap = (stamp - parent_time) as f64 / scenario.block_time as f64;
            report.longest_gap = report.longest_gap.max(gap);
        }
        if history.len() >= window {
            let (oldest, sealer) = history.pop_front().expect("full window");
            lambda -= oldest;
            *wins.get_mut(&sealer).expect("counted") -= 1;
        }
        history.push_back((term, who));
        lambda += term;
        *wins.entry(who).or_default() += 1;
        height += 1;
        if anchor.is_none() {
            anchor = Some(Anchor {
                height,
                timestamp: stamp,
                difficulty,
            });
        }
        parent_time = stamp;
        report.blocks += 1;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(n: u64, interval: u64, difficulty: u64) -> Vec<WindowBlock> {
        (0..n)
            .map(|_| WindowBlock {
                interval_seconds: interval,
                difficulty: U256::from(difficulty),
            })
            .collect()
    }

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
        // The normal branch joins the exact one without a jump.
        let below = poisson_quantile(600.0, 1e-3) as i64;
        let above = poisson_quantile(600.1, 1e-3) as i64;
        assert!((below - above).abs() <= 2, "{below} vs {above}");
    }

    #[test]
    fn expected_wins_follow_rate_time_and_difficulty() {
        let params = DefenceParams {
            window: 100,
            alpha: 1e-3,
            max_platform_rate: 1_000,
        };
        // 10 blocks of 2 s at difficulty 4,000: 1,000 × 2 / 4,000 = 0.5 each.
        assert_eq!(params.expected_wins(&blocks(10, 2, 4_000)), 5.0);
    }

    #[test]
    fn a_refused_platform_is_accepted_once_enough_time_has_passed() {
        let params = DefenceParams {
            window: 100,
            alpha: 1e-3,
            max_platform_rate: 1_000,
        };
        // 20 wins in 20 one-second blocks at λ = 0.25 each: far above the cap...
        let mut window = blocks(20, 1, 4_000);
        assert!(params.check(20, &window).is_err());
        // ...but the same 20 wins with the new block 60 s later: λ = 19.75, cap ≥ 20.
        window.last_mut().unwrap().interval_seconds = 60;
        assert!(params.check(20, &window).is_ok());
    }

    #[test]
    fn idle_platforms_and_unequal_honest_miners_are_not_refused_and_a_key_holder_is_bounded() {
        let params = DefenceParams {
            window: 200,
            alpha: 1e-3,
            max_platform_rate: 1_000_000,
        };
        for (shares, idle) in [(vec![0.5, 0.5], 1), (vec![0.4, 0.3, 0.2, 0.1], 5)] {
            let report = simulate(
                &params,
                &Scenario {
                    honest_shares: shares.clone(),
                    idle_platforms: idle,
                    compromised: true,
                    block_time: 10,
                    blocks: 5_000,
                    seed: 3,
                },
            );
            assert!(
                report.false_rejection_rate() < 0.01,
                "{shares:?}: {report:?}"
            );
            assert!(
                report.compromised_share() < report.fastest_honest_share + 0.12,
                "{shares:?}: {report:?}"
            );
            assert!(report.longest_gap < 30.0, "{report:?}");
        }
    }
}
