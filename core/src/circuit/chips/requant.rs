//! Requantisation: the rounding right shift `y = floor((x + 2^(s−1)) / 2^s)` of
//! [`crate::model::ir::Requant`], proven with a range-checked remainder and a range-checked
//! output.
//!
//! With `x' = x + 2^(s−1)`, the gate checks `x' = 2^s·y + r` where
//! * `0 ≤ r < 2^s`: `r` is written in `⌊s/L⌋` full `L`-bit limbs plus, when `L ∤ s`, one
//!   partial limb `ℓ` of `t = s mod L` bits, proven `< 2^t` by also range-checking
//!   `ℓ·2^(L−t)` (the next cell) — the usual shifted-limb trick, so the remainder bound is
//!   exact for every shift;
//! * `0 ≤ y − y_lo < 2^(H·L)`: `y − y_lo` (with `y_lo` the proven lower bound of the output)
//!   is written in `H` limbs.
//!
//! Both sides are then small integers (far below the field size), so the field equation is
//! the integer equation and `y` is exactly the floor: a tampered remainder or output breaks
//! either a limb lookup or the gate.
//!
//! Cells `k = 0, 1, …` are `q[k mod 4]` on row `r + ⌊k/4⌋`:
//!
//! | cells | value |
//! |---|---|
//! | `0 .. F` | full remainder limbs (`F = ⌊s/L⌋`) |
//! | `F`, `F+1` | partial limb `ℓ` and `ℓ·2^(L−t)` (only when `t > 0`) |
//! | next `H` | limbs of `y − y_lo` |
//!
//! | row | q0..q3 | v | u | c0 | c1 | gates |
//! |---|---|---|---|---|---|---|
//! | r | cells 0..3 | `x₀` (copy) | `y` | offset | `y_lo` | `s_requant[shape]`, `s_limbs` |
//! | r+1.. | cells 4.. | | | | | `s_limbs` |
//!
//! with `x = v + c0`. Unused cells of the last row are range-checked and otherwise free.
//!
//! The gate `requantisation` (one per shape) has these constraints, by index:
//!
//! | # (`t > 0`) | # (`t = 0`) | constraint |
//! |---|---|---|
//! | 0 | — | `cell[F+1] = ℓ·2^(L−t)` (the shifted partial limb) |
//! | 1 | 0 | `y − y_lo = Σ_j hi_j·2^(jL)` |
//! | 2 | 1 | `x + 2^(s−1) = 2^s·y + r` |
//!
//! # What this chip does not constrain
//!
//! Where `x₀` comes from (the statement copies it from the producing cell), and that `y_lo`
//! is a true lower bound of the honest output (the planner proves it from the model's
//! bounds; an honest output below it has no witness).

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::range::RangeConfig;
use super::AssignedFr;
use crate::circuit::expr::{c, fe, two_pow};
use crate::circuit::layout::{CnnColumns, Columns};

/// The gate variant of one requantisation: shift and output limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RequantShape {
    /// Shift `s ≥ 1`.
    pub shift: u32,
    /// Limbs of `y − y_lo` (`H ≥ 1`).
    pub hi_limbs: usize,
}

impl RequantShape {
    /// Full remainder limbs `F`.
    fn full(&self, limb_bits: u32) -> usize {
        (self.shift / limb_bits) as usize
    }

    /// Bits of the partial remainder limb (0 if none).
    fn partial(&self, limb_bits: u32) -> u32 {
        self.shift % limb_bits
    }

    /// Index of the first output limb.
    fn hi_base(&self, limb_bits: u32) -> usize {
        self.full(limb_bits) + if self.partial(limb_bits) > 0 { 2 } else { 0 }
    }

    /// Rows one requantisation occupies.
    pub fn rows(&self, limb_bits: u32) -> usize {
        (self.hi_base(limb_bits) + self.hi_limbs).div_ceil(4)
    }
}

/// Configuration of the requantisation gates.
#[derive(Clone, Debug)]
pub struct RequantConfig {
    cols: Columns,
    cnn: CnnColumns,
    /// One selector per shape in use.
    s_requant: Vec<(RequantShape, Selector)>,
    /// Limb width in bits.
    limb_bits: u32,
}

