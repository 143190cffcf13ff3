//! Small logic gadgets for the encoder rules: squares, non-zero tests and 4-input AND.
//!
//! One gate, `logic`, with one constraint per line below (constraint indices 0..4):
//!
//! | row | q0 | q1 | q2 | q3 | v | b | selector | constraints |
//! |---|---|---|---|---|---|---|---|---|
//! | square | `x` | `y` | `x²` | `y²` | | | `s_square` | 0: `q2 = q0²`, 1: `q3 = q1²` |
//! | non-zero | `x` | `y` | | | `inv` | `b` | `s_nonzero` | 2: `(x²+y²)·inv = b`, 3: `(x²+y²)·(1−b) = 0` |
//! | AND | bit | bit | bit | bit | | `b` | `s_and` | 4: `b = q0·q1·q2·q3` |
//! | square + non-zero | `x` | `y` | `x²` | `y²` | `inv` | `b` | `s_square`, `s_nonzero` | 0–3, for one operand pair |
//!
//! The last row is [`crate::circuit::plan::Atom::SquareNonZero`]: open-iris reads both the
//! squares (for its fragile-bit comparators) and the non-zero bit of the same response pair, and
//! the two selectors constrain disjoint cells besides the shared operands, so the planner puts
//! them on one row (8,192 rows fewer for openiris-1.11). Each constraint holds on that row
//! exactly as on a row of its own.
//!
//! The non-zero test fixes `b` without a boolean constraint: `b = 0` when `x = y = 0`
//! (constraint 2), `b = 1` otherwise (constraint 3). `x² + y² < p` because the operands are
//! bounded (convolution outputs are below 2^60), so the test cannot wrap.
//!
//! # What this chip does not constrain
//!
//! Where its operands come from (the statement copies them from proven cells) and that the
//! AND inputs are bits (they are comparator or non-zero outputs). The statement also enables
//! the comparator's `bit` gate on non-zero rows; it is redundant and kept for the keys.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::AssignedFr as Cell;
use crate::circuit::expr::c;
use crate::circuit::layout::Columns;

/// Configuration of the logic gates.
#[derive(Clone, Debug)]
pub struct LogicConfig {
    cols: Columns,
    s_square: Selector,
    s_nonzero: Selector,
    s_and: Selector,
}

impl LogicConfig {
    /// Configures the gate on the shared columns `q`, `v`, `b`.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let cfg = Self { cols: *cols, s_square: meta.selector(), s_nonzero: meta.selector(), s_and: meta.selector() };
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

    /// Makes `row` a square row.
    pub fn enable_square(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_square.enable(region, row)
    }

    /// Makes `row` a non-zero row.
    pub fn enable_nonzero(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_nonzero.enable(region, row)
    }

    /// Makes `row` an AND row.
    pub fn enable_and(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_and.enable(region, row)
    }

    /// A square row for operands `x`, `y`: returns the cells of `x²` and `y²`.
    pub fn assign_square<'v>(&self, region: &mut Region<'_, Fr>, row: usize, x: Value<Fr>, y: Value<Fr>) -> Result<[Cell<'v>; 2], Error> {
        self.enable_square(region, row)?;
        let q = self.cols.q;
        region.assign_advice(q[0], row, x);
        region.assign_advice(q[1], row, y);
        let sq = x.zip(y).map(|(x, y)| squares(x, y));
        Ok([region.assign_advice(q[2], row, sq.map(|s| s[0])), region.assign_advice(q[3], row, sq.map(|s| s[1]))])
    }

    /// A non-zero row for operands `x`, `y`: returns the cell of `b = [x ≠ 0 ∨ y ≠ 0]`.
    pub fn assign_nonzero<'v>(&self, region: &mut Region<'_, Fr>, row: usize, x: Value<Fr>, y: Value<Fr>) -> Result<Cell<'v>, Error> {
        self.enable_nonzero(region, row)?;
        let cells = x.zip(y).map(|(x, y)| nonzero(x, y));
        region.assign_advice(self.cols.q[0], row, x);
        region.assign_advice(self.cols.q[1], row, y);
        region.assign_advice(self.cols.v, row, cells.map(|c| c.0));
        Ok(region.assign_advice(self.cols.b, row, cells.map(|c| c.1)))
    }

    /// An AND row of four bits: returns the cell of their product.
    pub fn assign_and<'v>(&self, region: &mut Region<'_, Fr>, row: usize, bits: [Value<Fr>; 4]) -> Result<Cell<'v>, Error> {
        self.enable_and(region, row)?;
        for (k, bit) in bits.iter().enumerate() {
            region.assign_advice(self.cols.q[k], row, *bit);
        }
        let [a, b, c, d] = bits;
        let prod = a.zip(b).zip(c.zip(d)).map(|((a, b), (c, d))| and([a, b, c, d]));
        Ok(region.assign_advice(self.cols.b, row, prod))
    }
}

