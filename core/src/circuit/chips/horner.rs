//! Horner evaluation of quad rows at the challenge β.
//!
//! A run of rows holding values `x_0, x_1, …` four per row (`q0..q3` = `x_{4r}..x_{4r+3}`)
//! is evaluated as the polynomial with the *first* value at the highest degree:
//! `h_r = Σ_{i ≤ 4r+3} x_i · β^(4r+3−i)`. These evaluations are what the convolution identity
//! (see [`super::conv`]) compares; β is drawn after the `q` columns are committed, so a wrong
//! value survives only with probability ≈ degree / |F|.
//!
//! | row | q0..q3 | h | gate |
//! |---|---|---|---|
//! | first | x0..x3 | `x0β³+x1β²+x2β+x3` | `s_start` |
//! | next | x4..x7 | `h[-1]·β⁴ + x4β³+…+x7` | `s_next` |

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::pow;
use crate::circuit::layout::Columns;

/// Configuration of the quad Horner gate.
#[derive(Clone, Debug)]
pub struct HornerConfig {
    /// First row of a run.
    pub s_start: Selector,
    /// Continuation rows.
    pub s_next: Selector,
}

/// `q0β³ + q1β² + q2β + q3` at the current row.
pub fn quad_at_beta(m: &mut VirtualCells<'_, Fr>, cols: &Columns, beta: &Expression<Fr>) -> Expression<Fr> {
    let q: Vec<Expression<Fr>> = cols.q.iter().map(|c| m.query_advice(*c, Rotation::cur())).collect();
    q[0].clone() * pow(beta, 3) + q[1].clone() * pow(beta, 2) + q[2].clone() * beta.clone() + q[3].clone()
}

impl HornerConfig {
    /// Configures the gate.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let s_start = meta.selector();
        let s_next = meta.selector();
        meta.create_gate("horner over quads", |m| {
            let beta = m.query_challenge(cols.beta);
            let quad = quad_at_beta(m, cols, &beta);
            let h = m.query_advice(cols.h, Rotation::cur());
            let h_prev = m.query_advice(cols.h, Rotation::prev());
            let (st, nx) = (m.query_selector(s_start), m.query_selector(s_next));
            vec![st * (h.clone() - quad.clone()), nx * (h - h_prev * pow(&beta, 4) - quad)]
        });
        Self { s_start, s_next }
    }
}

/// Native twin: Horner values of `values` (length a multiple of 4), one per row.
pub fn horner_rows(values: &[Fr], beta: Fr) -> Vec<Fr> {
    let b2 = beta * beta;
    let b3 = b2 * beta;
    let b4 = b2 * b2;
    let mut out = Vec::with_capacity(values.len() / 4);
    let mut h = Fr::from(0);
    for (r, q) in values.chunks(4).enumerate() {
        let quad = q[0] * b3 + q[1] * b2 + q[2] * beta + q[3];
        h = if r == 0 { quad } else { h * b4 + quad };
        out.push(h);
    }
    out
}
