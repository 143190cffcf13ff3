//! The native encoder: applies a manifest's bit rules to the model's integer outputs.
//!
//! Each code plane has one [`BitRule`], evaluated at every grid position `(i, j)` with exact
//! integer (i128) arithmetic. This is the executable spec the circuit's rule chips prove.

use std::collections::HashMap;

use crate::model::error::ModelError;
use crate::model::exec::Trace;
use crate::model::ir::Graph;
use crate::model::manifest::{BitRule, Component, EncoderSpec, Operand, Ratio};

/// Bits of one encoding, plane-major: `bits[(plane * rows + i) * cols + j]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBits {
    /// Grid rows.
    pub rows: usize,
    /// Grid columns.
    pub cols: usize,
    /// Iris-code bits (0/1), plane-major.
    pub iris: Vec<u8>,
    /// Mask-code bits (0/1), plane-major.
    pub mask: Vec<u8>,
}

impl EncodedBits {
    /// Number of set mask bits.
    pub fn valid_bits(&self) -> u32 {
        self.mask.iter().map(|&b| b as u32).sum()
    }
}

/// Integer model outputs by name, each `[channels, rows, cols]` flattened.
pub struct Outputs<'a> {
    map: HashMap<&'a str, (&'a [i64], Vec<usize>)>,
}

impl<'a> Outputs<'a> {
    /// Collects the named outputs of a run.
    pub fn from_trace(graph: &'a Graph, trace: &'a Trace) -> Self {
        let map = graph
            .outputs
            .iter()
            .map(|o| {
                let t = trace.get(o.tensor);
                (o.name.as_str(), (t.data.as_slice(), t.shape.clone()))
            })
            .collect();
        Self { map }
    }

    fn at(&self, output: &str, channel: usize, i: usize, j: usize, grid: [usize; 2]) -> Result<i128, ModelError> {
        let (data, shape) = self.map.get(output).ok_or_else(|| ModelError::ManifestMismatch(format!("encoder reads unknown output {output:?}")))?;
        let (rows, cols) = (grid[0], grid[1]);
        let channels = data.len() / (rows * cols).max(1);
        if channel >= channels || data.len() != channels * rows * cols {
            return Err(ModelError::ManifestMismatch(format!("output {output:?} of shape {shape:?} has no channel {channel} on a {rows}x{cols} grid")));
        }
        Ok(data[(channel * rows + i) * cols + j] as i128)
    }
}

fn operand(outs: &Outputs, op: &Operand, i: usize, j: usize, grid: [usize; 2]) -> Result<i128, ModelError> {
    match op {
        Operand::Output { output, channel } => outs.at(output, *channel, i, j, grid),
        Operand::PerRow(v) => {
            v.get(i).map(|&x| x as i128).ok_or_else(|| ModelError::ManifestMismatch(format!("per-row operand has {} rows, grid has more", v.len())))
        }
    }
}

/// `r.den * a >= r.num * b`.
pub fn ratio_at_least(a: i128, b: i128, r: Ratio) -> bool {
    (r.den as i128) * a >= (r.num as i128) * b
}

/// Evaluates one rule at grid position `(i, j)`.
pub fn eval_rule(rule: &BitRule, outs: &Outputs, i: usize, j: usize, grid: [usize; 2]) -> Result<bool, ModelError> {
    Ok(match rule {
        BitRule::Positive { output, channel } => outs.at(output, *channel, i, j, grid)? > 0,
        BitRule::AtLeast { num, den, ratio } => ratio_at_least(operand(outs, num, i, j, grid)?, operand(outs, den, i, j, grid)?, *ratio),
        BitRule::NonZeroPair { output, re, im } => outs.at(output, *re, i, j, grid)? != 0 || outs.at(output, *im, i, j, grid)? != 0,
        BitRule::Fragile { output, re, im, component, kernel_sumsq, patch_size, radius_lo_sq, radius_hi_sq, cos2 } => {
            let re = outs.at(output, *re, i, j, grid)?;
            let im = outs.at(output, *im, i, j, grid)?;
            let n = *patch_size.get(i).ok_or_else(|| ModelError::ManifestMismatch("fragile patch_size shorter than the grid".into()))? as i128;
            let fragile = FragileTerms::new(re, im, kernel_sumsq[0] as i128, kernel_sumsq[1] as i128, n);
            fragile.keeps(*component, *radius_lo_sq, *radius_hi_sq, *cos2)
        }
        BitRule::All(rules) => {
            for r in rules {
                if !eval_rule(r, outs, i, j, grid)? {
                    return Ok(false);
                }
            }
            true
        }
    })
}