/// The values a square row adds to its operands: `[x², y²]` (`q2`, `q3`).
pub(crate) fn squares(x: Fr, y: Fr) -> [Fr; 2] {
    [x * x, y * y]
}

/// The values a non-zero row adds to its operands: `(inv, b)` (`v`, `b`), with `b = 1` and
/// `inv = (x² + y²)⁻¹` unless both operands are zero (then both are 0).
pub(crate) fn nonzero(x: Fr, y: Fr) -> (Fr, Fr) {
    let norm = x * x + y * y;
    match Option::<Fr>::from(norm.invert()) {
        Some(inv) => (inv, Fr::from(1)),
        None => (Fr::from(0), Fr::from(0)),
    }
}

/// The value an AND row adds to its four inputs: their product (`b`).
pub(crate) fn and(bits: [Fr; 4]) -> Fr {
    bits.iter().product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;

    /// A cell overwritten after the chip has assigned its row.
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        Q(usize, u64),
        V(u64),
        B(u64),
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Square,
        NonZero,
        And,
    }

    /// One row of `op` at row 1 (row 0 is left empty) on operands `ops`, then `tamper`.
    #[derive(Clone, Debug)]
    struct Logic {
        op: Op,
        ops: [u64; 4],
        tampers: Vec<Tamper>,
    }

    const ROW: usize = 1;

    impl ChipTest for Logic {
        type Config = LogicConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> LogicConfig {
            LogicConfig::configure(meta, cols)
        }

        fn assign(&self, cfg: &LogicConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let v = |i: usize| Value::known(Fr::from(self.ops[i]));
            match self.op {
                Op::Square => {
                    cfg.assign_square(region, ROW, v(0), v(1))?;
                }
                Op::NonZero => {
                    cfg.assign_nonzero(region, ROW, v(0), v(1))?;
                }
                Op::And => {
                    cfg.assign_and(region, ROW, [v(0), v(1), v(2), v(3)])?;
                }
            }
            for t in &self.tampers {
                match *t {
                    Tamper::Q(k, x) => region.assign_advice(cols.q[k], ROW, Value::known(Fr::from(x))),
                    Tamper::V(x) => region.assign_advice(cols.v, ROW, Value::known(Fr::from(x))),
                    Tamper::B(x) => region.assign_advice(cols.b, ROW, Value::known(Fr::from(x))),
                };
            }
            Ok(())
        }
    }

    fn logic(op: Op, ops: [u64; 4], tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Logic { op, ops, tampers: tampers.to_vec() })
    }

    #[test]
    fn honest_rows_are_accepted() {
        assert_eq!(logic(Op::Square, [3, 5, 0, 0], &[]), vec![]);
        assert_eq!(logic(Op::NonZero, [0, 0, 0, 0], &[]), vec![]);
        assert_eq!(logic(Op::NonZero, [0, 7, 0, 0], &[]), vec![]);
        assert_eq!(logic(Op::And, [1, 1, 1, 1], &[]), vec![]);
        assert_eq!(logic(Op::And, [1, 0, 1, 1], &[]), vec![]);
    }

    #[test]
    fn wrong_squares_fail_their_constraints() {
        assert_eq!(logic(Op::Square, [3, 5, 0, 0], &[Tamper::Q(2, 10)]), vec![gate("logic", 0, ROW)]);
        assert_eq!(logic(Op::Square, [3, 5, 0, 0], &[Tamper::Q(3, 24)]), vec![gate("logic", 1, ROW)]);
    }

    #[test]
    fn wrong_nonzero_bits_fail_their_constraints() {
        // Zero operands claimed non-zero (with any inverse): only constraint 2 can object.
        assert_eq!(logic(Op::NonZero, [0, 0, 0, 0], &[Tamper::B(1)]), vec![gate("logic", 2, ROW)]);
        // Non-zero operands claimed zero with inverse 0: constraint 2 holds (0 = 0), 3 objects.
        assert_eq!(logic(Op::NonZero, [0, 7, 0, 0], &[Tamper::B(0), Tamper::V(0)]), vec![gate("logic", 3, ROW)]);
        // A wrong inverse for a non-zero pair.
        assert_eq!(logic(Op::NonZero, [0, 7, 0, 0], &[Tamper::V(3)]), vec![gate("logic", 2, ROW)]);
    }

    #[test]
    fn wrong_and_output_fails() {
        assert_eq!(logic(Op::And, [1, 0, 1, 1], &[Tamper::B(1)]), vec![gate("logic", 4, ROW)]);
        assert_eq!(logic(Op::And, [1, 1, 1, 1], &[Tamper::Q(1, 0)]), vec![gate("logic", 4, ROW)]);
    }
}