impl RequantConfig {
    /// Configures one gate per shape. The limbs are range-checked by [`super::range`]'s
    /// `s_limbs`, which the statement enables on every row.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns, limb_bits: u32, shapes: &[RequantShape]) -> Self {
        let s_requant: Vec<(RequantShape, Selector)> = shapes.iter().map(|s| (*s, meta.selector())).collect();
        for &(sh, sel) in &s_requant {
            meta.create_gate("requantisation", |m| {
                let s = m.query_selector(sel);
                let cell = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, k: usize| m.query_advice(cols.q[k % 4], Rotation((k / 4) as i32));
                let (full, t) = (sh.full(limb_bits), sh.partial(limb_bits));
                let mut r: Expression<Fr> = c(Fr::from(0));
                for i in 0..full {
                    r = r + cell(m, i) * c(two_pow(limb_bits * i as u32));
                }
                let mut out = Vec::new();
                if t > 0 {
                    let l = cell(m, full);
                    r = r + l.clone() * c(two_pow(limb_bits * full as u32));
                    out.push(s.clone() * (cell(m, full + 1) - l * c(two_pow(limb_bits - t))));
                }
                let base = sh.hi_base(limb_bits);
                let mut hi: Expression<Fr> = c(Fr::from(0));
                for j in 0..sh.hi_limbs {
                    hi = hi + cell(m, base + j) * c(two_pow(limb_bits * j as u32));
                }
                let v = m.query_advice(cols.v, Rotation::cur());
                let y = m.query_advice(cnn.u, Rotation::cur());
                let off = m.query_fixed(cnn.c[0], Rotation::cur());
                let ylo = m.query_fixed(cnn.c[1], Rotation::cur());
                out.push(s.clone() * (y.clone() - ylo - hi));
                out.push(s * (v + off + c(two_pow(sh.shift - 1)) - y * c(two_pow(sh.shift)) - r));
                out
            });
        }
        Self { cols: *cols, cnn: *cnn, s_requant, limb_bits }
    }

    /// The selector for a shape.
    fn selector(&self, shape: &RequantShape) -> Result<Selector, Error> {
        self.s_requant.iter().find(|(s, _)| s == shape).map(|(_, sel)| *sel).ok_or(Error::Synthesis)
    }

    /// Places a requantisation of `shape` at `row`: its gate, its constants (the input's
    /// `offset` and the output's lower bound `ylo`) and the range checks of its cells.
    fn place(&self, region: &mut Region<'_, Fr>, range: &RangeConfig, row: usize, shape: &RequantShape, offset: i128, ylo: i128) -> Result<(), Error> {
        self.selector(shape)?.enable(region, row)?;
        region.assign_fixed(self.cnn.c[0], row, fe(offset));
        region.assign_fixed(self.cnn.c[1], row, fe(ylo));
        range.enable_rows(region, row, shape.rows(self.limb_bits))
    }

    /// [`Self::place`] and the cells for the input value `x₀` (the copied cell's value, the
    /// input being `x₀ + offset`): returns the output cell `y`.
    #[allow(clippy::too_many_arguments)] // the placement and the input of one row
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        range: &RangeConfig,
        row: usize,
        shape: &RequantShape,
        offset: i128,
        ylo: i128,
        x0: Value<i128>,
    ) -> Result<AssignedFr<'v>, Error> {
        self.place(region, range, row, shape, offset, ylo)?;
        let cells = x0.map(|x| requant_cells(x + offset, ylo, shape, self.limb_bits));
        region.assign_advice(self.cols.v, row, x0.map(fe));
        for k in 0..4 * shape.rows(self.limb_bits) {
            region.assign_advice(self.cols.q[k % 4], row + k / 4, cells.as_ref().map(|c| Fr::from(c.1[k])));
        }
        Ok(region.assign_advice(self.cnn.u, row, cells.map(|c| fe(c.0))))
    }
}

