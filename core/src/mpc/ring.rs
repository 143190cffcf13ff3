//! The Galois ring GR(2^16, 4) = Z_(2^16)\[x\] / (x^4 − x − 1) of World's MPC secret sharing.
//!
//! An element is four coefficients `(c0, c1, c2, c3)` of `1, x, x², x³`, each a `u16`; every
//! operation reduces coefficients mod 2^16 (wrapping `u16` arithmetic) and powers of `x` with
//! `x⁴ = x + 1`.
//!
//! The masked code enters the ring through the fixed, unit lower-triangular matrix
//! [`ENCODING_MATRIX`] ([`encode`], inverted by [`decode`]); shares are evaluations of a
//! degree-1 polynomial at the parties' points [`EVAL_POINTS`] (`1`, `x`, `1 + x`), see
//! [`super::shares`]. The constants are World's, as published with Remainder_CE's MPC circuit
//! (`tests/conformance/world-mpc/vectors.json`).

use std::ops::{Add, Mul, Sub};

/// The encoding matrix `M` (rows): `element = M · (a0, a1, a2, a3)ᵀ mod 2^16`.
pub const ENCODING_MATRIX: [[u16; 4]; 4] = [[1, 0, 0, 0], [58082, 1, 0, 0], [60579, 25194, 1, 0], [17325, 51956, 57011, 1]];

/// The parties' evaluation points: party 1 at `1`, party 2 at `x`, party 3 at `1 + x`.
pub const EVAL_POINTS: [GrElement; 3] = [GrElement([1, 0, 0, 0]), GrElement([0, 1, 0, 0]), GrElement([1, 1, 0, 0])];

/// One element of GR(2^16, 4): the coefficients of `1, x, x², x³`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GrElement(pub [u16; 4]);

impl GrElement {
    /// The zero element.
    pub const ZERO: Self = Self([0; 4]);
    /// The unit `1`.
    pub const ONE: Self = Self([1, 0, 0, 0]);

    /// The coefficients.
    pub fn coefficients(&self) -> [u16; 4] {
        self.0
    }

    /// `x · self`: `(c0, c1, c2, c3) ↦ (c3, c0 + c3, c1, c2)` (because `x⁴ = x + 1`).
    pub fn times_x(self) -> Self {
        let [c0, c1, c2, c3] = self.0;
        Self([c3, c0.wrapping_add(c3), c1, c2])
    }

    /// The multiplicative inverse, if `self` is a unit (its reduction mod 2 is nonzero in
    /// GF(16) = F2\[x\]/(x⁴ + x + 1)). The unit group has order `2^60 · 15`, so
    /// `a⁻¹ = a^(2^60·15 − 1)`.
    pub fn inverse(self) -> Option<Self> {
        let mut exp: u64 = (1u64 << 60) * 15 - 1;
        let (mut result, mut base) = (Self::ONE, self);
        while exp > 0 {
            if exp & 1 == 1 {
                result = result * base;
            }
            base = base * base;
            exp >>= 1;
        }
        (result * self == Self::ONE).then_some(result)
    }
}

impl Add for GrElement {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i].wrapping_add(o.0[i])))
    }
}

impl Sub for GrElement {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i].wrapping_sub(o.0[i])))
    }
}

impl Mul for GrElement {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let mut c = [0u16; 7];
        for i in 0..4 {
            for j in 0..4 {
                c[i + j] = c[i + j].wrapping_add(self.0[i].wrapping_mul(o.0[j]));
            }
        }
        // x^d = x^(d−3) + x^(d−4) for d = 6, 5, 4.
        for d in (4..7).rev() {
            c[d - 3] = c[d - 3].wrapping_add(c[d]);
            c[d - 4] = c[d - 4].wrapping_add(c[d]);
        }
        Self([c[0], c[1], c[2], c[3]])
    }
}

/// `M · a mod 2^16`: four masked-code values to one ring element.
pub fn encode(a: [u16; 4]) -> GrElement {
    GrElement(std::array::from_fn(|i| (0..4).fold(0u16, |acc, j| acc.wrapping_add(ENCODING_MATRIX[i][j].wrapping_mul(a[j])))))
}

/// The inverse of [`encode`] (`M` is unit lower-triangular: forward substitution).
pub fn decode(e: GrElement) -> [u16; 4] {
    let mut a = [0u16; 4];
    for i in 0..4 {
        let known = (0..i).fold(0u16, |acc, j| acc.wrapping_add(ENCODING_MATRIX[i][j].wrapping_mul(a[j])));
        a[i] = e.0[i].wrapping_sub(known);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_to_the_fourth_is_x_plus_one() {
        let x = GrElement([0, 1, 0, 0]);
        assert_eq!(x * x * x * x, GrElement([1, 1, 0, 0]));
        assert_eq!(x.times_x().times_x().times_x(), GrElement([1, 1, 0, 0]));
    }

    #[test]
    fn times_x_is_multiplication_by_x() {
        let a = GrElement([65535, 7, 40000, 65000]);
        assert_eq!(a.times_x(), a * EVAL_POINTS[1]);
    }

    #[test]
    fn differences_of_evaluation_points_are_units() {
        #[allow(clippy::needless_range_loop)] // all ordered pairs (i, j), i != j
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    let d = EVAL_POINTS[i] - EVAL_POINTS[j];
                    assert_eq!(d * d.inverse().expect("unit"), GrElement::ONE);
                }
            }
        }
        assert_eq!(GrElement([2, 0, 0, 0]).inverse(), None, "2 is not a unit");
    }

    #[test]
    fn decode_inverts_encode() {
        for a in [[0, 0, 1, 1], [65535, 1, 0, 65535], [1, 1, 1, 1], [0, 0, 0, 0]] {
            assert_eq!(decode(encode(a)), a);
        }
    }
}
