//! Constant-weight linear layers over materialized values: `y = c + Σ_k w_k·x_k`, one dot
//! product per output, four terms per row.
//!
//! # Why this layout
//!
//! The convolution identity ([`super::conv`]) makes a layer cost per *input and output*
//! instead of per multiply-add, but it needs its source laid out as Horner chains and a
//! sliding-window structure. It is used for every layer that reads an enrollment input (the
//! first convolution of a CNN, where almost all the multiply-adds are: 1.2M for
//! liveness-v1). The later layers of a small CNN read a few thousand materialized values
//! (requantisation and ReLU outputs) and are cheap in absolute terms (liveness-v1: 147k
//! multiply-adds for the second convolution, 4k for the global pooling, 8 for the final
//! Gemm), so they use this plain layout: the inputs are copies of the producing cells
//! (equality constraints, no extra range checks), the weights sit in fixed columns, and the
//! running sum is in `v`. A random-linear-combination check would need the β-weighted
//! column sums `Σ_i β^i·W_ij` of the weight matrix — one multiply-add per weight in the
//! circuit again — so it does not pay off without the convolution structure.
//!
//! | row | q0..q3 | v | w0..w3 | c0 | gate |
//! |---|---|---|---|---|---|
//! | first of an output | `x` copies | `c + Σ w·q` | weights | `c` (bias) | `s_dot_start` |
//! | next | `x` copies | `v[-1] + Σ w·q` | weights | 0 | `s_dot_next` |
//!
//! The output is `v` on the output's last row. Slots with weight 0 are unconstrained.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::layout::{CnnColumns, Columns};

/// Configuration of the dot-product gate.
#[derive(Clone, Debug)]
pub struct DenseConfig {
    /// First row of an output.
    pub s_dot_start: Selector,
    /// Continuation rows.
    pub s_dot_next: Selector,
}

impl DenseConfig {
    /// Configures the gate.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> Self {
        let s_dot_start = meta.selector();
        let s_dot_next = meta.selector();
        meta.create_gate("dense dot product", |m| {
            let mut sum: Expression<Fr> = m.query_fixed(cnn.c[0], Rotation::cur());
            for k in 0..4 {
                sum = sum + m.query_advice(cols.q[k], Rotation::cur()) * m.query_fixed(cnn.w[k], Rotation::cur());
            }
            let v = m.query_advice(cols.v, Rotation::cur());
            let v_prev = m.query_advice(cols.v, Rotation::prev());
            let (st, nx) = (m.query_selector(s_dot_start), m.query_selector(s_dot_next));
            vec![st * (v.clone() - sum.clone()), nx * (v - v_prev - sum)]
        });
        Self { s_dot_start, s_dot_next }
    }
}