/// The integer quantities of open-iris's polar fragile-bit test for one complex response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragileTerms {
    /// `Re² · S_im` (∝ normalised Re²).
    pub re2: i128,
    /// `Im² · S_re` (∝ normalised Im²).
    pub im2: i128,
    /// `q = re2 + im2` (∝ |z|²).
    pub q: i128,
    /// `M = N² · S_re · S_im` (the common normalisation).
    pub m: i128,
}

impl FragileTerms {
    /// Computes the terms.
    pub fn new(re: i128, im: i128, s_re: i128, s_im: i128, n: i128) -> Self {
        let re2 = re * re * s_im;
        let im2 = im * im * s_re;
        Self { re2, im2, q: re2 + im2, m: n * n * s_re * s_im }
    }

    /// `lo·M <= q <= hi·M` and the angle test for `component`.
    pub fn keeps(&self, component: Component, lo: Ratio, hi: Ratio, cos2: Ratio) -> bool {
        let radius_ok = ratio_at_least(self.q, self.m, lo) && ratio_at_least(self.m, self.q, Ratio { num: hi.den, den: hi.num });
        let other = match component {
            Component::Re => self.im2,
            Component::Im => self.re2,
        };
        // other <= cos2 * q  <=>  cos2.num * q >= cos2.den * other
        let angle_ok = (cos2.num as i128) * self.q >= (cos2.den as i128) * other;
        radius_ok && angle_ok
    }
}

/// Applies every plane's rule at every grid position.
pub fn encode(spec: &EncoderSpec, outs: &Outputs) -> Result<EncodedBits, ModelError> {
    let [rows, cols] = spec.grid;
    let planes = |rules: &[BitRule]| -> Result<Vec<u8>, ModelError> {
        let mut bits = Vec::with_capacity(rules.len() * rows * cols);
        for rule in rules {
            for i in 0..rows {
                for j in 0..cols {
                    bits.push(u8::from(eval_rule(rule, outs, i, j, spec.grid)?));
                }
            }
        }
        Ok(bits)
    };
    let iris = planes(&spec.iris)?;
    let mask = planes(&spec.mask)?;
    Ok(EncodedBits { rows, cols, iris, mask })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragile_terms_follow_the_integer_spec() {
        // z on the real axis: the real bit is kept, the imaginary bit is fragile.
        let t = FragileTerms::new(1000, 0, 1 << 30, 1 << 30, 1);
        let lo = Ratio { num: 1, den: 100_000_000 };
        let hi = Ratio { num: 121, den: 1600 };
        let c2 = Ratio { num: 4_262_342_194, den: 1 << 32 };
        // |z|² = 1000²/(1·2^30)... = 1e6 / 2^30 ≈ 9.3e-4 inside [1e-8, 0.0756].
        assert!(t.keeps(Component::Re, lo, hi, c2));
        assert!(!t.keeps(Component::Im, lo, hi, c2));
        // Too strong a response fails the radius window for both.
        let big = FragileTerms::new(1 << 20, 1 << 20, 1 << 30, 1 << 30, 1);
        assert!(!big.keeps(Component::Re, lo, hi, c2));
    }

    #[test]
    fn ratio_is_exact() {
        assert!(ratio_at_least(9, 10, Ratio { num: 9, den: 10 }));
        assert!(!ratio_at_least(8, 10, Ratio { num: 9, den: 10 }));
    }
}
