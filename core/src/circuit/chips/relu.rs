//! ReLU (and any `Max` with a constant): `y = max(x, c)` with a proven sign bit.
//!
//! `x` is a copy (equality constraint) of a proven cell — a convolution output, a dense-layer
//! output, a requantisation output — plus a constant offset (the bias a convolution output
//! cell does not include). With `d = x − c`, the bit `b = [d ≥ 0]` is proven exactly like the
//! comparator's ([`super::compare`]): `w = b·d + (1 − b)·(−1 − d)` is decomposed into `4R`
//! range-checked limbs of `L` bits, which a wrong `b` cannot satisfy because `w` would then
//! be a "negative" field element ≈ `p − |d|`. `R` is chosen per layer from the proven bound of
//! `d`, and `4RL ≤ 224`. The output is `y = c + b·d`, which is `max(x, c)`.
//!
//! | row | q0..q3 | v | b | u | c0 | c1 | gates |
//! |---|---|---|---|---|---|---|---|
//! | r | limbs 0..3 | `x₀` (copy) | `b` | `y` | `offset − c` | `c` | `s_relu[R]`, `s_limbs` |
//! | r+1..r+R−1 | limbs 4.. | | | | | | `s_limbs` |
//!
//! with `d = v + c0`. The chip does not constrain where `x₀` comes from: the statement copies
//! it from the producing cell.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::{c, two_pow};
use crate::circuit::layout::{CnnColumns, Columns};

/// Configuration of the ReLU gates.
#[derive(Clone, Debug)]
pub struct ReluConfig {
    /// One selector per limb-row count `R` in use.
    pub s_relu: Vec<(usize, Selector)>,
    /// Limb width in bits.
    pub limb_bits: u32,
}

impl ReluConfig {
    /// Configures one gate per row count in `rows` (each `R ≥ 1`). The limbs are range-checked
    /// by [`super::range`]'s `s_limbs`, which the statement enables on every row.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns, limb_bits: u32, rows: &[usize]) -> Self {
        let s_relu: Vec<(usize, Selector)> = rows.iter().map(|r| (*r, meta.selector())).collect();
        for &(r, sel) in &s_relu {
            meta.create_gate("relu", |m| {
                let s = m.query_selector(sel);
                let v = m.query_advice(cols.v, Rotation::cur());
                let b = m.query_advice(cols.b, Rotation::cur());
                let y = m.query_advice(cnn.u, Rotation::cur());
                let off = m.query_fixed(cnn.c[0], Rotation::cur());
                let konst = m.query_fixed(cnn.c[1], Rotation::cur());
                let one = c(Fr::from(1));
                let d = v + off;
                let w = b.clone() * d.clone() + (one.clone() - b.clone()) * (c(-Fr::from(1)) - d.clone());
                let mut limbs = c(Fr::from(0));
                for row in 0..r {
                    for (k, col) in cols.q.iter().enumerate() {
                        limbs = limbs + m.query_advice(*col, Rotation(row as i32)) * c(two_pow(limb_bits * (4 * row as u32 + k as u32)));
                    }
                }
                vec![s.clone() * b.clone() * (one - b.clone()), s.clone() * (w - limbs), s * (y - konst - b * d)]
            });
        }
        Self { s_relu, limb_bits }
    }

    /// The selector for `R` limb rows.
    pub fn selector(&self, rows: usize) -> Option<Selector> {
        self.s_relu.iter().find(|(r, _)| *r == rows).map(|(_, s)| *s)
    }
}

/// Native twin: the sign bit, the limbs of `w` and the output for `d = x − c`.
pub fn relu_cells(d: i128, konst: i128, limb_bits: u32, rows: usize) -> (bool, Vec<u64>, i128) {
    let (b, limbs) = super::compare::sign_limbs(d, limb_bits, rows);
    (b, limbs, if b { konst + d } else { konst })
}
