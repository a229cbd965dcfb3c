//! ASERT difficulty (DESIGN §4.6): exponential retargeting toward the target block time,
//! from a fixed anchor, as Bitcoin Cash's aserti3-2d does — in integers, so every node agrees.
//!
//! difficulty(n) = anchor_difficulty · 2^((ideal − actual) / halflife), where `ideal` is the
//! target block time times the blocks since the anchor and `actual` the time they took (both
//! measured up to the parent). Blocks faster than the target raise the difficulty; slower ones
//! lower it; the half-life is how long a schedule error of one target block time takes to halve.
//! Because it is anchored, errors never accumulate (unlike per-block retargeting).

use alloy_primitives::U256;

/// Smallest difficulty: a thousand instructions.
pub const MIN_DIFFICULTY: u64 = 1_000;

/// The anchor block: height, timestamp (seconds) and difficulty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub height: u64,
    pub timestamp: u64,
    pub difficulty: U256,
}

/// The difficulty of the block after `parent` (height, timestamp in seconds), given the anchor.
pub fn next_difficulty(
    anchor: Anchor,
    parent_height: u64,
    parent_timestamp: u64,
    target_block_time_ms: u64,
    halflife_ms: u64,
) -> U256 {
    let ideal =
        i128::from(target_block_time_ms) * (i128::from(parent_height) - i128::from(anchor.height));
    let actual = (i128::from(parent_timestamp) - i128::from(anchor.timestamp)) * 1000;
    // 16.16 fixed-point exponent, floored.
    let exponent = ((ideal - actual) * 65_536).div_euclid(i128::from(halflife_ms.max(1)));
    let shifts = exponent >> 16;
    let frac = (exponent & 0xffff) as u128;
    // 2^frac ≈ 1 + cubic (aserti3-2d's coefficients), in 16-bit fixed point.
    let factor = 65_536
        + ((195_766_423_245_049 * frac
            + 971_821_376 * frac * frac
            + 5_127 * frac * frac * frac
            + (1u128 << 47))
            >> 48);
    let max = crate::lottery::max_difficulty();
    let scaled = anchor.difficulty.min(max) * U256::from(factor);
    let shifted: U256 = if shifts >= 0 {
        if shifts > 200 {
            return max;
        }
        scaled.checked_shl(shifts as usize).unwrap_or(max)
    } else if shifts < -256 {
        U256::ZERO
    } else {
        scaled >> (-shifts) as usize
    };
    (shifted >> 16usize).clamp(U256::from(MIN_DIFFICULTY), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANCHOR: Anchor = Anchor {
        height: 1,
        timestamp: 1_000,
        difficulty: U256::from_limbs([1 << 30, 0, 0, 0]),
    };

    fn next(parent_height: u64, parent_timestamp: u64) -> U256 {
        next_difficulty(ANCHOR, parent_height, parent_timestamp, 2_000, 60_000)
    }

    #[test]
    fn on_schedule_keeps_the_anchor_difficulty() {
        assert_eq!(next(1, 1_000), ANCHOR.difficulty);
        assert_eq!(next(101, 1_200), ANCHOR.difficulty);
    }

    #[test]
    fn one_halflife_ahead_doubles_and_behind_halves() {
        // 30 blocks of 2 s = 60 s ideal; done in 0 s → one half-life ahead.
        assert_eq!(next(31, 1_000), ANCHOR.difficulty * U256::from(2));
        // 0 blocks but 60 s passed → one half-life behind.
        assert_eq!(next(1, 1_060), ANCHOR.difficulty / U256::from(2));
    }

    #[test]
    fn half_a_halflife_is_close_to_root_two() {
        let got = next(16, 1_000).to::<u64>() as f64; // 15 blocks · 2 s = 30 s ahead
        let expected = (1u64 << 30) as f64 * 2f64.sqrt();
        assert!((got / expected - 1.0).abs() < 1e-4, "{got} vs {expected}");
    }

    #[test]
    fn extremes_are_clamped() {
        assert_eq!(next(1, 1_000_000_000), U256::from(MIN_DIFFICULTY));
        assert_eq!(next(1_000_000_000, 1_000), crate::lottery::max_difficulty());
    }
}
