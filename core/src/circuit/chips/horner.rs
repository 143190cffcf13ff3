//! Horner evaluation of quad rows at the challenge β.
//!
//! A run of rows holding values `x_0, x_1, …` four per row (`q0..q3` = `x_{4r}..x_{4r+3}`)
//! is evaluated as the polynomial with the *first* value at the highest degree:
//! `h_r = Σ_{i ≤ 4r+3} x_i · β^(4r+3−i)`. These evaluations are what the convolution identity
//! (see [`super::conv`]) compares; β is drawn after the `q` columns are committed, so a wrong
//! value survives only with probability ≈ degree / |F|.
//!
//! | row | q0..q3 | h | selector | constraint of `horner over quads` |
//! |---|---|---|---|---|
//! | first | x0..x3 | `x0β³+x1β²+x2β+x3` | `s_start` | 0: `h = quad(β)` |
//! | next | x4..x7 | `h[-1]·β⁴ + x4β³+…+x7` | `s_next` | 1: `h = h[-1]·β⁴ + quad(β)` |
//!
//! # What this chip does not constrain
//!
//! The `q` cells: they belong to whoever wrote the values (pixels, mask bits, product
//! coefficients) and are read here. `h` is a phase-2 column.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector, VirtualCells};
use halo2_proofs::poly::Rotation;

use super::AssignedFr;
use crate::circuit::expr::pow;
use crate::circuit::layout::Columns;

/// Configuration of the quad Horner gate.
#[derive(Clone, Debug)]
pub struct HornerConfig {
    cols: Columns,
    /// First row of a run.
    s_start: Selector,
    /// Continuation rows.
    s_next: Selector,
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
        Self { cols: *cols, s_start, s_next }
    }

    /// Makes rows `first_row .. first_row + rows` one Horner run.
    pub fn enable_run(&self, region: &mut Region<'_, Fr>, first_row: usize, rows: usize) -> Result<(), Error> {
        self.s_start.enable(region, first_row)?;
        (first_row + 1..first_row + rows).try_for_each(|r| self.s_next.enable(region, r))
    }

    /// A Horner run over the `q` cells of `values.len() / 4` rows from `first_row` (the caller
    /// assigns those cells): enables the run and assigns the evaluations `h` at β. Returns the
    /// `h` cells; the last one is the run's evaluation.
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        values: Value<&[Fr]>,
        rows: usize,
        beta: Value<Fr>,
    ) -> Result<Vec<AssignedFr<'v>>, Error> {
        self.enable_run(region, first_row, rows)?;
        let h = values.zip(beta).map(|(v, b)| horner_rows(v, b));
        Ok((0..rows).map(|r| region.assign_advice(self.cols.h, first_row + r, h.as_ref().map(|h| h[r]))).collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;

    const FIRST: usize = 1;
    const ROWS: usize = 3;

    /// A cell overwritten after the chip has assigned its rows (`+ 1`).
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        H(usize),
        Q(usize, usize),
    }

    /// A run of three rows from row 1 over the values 1, 2, …, 12.
    #[derive(Clone, Debug)]
    struct Run(Vec<Tamper>);

    fn values() -> Vec<Fr> {
        (1..=4 * ROWS as u64).map(Fr::from).collect()
    }

    impl ChipTest for Run {
        type Config = HornerConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> HornerConfig {
            HornerConfig::configure(meta, cols)
        }

        fn assign(&self, cfg: &HornerConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let mut v = values();
            for (i, x) in v.iter().enumerate() {
                region.assign_advice(cols.q[i % 4], FIRST + i / 4, Value::known(*x));
            }
            region.next_phase();
            let beta = region.get_challenge(cols.beta);
            let h = cfg.assign(region, FIRST, Value::known(&v[..]), ROWS, beta)?;
            for t in &self.0 {
                match *t {
                    Tamper::H(r) => {
                        region.assign_advice(cols.h, FIRST + r, h[r].value().map(|x| x.evaluate() + Fr::from(1)));
                    }
                    Tamper::Q(r, k) => {
                        v[4 * r + k] += Fr::from(1);
                        region.assign_advice(cols.q[k], FIRST + r, Value::known(v[4 * r + k]));
                    }
                }
            }
            Ok(())
        }
    }

    fn horner(tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Run(tampers.to_vec()))
    }

    #[test]
    fn honest_run_is_accepted_and_is_the_polynomial_at_beta() {
        assert_eq!(horner(&[]), vec![]);
        // First value at the highest degree: Σ x_i·β^(n−1−i).
        let beta = Fr::from(7);
        let v = values();
        let direct = v.iter().fold(Fr::from(0), |acc, x| acc * beta + x);
        assert_eq!(*horner_rows(&v, beta).last().unwrap(), direct);
    }

    #[test]
    fn a_wrong_first_evaluation_fails_the_start_constraint() {
        // The next row reads it as h[-1] too.
        assert_eq!(horner(&[Tamper::H(0)]), vec![gate("horner over quads", 0, FIRST), gate("horner over quads", 1, FIRST + 1)]);
        assert_eq!(horner(&[Tamper::Q(0, 3)]), vec![gate("horner over quads", 0, FIRST)]);
    }

    #[test]
    fn a_wrong_next_evaluation_fails_the_next_constraint() {
        assert_eq!(horner(&[Tamper::H(ROWS - 1)]), vec![gate("horner over quads", 1, FIRST + ROWS - 1)]);
        assert_eq!(horner(&[Tamper::Q(1, 0)]), vec![gate("horner over quads", 1, FIRST + 1)]);
    }
}