/// Native twin: the output and the cells (`4·rows` values, zero-padded) for input `x`.
pub fn requant_cells(x: i128, ylo: i128, shape: &RequantShape, limb_bits: u32) -> (i128, Vec<u64>) {
    let s = shape.shift;
    let xs = x + (1i128 << (s - 1));
    let y = xs.div_euclid(1i128 << s);
    let r = xs.rem_euclid(1i128 << s) as u128;
    let mask = (1u128 << limb_bits) - 1;
    let (full, t) = (shape.full(limb_bits), shape.partial(limb_bits));
    let mut cells = vec![0u64; 4 * shape.rows(limb_bits)];
    for (i, cell) in cells.iter_mut().enumerate().take(full) {
        *cell = ((r >> (limb_bits * i as u32)) & mask) as u64;
    }
    if t > 0 {
        let l = (r >> (limb_bits * full as u32)) as u64;
        cells[full] = l;
        cells[full + 1] = l << (limb_bits - t);
    }
    let hi = (y - ylo).max(0) as u128;
    let base = shape.hi_base(limb_bits);
    for j in 0..shape.hi_limbs {
        cells[base + j] = if limb_bits * j as u32 >= 128 { 0 } else { ((hi >> (limb_bits * j as u32)) & mask) as u64 };
    }
    (y, cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, lookup, run, ChipTest, Failure};
    use halo2_proofs::circuit::Layouter;

    const L: u32 = 4;
    /// `s = 6 = 4 + 2`: one full remainder limb, a partial limb of two bits, two output limbs.
    const SHAPE: RequantShape = RequantShape { shift: 6, hi_limbs: 2 };
    /// `s = 4`: one full remainder limb and no partial limb.
    const EVEN: RequantShape = RequantShape { shift: 4, hi_limbs: 2 };
    const ROW: usize = 1;

    /// One requantisation of `x` (lower bound `ylo`) at row 1, placed by the chip, then with
    /// `y` and/or the cells replaced.
    #[derive(Clone, Debug)]
    struct Requant {
        shape: RequantShape,
        x: i128,
        ylo: i128,
        y: Option<Fr>,
        cells: Vec<(usize, Fr)>,
        range_checked: bool,
    }

    impl Requant {
        fn honest(shape: RequantShape, x: i128, ylo: i128) -> Self {
            Self { shape, x, ylo, y: None, cells: vec![], range_checked: true }
        }
    }

    impl ChipTest for Requant {
        type Config = (RangeConfig, RequantConfig);

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> Self::Config {
            (RangeConfig::configure(meta, cols, L, false), RequantConfig::configure(meta, cols, cnn, L, &[SHAPE, EVEN]))
        }

        fn load((range, _): &Self::Config, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
            range.load(layouter)
        }

        fn assign(&self, (range, requant): &Self::Config, cols: &Columns, cnn: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            if self.range_checked {
                requant.assign(region, range, ROW, &self.shape, 0, self.ylo, Value::known(self.x))?;
            } else {
                // The gate alone, with the honest cells.
                requant.selector(&self.shape)?.enable(region, ROW)?;
                region.assign_fixed(cnn.c[1], ROW, fe(self.ylo));
                region.assign_advice(cols.v, ROW, Value::known(fe(self.x)));
                let (y, cells) = requant_cells(self.x, self.ylo, &self.shape, L);
                region.assign_advice(cnn.u, ROW, Value::known(fe(y)));
                for (k, v) in cells.into_iter().enumerate() {
                    region.assign_advice(cols.q[k % 4], ROW + k / 4, Value::known(Fr::from(v)));
                }
            }
            if let Some(y) = self.y {
                region.assign_advice(cnn.u, ROW, Value::known(y));
            }
            for &(k, v) in &self.cells {
                region.assign_advice(cols.q[k % 4], ROW + k / 4, Value::known(v));
            }
            Ok(())
        }
    }

    fn failures(c: Requant) -> Vec<Failure> {
        run(6, c)
    }

    #[test]
    fn honest_requantisations_are_accepted() {
        for shape in [SHAPE, EVEN] {
            for (x, ylo) in [(1000, -10), (-200, -20), (-33, -10), (31, 0)] {
                assert_eq!(failures(Requant::honest(shape, x, ylo)), vec![], "x = {x}, {shape:?}");
            }
        }
    }

    /// Pins the range check of the output limbs (`y − y_lo` in `H` limbs, each looked up in the
    /// limb table): a forged remainder `r + 1` (still in range) forces `y' = y − 2^(−s)` in the
    /// field, far outside `[y_lo, y_lo + 2^(H·L))`; with the first output limb chosen so the gate
    /// holds, only that limb's lookup fails — and without the range check the forgery passes.
    #[test]
    fn output_outside_its_range_is_rejected_by_the_limb_lookup() {
        let (x, ylo) = (1000i128, -10i128);
        let (y, _) = requant_cells(x, ylo, &SHAPE, L);
        let r = x + 32 - 64 * y;
        assert_eq!((y, r), (16, 8));
        let inv = Fr::from(64).invert().unwrap();
        let forged_y = fe(y) - inv;
        // Remainder r + 1 = 9: full limb 9, partial limb 0 (and its shifted copy 0).
        // Output limbs (cells 3, 4): keep the high limb (1), put the rest in the low one.
        let base = SHAPE.hi_base(L);
        assert_eq!(base, 3);
        let low = forged_y - fe(ylo) - Fr::from(16);
        let mut forged = Requant { y: Some(forged_y), cells: vec![(0, Fr::from(9)), (base, low)], ..Requant::honest(SHAPE, x, ylo) };
        // Cell 3 is q3 on the first row: the fourth single-limb lookup.
        assert_eq!(failures(forged.clone()), vec![lookup("limb", 3, ROW)]);
        forged.range_checked = false;
        assert_eq!(failures(forged), vec![], "without the range check the gate alone accepts the forged output");
    }

    #[test]
    fn a_wrong_shifted_partial_limb_fails_constraint_0() {
        // x = 1000: r = 8 = limb 8, partial limb 0, shifted copy 0.
        let forged = Requant { cells: vec![(2, Fr::from(1))], ..Requant::honest(SHAPE, 1000, -10) };
        assert_eq!(failures(forged), vec![gate("requantisation", 0, ROW)]);
    }

    #[test]
    fn a_remainder_of_2_to_the_s_fails_the_shifted_partial_limb_lookup() {
        // y − 1 with r + 64: the partial limb becomes 4 (three bits), its shifted copy 16 is
        // out of range; both the gate's identities hold.
        let (x, ylo) = (1000i128, -10i128);
        let (y, cells) = requant_cells(x, ylo, &SHAPE, L);
        assert_eq!(cells, vec![8, 0, 0, 10, 1, 0, 0, 0]);
        let hi = y - 1 - ylo;
        let forged = Requant {
            y: Some(fe(y - 1)),
            cells: vec![(1, Fr::from(4)), (2, Fr::from(16)), (3, Fr::from((hi % 16) as u64)), (4, Fr::from((hi / 16) as u64))],
            ..Requant::honest(SHAPE, x, ylo)
        };
        assert_eq!(failures(forged), vec![lookup("limb", 2, ROW)]);
    }

    #[test]
    fn wrong_output_limbs_fail_the_output_constraint() {
        let forged = Requant { cells: vec![(4, Fr::from(2))], ..Requant::honest(SHAPE, 1000, -10) };
        assert_eq!(failures(forged), vec![gate("requantisation", 1, ROW)]);
        let forged = Requant { cells: vec![(2, Fr::from(2))], ..Requant::honest(EVEN, 1000, -10) };
        assert_eq!(failures(forged), vec![gate("requantisation", 0, ROW)]);
    }

    #[test]
    fn a_wrong_remainder_or_output_fails_the_division_constraint() {
        let forged = Requant { cells: vec![(0, Fr::from(9))], ..Requant::honest(SHAPE, 1000, -10) };
        assert_eq!(failures(forged), vec![gate("requantisation", 2, ROW)]);
        // y + 1 with its output limbs: only the division identity objects.
        let (y, _) = requant_cells(1000, -10, &EVEN, L);
        let hi = y + 1 + 10;
        let forged =
            Requant { y: Some(fe(y + 1)), cells: vec![(1, Fr::from((hi % 16) as u64)), (2, Fr::from((hi / 16) as u64))], ..Requant::honest(EVEN, 1000, -10) };
        assert_eq!(failures(forged), vec![gate("requantisation", 1, ROW)]);
    }

    #[test]
    fn native_twin_matches_the_executor_rounding() {
        let sh = RequantShape { shift: 6, hi_limbs: 2 };
        for x in [-200i128, -33, -32, -31, -1, 0, 31, 32, 33, 1000] {
            let (y, cells) = requant_cells(x, -10, &sh, 4);
            let expect = ((x as i64 + 32) >> 6) as i128;
            assert_eq!(y, expect, "x = {x}");
            // r = cells[0] + 16·cells[1]; cells[2] = cells[1]·4; y − lo from cells[3], cells[4].
            let r = cells[0] as i128 + 16 * cells[1] as i128;
            assert_eq!(cells[2], cells[1] << 2);
            assert!(cells.iter().all(|&c| c < 16));
            assert_eq!(x + 32, 64 * y + r);
            assert_eq!(y + 10, cells[3] as i128 + 16 * cells[4] as i128);
        }
        assert_eq!(sh.rows(4), 2);
        assert_eq!(RequantShape { shift: 8, hi_limbs: 3 }.rows(8), 1);
    }
}
