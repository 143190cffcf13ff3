//! Fixed-point quantisation of float-weight models, and its error report.
//!
//! A float model is run exactly on integers: an input `x` is fed as `round(x·2^in)`, every
//! float constant used as a weight becomes `round(w·2^weight_bits)`, biases are rounded at the
//! scale of the sum they are added to, and an activation whose scale exceeds `2^act_bits`
//! passes through a rounding right shift ([`super::ir::Op::Requant`], round half up) before it
//! feeds the next linear op. Nothing else rounds, so the only error sources are the weight
//! rounding and those explicit requantisations. [`QuantReport`] measures the result against
//! tract's float output on the same input.

use serde::Serialize;

/// Fixed-point scales used when lowering a float model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QuantConfig {
    /// Weights are rounded to multiples of `2^-weight_bits`.
    pub weight_bits: i32,
    /// Activations feeding a linear op are requantised to `2^-act_bits`.
    pub act_bits: i32,
}

impl Default for QuantConfig {
    fn default() -> Self {
        Self { weight_bits: 12, act_bits: 12 }
    }
}

/// `round(x · 2^bits)`, ties away from zero.
pub fn quantize(x: f64, bits: i32) -> i64 {
    (x * (2f64).powi(bits)).round() as i64
}

/// Quantisation error of one output against the float reference (tests and research tools).
#[cfg(feature = "testkit")]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantReport {
    /// Output name.
    pub output: String,
    /// Fixed-point exponent of the integer output.
    pub scale_bits: i32,
    /// Largest `|int/2^s − float|`.
    pub max_abs_err: f64,
    /// Mean `|int/2^s − float|`.
    pub mean_abs_err: f64,
    /// Largest `|float|` (for relative error).
    pub max_abs_ref: f64,
    /// Cosine similarity between the two output vectors.
    pub cosine: f64,
    /// Fraction of elements whose sign differs (sign bits are what iris codes keep).
    pub sign_flips: usize,
}

#[cfg(feature = "testkit")]
impl QuantReport {
    /// Compares integer outputs at `scale_bits` with float reference values.
    pub fn compare(output: &str, ints: &[i64], scale_bits: i32, reference: &[f64]) -> Self {
        let inv = (2f64).powi(-scale_bits);
        let (mut max_err, mut sum_err, mut max_ref) = (0f64, 0f64, 0f64);
        let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
        let mut flips = 0usize;
        for (&q, &r) in ints.iter().zip(reference) {
            let v = q as f64 * inv;
            let e = (v - r).abs();
            max_err = max_err.max(e);
            sum_err += e;
            max_ref = max_ref.max(r.abs());
            dot += v * r;
            na += v * v;
            nb += r * r;
            if (v > 0.0) != (r > 0.0) {
                flips += 1;
            }
        }
        let n = ints.len().max(1) as f64;
        let cosine = if na > 0.0 && nb > 0.0 { dot / (na.sqrt() * nb.sqrt()) } else { 1.0 };
        Self { output: output.to_string(), scale_bits, max_abs_err: max_err, mean_abs_err: sum_err / n, max_abs_ref: max_ref, cosine, sign_flips: flips }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_ties_away_from_zero() {
        assert_eq!(quantize(0.5, 0), 1);
        assert_eq!(quantize(-0.5, 0), -1);
        assert_eq!(quantize(0.25, 2), 1);
        assert_eq!(quantize(1.0 / 3.0, 12), 1365);
    }

    #[test]
    fn report_measures_error() {
        let r = QuantReport::compare("y", &[4, -8], 2, &[1.0, -2.1]);
        assert!((r.max_abs_err - 0.1).abs() < 1e-12);
        assert_eq!(r.sign_flips, 0);
        assert!(r.cosine > 0.999);
    }
}
