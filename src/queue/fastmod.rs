//! `ticket % capacity` without a division instruction.
//!
//! The rings hand out plain integer tickets, so every operation maps a ticket to a slot with a
//! remainder. A 64-bit `div` costs tens of cycles on many x86 cores; for a power-of-two
//! capacity a mask does it, and for any other capacity Lemire, Kaser and Kurz's direct
//! remainder ("Faster Remainder by Direct Computation", 2019) does it with three multiplies:
//! with `m = ceil(2^128 / d)`, `a % d` is the high 64 bits of the 192-bit product
//! `(m * a mod 2^128) * d`, exactly, for every 64-bit `a`.
//!
//! The quotient follows from the remainder without a divide either: `a - a % d` is a multiple
//! of `d = 2^k * o` (`o` odd), so shifting out `2^k` and multiplying by the inverse of `o`
//! modulo 2^64 divides it exactly (Granlund and Montgomery, "Division by Invariant Integers
//! using Multiplication", 1994, section 9).

/// A precomputed divisor for fast `a % d`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastMod {
    d: u64,
    /// `ceil(2^128 / d)` (wrapping to 0 when `d == 1`, which the mask path handles), or 0 when
    /// `d` is a power of two.
    m: u128,
    /// `d = 2^shift * odd`.
    shift: u32,
    /// The inverse of `odd` modulo 2^64.
    inv: u64,
}

impl FastMod {
    /// # Panics
    /// Panics if `d == 0`.
    pub(crate) fn new(d: u64) -> Self {
        assert!(d > 0, "FastMod divisor must be non-zero");
        let m = if d.is_power_of_two() {
            0
        } else {
            u128::MAX / u128::from(d) + 1
        };
        let shift = d.trailing_zeros();
        let odd = d >> shift;
        // Newton's iteration doubles the correct low bits each step: `odd * odd == 1 mod 8`
        // gives 3 of them to start, five steps give 96 >= 64.
        let mut inv = odd;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inv)));
        }
        debug_assert_eq!(odd.wrapping_mul(inv), 1);
        FastMod { d, m, shift, inv }
    }

    /// `(a / d, a % d)`.
    #[inline(always)]
    pub(crate) fn div_rem(&self, a: u64) -> (u64, u64) {
        let r = self.rem(a);
        (((a - r) >> self.shift).wrapping_mul(self.inv), r)
    }

    /// `a % d`.
    #[inline(always)]
    pub(crate) fn rem(&self, a: u64) -> u64 {
        if self.m == 0 {
            return a & (self.d - 1);
        }
        let low = self.m.wrapping_mul(u128::from(a));
        // High 64 bits of the 192-bit `low * d`, from its two 64-bit halves.
        let d = u128::from(self.d);
        let bottom = ((low & u128::from(u64::MAX)) * d) >> 64;
        let top = (low >> 64) * d;
        ((bottom + top) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::FastMod;

    #[test]
    fn matches_the_remainder_operator() {
        let divisors = [
            1u64,
            2,
            3,
            5,
            7,
            10,
            1000,
            1023,
            1024,
            1025,
            65_537,
            12,
            96,
            (1 << 40) - 1024,
            (1 << 40) - 3,
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for &d in &divisors {
            let f = FastMod::new(d);
            for a in (0..5000u64).chain([u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1]) {
                assert_eq!(f.rem(a), a % d, "{a} % {d}");
                assert_eq!(f.div_rem(a), (a / d, a % d), "{a} / {d}");
            }
            for _ in 0..100_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                assert_eq!(f.rem(x), x % d, "{x} % {d}");
                assert_eq!(f.div_rem(x).0, x / d, "{x} / {d}");
            }
        }
    }
}
