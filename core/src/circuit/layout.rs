//! The circuit's columns and a column-aware row allocator.
//!
//! Every chip works on a shared set of columns at absolute rows (halo2-axiom's
//! `SimpleFloorPlanner` places every region at row 0, so the layout is ours to manage):
//!
//! | column | phase | equality | used for |
//! |---|---|---|---|
//! | `q[0..4]` | 1 | yes | "quads": 4 pixels / mask bits per row, product-polynomial coefficients, range-check limbs, rule operands |
//! | `v` | 1 | yes | packing accumulators, comparator values, inverses |
//! | `b` | 1 | yes | comparator / rule bits |
//! | `h` | 2 | yes | Horner evaluations at β, popcount |
//! | `g`, `g2` | 2 | yes | padded-chain values, kernel polynomials, the identity accumulator, rule operand copies |
//! | `f[0..3]` | fixed | — | comparator coefficients |
//! | `kf` | fixed | — | kernel taps |
//! | `constant` | fixed | — | constants (halo2 `enable_constant`) |
//! | `instance` | — | yes | public inputs |
//!
//! Models with a CNN path (a liveness rule) add [`CnnColumns`]; models without one keep
//! exactly the columns above, so their verifying keys do not change:
//!
//! | column | phase | equality | used for |
//! |---|---|---|---|
//! | `u` | 1 | yes | ReLU and requantisation outputs |
//! | `w[0..4]` | fixed | — | dense-layer weights |
//! | `c[0..2]` | fixed | — | per-row constants: input offsets (biases), ReLU constants, requant lower bounds, dense constants |
//!
//! [`Floor`] places regions greedily: a region that uses a set of columns starts at the first
//! row at which all of them are free.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Challenge, Column, ConstraintSystem, FirstPhase, Fixed, Instance, SecondPhase};

/// The shared columns.
#[derive(Clone, Copy, Debug)]
pub struct Columns {
    /// Quad columns (phase 1).
    pub q: [Column<Advice>; 4],
    /// Value column (phase 1).
    pub v: Column<Advice>,
    /// Bit column (phase 1).
    pub b: Column<Advice>,
    /// Horner column (phase 2).
    pub h: Column<Advice>,
    /// Auxiliary phase-2 column.
    pub g: Column<Advice>,
    /// Second auxiliary phase-2 column.
    pub g2: Column<Advice>,
    /// Comparator coefficients.
    pub f: [Column<Fixed>; 3],
    /// Kernel taps.
    pub kf: Column<Fixed>,
    /// Constants.
    pub constant: Column<Fixed>,
    /// Public inputs.
    pub instance: Column<Instance>,
    /// The Fiat–Shamir challenge β, drawn after every phase-1 column is committed.
    pub beta: Challenge,
}

impl Columns {
    /// Creates the columns (and the challenge) in `meta`.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let q = [meta.advice_column_in(FirstPhase), meta.advice_column_in(FirstPhase), meta.advice_column_in(FirstPhase), meta.advice_column_in(FirstPhase)];
        let v = meta.advice_column_in(FirstPhase);
        let b = meta.advice_column_in(FirstPhase);
        let beta = meta.challenge_usable_after(FirstPhase);
        let h = meta.advice_column_in(SecondPhase);
        let g = meta.advice_column_in(SecondPhase);
        let g2 = meta.advice_column_in(SecondPhase);
        let f = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        let kf = meta.fixed_column();
        let constant = meta.fixed_column();
        meta.enable_constant(constant);
        let instance = meta.instance_column();
        for c in q.iter().chain([&v, &b, &h, &g, &g2]) {
            meta.enable_equality(*c);
        }
        meta.enable_equality(instance);
        Self { q, v, b, h, g, g2, f, kf, constant, instance, beta }
    }
}

/// The extra columns of the CNN chips ([`super::chips::relu`], [`super::chips::requant`], [`super::chips::dense`]).
#[derive(Clone, Copy, Debug)]
pub struct CnnColumns {
    /// Output column (phase 1).
    pub u: Column<Advice>,
    /// Dense weights.
    pub w: [Column<Fixed>; 4],
    /// Per-row constants.
    pub c: [Column<Fixed>; 2],
}

impl CnnColumns {
    /// Creates the columns in `meta`.
    ///
    /// # Side-effects
    /// `u` is equality-enabled.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let u = meta.advice_column_in(FirstPhase);
        meta.enable_equality(u);
        let w = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        let c = [meta.fixed_column(), meta.fixed_column()];
        Self { u, w, c }
    }
}

/// Column groups a region can claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Col {
    /// `q[0..4]`.
    Q,
    /// `v`.
    V,
    /// `b`.
    B,
    /// `h`.
    H,
    /// `g`.
    G,
    /// `g2`.
    G2,
    /// `u` (CNN outputs).
    U,
}

/// A greedy column-aware row allocator.
#[derive(Clone, Debug, Default)]
pub struct Floor {
    next: std::collections::BTreeMap<Col, usize>,
}

impl Floor {
    /// Reserves `rows` rows on `cols`; returns the first row.
    pub fn place(&mut self, cols: &[Col], rows: usize) -> usize {
        let start = cols.iter().map(|c| *self.next.get(c).unwrap_or(&0)).max().unwrap_or(0);
        for c in cols {
            self.next.insert(*c, start + rows);
        }
        start
    }

    /// Highest row used by any column.
    pub fn height(&self) -> usize {
        self.next.values().copied().max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_on_disjoint_columns_share_rows() {
        let mut f = Floor::default();
        assert_eq!(f.place(&[Col::Q, Col::H], 10), 0);
        assert_eq!(f.place(&[Col::G], 4), 0);
        assert_eq!(f.place(&[Col::Q, Col::G], 3), 10);
        assert_eq!(f.place(&[Col::H], 2), 10);
        assert_eq!(f.height(), 13);
    }
}
