//! Small logic gadgets for the encoder rules: squares, non-zero tests and 4-input AND.
//!
//! | gate | row cells | constraint |
//! |---|---|---|
//! | `s_square` | q0 = x, q1 = y, q2, q3 | `q2 = x²`, `q3 = y²` |
//! | `s_nonzero` | q0 = x, q1 = y, v = inv, b | `(x²+y²)·inv = b`, `(x²+y²)·(1−b) = 0` |
//! | `s_and` | q0..q3 = bits, b | `b = q0·q1·q2·q3` |
//! | `s_square` + `s_nonzero` | q0 = x, q1 = y, q2, q3, v = inv, b | both of the above, for one operand pair |
//!
//! The last row is [`super::plan::Atom::SquareNonZero`]: open-iris reads both the squares (for
//! its fragile-bit comparators) and the non-zero bit of the same response pair, and the two gates
//! constrain disjoint cells besides the shared operands, so the planner puts them on one row
//! (8,192 rows fewer for openiris-1.11). Each gate holds on that row exactly as on a row of its
//! own.
//!
//! Operands are copies of proven cells. `x² + y² < p` because the operands are bounded
//! (convolution outputs are below 2^60), so the non-zero test cannot wrap.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::expr::c;
use super::layout::Columns;

/// Configuration of the logic gates.
#[derive(Clone, Debug)]
pub struct LogicConfig {
    /// Squares.
    pub s_square: Selector,
    /// Non-zero pair.
    pub s_nonzero: Selector,
    /// 4-input AND.
    pub s_and: Selector,
}

impl LogicConfig {
    /// Configures the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let cfg = Self { s_square: meta.selector(), s_nonzero: meta.selector(), s_and: meta.selector() };
        meta.create_gate("logic", |m| {
            let q: Vec<Expression<Fr>> = cols.q.iter().map(|col| m.query_advice(*col, Rotation::cur())).collect();
            let v = m.query_advice(cols.v, Rotation::cur());
            let b = m.query_advice(cols.b, Rotation::cur());
            let (sq, nz, and) = (m.query_selector(cfg.s_square), m.query_selector(cfg.s_nonzero), m.query_selector(cfg.s_and));
            let norm = q[0].clone() * q[0].clone() + q[1].clone() * q[1].clone();
            vec![
                sq.clone() * (q[2].clone() - q[0].clone() * q[0].clone()),
                sq * (q[3].clone() - q[1].clone() * q[1].clone()),
                nz.clone() * (norm.clone() * v - b.clone()),
                nz * norm * (c(Fr::from(1)) - b.clone()),
                and * (b - q[0].clone() * q[1].clone() * q[2].clone() * q[3].clone()),
            ]
        });
        cfg
    }
}
