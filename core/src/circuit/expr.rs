//! Small helpers for building gate expressions and field constants.

use halo2_proofs::arithmetic::Field;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Expression;

/// `e^n` by square-and-multiply (used for powers of the challenge β, which add no degree).
pub fn pow(e: &Expression<Fr>, n: u64) -> Expression<Fr> {
    let mut result = Expression::Constant(Fr::ONE);
    let mut base = e.clone();
    let mut k = n;
    let mut first = true;
    while k > 0 {
        if k & 1 == 1 {
            result = if first { base.clone() } else { result * base.clone() };
            first = false;
        }
        k >>= 1;
        if k > 0 {
            base = base.clone() * base;
        }
    }
    result
}

/// A constant expression.
pub fn c(v: Fr) -> Expression<Fr> {
    Expression::Constant(v)
}

/// `2^n` as a field element.
pub fn two_pow(n: u32) -> Fr {
    Fr::from(2u64).pow_vartime([n as u64])
}

/// A signed integer as a field element.
pub fn fe(v: i128) -> Fr {
    let m = v.unsigned_abs();
    // Weights and activations fit in 64 bits: one conversion (this runs millions of times per
    // proof for the dense weights).
    let mag = if m >> 64 == 0 { Fr::from(m as u64) } else { Fr::from((m >> 64) as u64) * two_pow(64) + Fr::from(m as u64) };
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// `x^n` for a field element.
pub fn fpow(x: Fr, n: u64) -> Fr {
    x.pow_vartime([n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_conversions() {
        assert_eq!(fe(-5) + Fr::from(5), Fr::ZERO);
        assert_eq!(fe(1 << 100), two_pow(100));
        assert_eq!(fe(-(1 << 100) - 3) + two_pow(100) + Fr::from(3), Fr::ZERO);
        assert_eq!(fe(u64::MAX as i128) + Fr::ONE, two_pow(64));
        assert_eq!(fe(-(u64::MAX as i128)), -Fr::from(u64::MAX));
        assert_eq!(two_pow(3), Fr::from(8));
        assert_eq!(fpow(Fr::from(3), 4), Fr::from(81));
    }
}
