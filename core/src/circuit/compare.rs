//! The comparator: a bit `b = [d ≥ 0]` for `d = f0 + f1·x + f2·y`, proved with range-checked
//! limbs.
//!
//! Operands `x`, `y` are copies (equality constraints) of cells elsewhere — a convolution
//! output, a square, a popcount or a public input — and `f0..f2` are per-row constants in
//! fixed columns, so one gate covers every rule: `x > 0` is `d = x − 1`, a coverage ratio
//! `num/den ≥ p/q` is `d = q·num − p·den`, a fragile-bit test is linear in two squares.
//!
//! The sign is proved by decomposing `w = b·d + (1 − b)·(−1 − d)` into `4R` limbs of `L` bits
//! over `R` rows (the range table). If `b` were wrong, `w` would be a "negative" field element
//! ≈ p − |d| and could not be written with `4RL ≤ 224` bits, so a valid decomposition proves
//! `b`. `R` is chosen per comparator from the proven bound of `d`.
//!
//! Soundness does not depend on `R` (a wrong `b` needs ≈ 254 bits whatever `R`); the bound only
//! has to be large enough for every honest `d`, and a smaller `d` is fewer rows. So the planner
//! writes each rule with the smallest `d` it can: a comparison with a constant
//! `den·q ≥ num·M` becomes `q − ⌈num·M/den⌉ ≥ 0` (and `den·q ≤ num·M` becomes
//! `⌊num·M/den⌋ − q ≥ 0`), which is the same test for an integer `q` and drops the factor
//! `den` from `d`: open-iris's fragile radius tests (den = 10^8 and 1,600) fit 3 rows instead
//! of 4.
//!
//! | row | q0..q3 | v | b | g | g2 | gates |
//! |---|---|---|---|---|---|---|
//! | r | limbs 0..3 | `d` | `b` | x | y | `s_value`, `s_bit`, `s_sign[R]`, `s_limbs` |
//! | r+1..r+R−1 | limbs 4.. | | | | | `s_limbs` |

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::expr::{c, two_pow};
use super::layout::Columns;

/// Configuration of the comparator gates.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// `v = f0 + f1·g + f2·g2`.
    pub s_value: Selector,
    /// `b ∈ {0, 1}`.
    pub s_bit: Selector,
    /// Sign decomposition over `R` rows, one selector per `R` in use.
    pub s_sign: Vec<(usize, Selector)>,
    /// Limb width in bits.
    pub limb_bits: u32,
}

impl CompareConfig {
    /// Configures the gates for the row counts `rows` (each `R ≥ 1`).
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, limb_bits: u32, rows: &[usize]) -> Self {
        let s_value = meta.selector();
        let s_bit = meta.selector();
        meta.create_gate("comparator value", |m| {
            let s = m.query_selector(s_value);
            let v = m.query_advice(cols.v, Rotation::cur());
            let x = m.query_advice(cols.g, Rotation::cur());
            let y = m.query_advice(cols.g2, Rotation::cur());
            let f: Vec<Expression<Fr>> = cols.f.iter().map(|col| m.query_fixed(*col, Rotation::cur())).collect();
            vec![s * (v - f[0].clone() - f[1].clone() * x - f[2].clone() * y)]
        });
        meta.create_gate("bit", |m| {
            let s = m.query_selector(s_bit);
            let b = m.query_advice(cols.b, Rotation::cur());
            vec![s * b.clone() * (c(Fr::from(1)) - b)]
        });
        let s_sign: Vec<(usize, Selector)> = rows.iter().map(|r| (*r, meta.selector())).collect();
        for (r, sel) in &s_sign {
            let (r, sel) = (*r, *sel);
            meta.create_gate("sign decomposition", |m| {
                let s = m.query_selector(sel);
                let v = m.query_advice(cols.v, Rotation::cur());
                let b = m.query_advice(cols.b, Rotation::cur());
                let one = c(Fr::from(1));
                let w = b.clone() * v.clone() + (one.clone() - b) * (c(-Fr::from(1)) - v);
                let mut limbs = c(Fr::from(0));
                for row in 0..r {
                    for (k, col) in cols.q.iter().enumerate() {
                        let shift = two_pow(limb_bits * (4 * row as u32 + k as u32));
                        limbs = limbs + m.query_advice(*col, Rotation(row as i32)) * c(shift);
                    }
                }
                vec![s * (w - limbs)]
            });
        }
        Self { s_value, s_bit, s_sign, limb_bits }
    }

    /// The sign selector for `R` rows.
    pub fn sign_selector(&self, rows: usize) -> Option<Selector> {
        self.s_sign.iter().find(|(r, _)| *r == rows).map(|(_, s)| *s)
    }
}

/// Rows needed to decompose `w < 2^bits` into `4·L`-bit rows.
pub fn rows_for_bits(bits: u32, limb_bits: u32) -> usize {
    (bits.max(1) as usize).div_ceil(4 * limb_bits as usize)
}

/// Native twin: the limbs of `w = b·d + (1−b)(−1−d)` (little-endian, `L` bits each).
pub fn sign_limbs(d: i128, limb_bits: u32, rows: usize) -> (bool, Vec<u64>) {
    let b = d >= 0;
    let w: u128 = if b { d as u128 } else { (-1 - d) as u128 };
    let mask = (1u128 << limb_bits) - 1;
    let limbs = (0..4 * rows).map(|k| if (k as u32) * limb_bits >= 128 { 0 } else { ((w >> (k as u32 * limb_bits)) & mask) as u64 }).collect();
    (b, limbs)
}
