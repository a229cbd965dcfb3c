//! The per-instruction lottery in integer arithmetic (DESIGN §4.4).
//!
//! Each instruction wins with probability p = 1/D, so a subtask of n instructions wins with
//! P(n) = 1 − (1 − 1/D)^n. The draw is a uniformly distributed 256-bit integer (the hash of the
//! enclave's deterministic signature) and wins when `draw < threshold(D, n)` where
//! `threshold = ⌊P(n) · 2^256⌋`, computed in 128-bit fixed point. No floats: every node gets
//! the same threshold bit for bit. (REM's prototype compared one random byte, so any subtask
//! won with probability at least 1/256.)

use alloy_primitives::U256;

/// Fixed-point scale of the probabilities: 2^128.
const FRACTION_BITS: usize = 128;

/// Largest difficulty the lottery supports: beyond 2^120 expected instructions the fixed point
/// would lose too many bits of p.
pub fn max_difficulty() -> U256 {
    U256::from(1u8) << 120
}

/// ⌊a · b / 2^128⌋ for a, b ≤ 2^128 (the product fits in 256 bits).
fn mul_fixed(a: U256, b: U256) -> U256 {
    (a * b) >> FRACTION_BITS
}

/// (1 − 1/D)^n in 128-bit fixed point, by binary exponentiation (≤ 128 multiplications).
fn lose_probability(difficulty: U256, instructions: u64) -> U256 {
    let one = U256::from(1u8) << FRACTION_BITS;
    // q = 1 − ⌈2^128 / D⌉ / 2^128: rounding p up keeps the lottery from favouring no one.
    let p = one.div_ceil(difficulty);
    let mut base = one - p;
    let mut result = one;
    let mut n = instructions;
    while n > 0 {
        if n & 1 == 1 {
            result = mul_fixed(result, base);
        }
        base = mul_fixed(base, base);
        n >>= 1;
    }
    result
}

/// The largest winning draw (exclusive) for `instructions` executed at `difficulty`.
/// A difficulty of 0 is treated as 1 (every subtask wins); difficulties above
/// [`max_difficulty`] are clamped to it.
pub fn threshold(difficulty: U256, instructions: u64) -> U256 {
    let difficulty = difficulty.clamp(U256::from(1u8), max_difficulty());
    let one = U256::from(1u8) << FRACTION_BITS;
    let win = one - lose_probability(difficulty, instructions);
    if win >= one {
        U256::MAX
    } else {
        win << (256 - FRACTION_BITS)
    }
}

/// Whether a draw wins.
pub fn wins(draw: U256, difficulty: U256, instructions: u64) -> bool {
    draw < threshold(difficulty, instructions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_fraction(t: U256) -> f64 {
        // Only for comparing with the closed form in tests.
        let top: u128 = (t >> 128usize).to::<u128>();
        top as f64 / 2f64.powi(128)
    }

    #[test]
    fn matches_the_closed_form() {
        for (d, n) in [
            (1_000u64, 1u64),
            (1_000, 1_000),
            (1_000_000, 250_000),
            (1 << 30, 1 << 31),
            (7, 3),
        ] {
            let exact = 1.0 - (n as f64 * (-1.0 / d as f64).ln_1p()).exp();
            let got = as_fraction(threshold(U256::from(d), n));
            assert!((got - exact).abs() < 1e-12, "D={d} n={n}: {got} vs {exact}");
        }
    }

    #[test]
    fn zero_instructions_never_win_and_difficulty_one_always_wins() {
        assert_eq!(threshold(U256::from(1_000u64), 0), U256::ZERO);
        assert!(!wins(U256::ZERO, U256::from(1_000u64), 0));
        assert_eq!(threshold(U256::from(1u8), 1), U256::MAX);
        assert!(wins(U256::MAX - U256::from(1u8), U256::from(1u8), 1));
    }

    #[test]
    fn one_instruction_wins_with_probability_one_over_d_not_one_over_256() {
        let t = threshold(U256::from(1u64 << 40), 1);
        // 2^256 / 2^40 = 2^216.
        assert_eq!(t, U256::from(1u8) << 216);
    }

    proptest::proptest! {
        #[test]
        fn more_instructions_never_lower_the_threshold(d in 1u64.., n in 0u64..1 << 40, extra in 1u64..1 << 20) {
            proptest::prop_assert!(threshold(U256::from(d), n) <= threshold(U256::from(d), n + extra));
        }

        #[test]
        fn higher_difficulty_never_raises_the_threshold(d in 1u64..u64::MAX / 2, n in 0u64..1 << 40) {
            proptest::prop_assert!(threshold(U256::from(d + 1), n) <= threshold(U256::from(d), n));
        }
    }
}
