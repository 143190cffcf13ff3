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

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::{c, two_pow};
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
    /// One selector per shape in use.
    pub s_requant: Vec<(RequantShape, Selector)>,
    /// Limb width in bits.
    pub limb_bits: u32,
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
        Self { s_requant, limb_bits }
    }

    /// The selector for a shape.
    pub fn selector(&self, shape: &RequantShape) -> Option<Selector> {
        self.s_requant.iter().find(|(s, _)| s == shape).map(|(_, sel)| *sel)
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
    use crate::circuit::chips::range::RangeConfig;
    use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
    use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
    use halo2_proofs::plonk::{Circuit, Error};

    const L: u32 = 4;
    const SHAPE: RequantShape = RequantShape { shift: 6, hi_limbs: 2 };

    #[derive(Clone, Debug)]
    struct TestConfig {
        cols: Columns,
        cnn: CnnColumns,
        range: RangeConfig,
        requant: RequantConfig,
    }

    /// One requantisation of `x` (lower bound `ylo`) at row 0, as the statement lays it out
    /// (selector, offset and `y_lo` constants, limbs range-checked on every row), with the
    /// output `y` and the cells given.
    #[derive(Clone, Debug)]
    struct RequantCircuit {
        x: i128,
        ylo: i128,
        y: Fr,
        cells: Vec<Fr>,
        range_checked: bool,
    }

    impl RequantCircuit {
        fn honest(x: i128, ylo: i128) -> Self {
            let (y, cells) = requant_cells(x, ylo, &SHAPE, L);
            Self { x, ylo, y: fe(y), cells: cells.into_iter().map(Fr::from).collect(), range_checked: true }
        }
    }

    fn fe(v: i128) -> Fr {
        crate::circuit::expr::fe(v)
    }

    impl Circuit<Fr> for RequantCircuit {
        type Config = TestConfig;
        type FloorPlanner = SimpleFloorPlanner;
        type Params = ();

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
            let cols = Columns::configure(meta);
            let cnn = CnnColumns::configure(meta);
            let range = RangeConfig::configure(meta, &cols, L, false);
            let requant = RequantConfig::configure(meta, &cols, &cnn, L, &[SHAPE]);
            TestConfig { cols, cnn, range, requant }
        }

        fn synthesize(&self, cfg: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
            cfg.range.load(&mut layouter)?;
            layouter.assign_region(
                || "requant",
                |mut region| {
                    cfg.requant.selector(&SHAPE).ok_or(Error::Synthesis)?.enable(&mut region, 0)?;
                    region.assign_fixed(cfg.cnn.c[0], 0, Fr::from(0));
                    region.assign_fixed(cfg.cnn.c[1], 0, fe(self.ylo));
                    region.assign_advice(cfg.cols.v, 0, Value::known(fe(self.x)));
                    region.assign_advice(cfg.cnn.u, 0, Value::known(self.y));
                    for r in 0..SHAPE.rows(L) {
                        if self.range_checked {
                            cfg.range.s_limbs.enable(&mut region, r)?;
                        }
                        for k in 0..4 {
                            region.assign_advice(cfg.cols.q[k], r, Value::known(self.cells[4 * r + k]));
                        }
                    }
                    Ok(())
                },
            )
        }
    }

    /// `(gate or lookup name, constraint or lookup index, row)` of each failure.
    fn run(c: &RequantCircuit) -> Vec<(String, usize, usize)> {
        let row = |l: &FailureLocation| match l {
            FailureLocation::InRegion { offset, .. } => *offset,
            FailureLocation::OutsideRegion { row } => *row,
        };
        match MockProver::run(7, c, vec![vec![]]).unwrap().verify() {
            Ok(()) => vec![],
            Err(e) => e
                .iter()
                .map(|f| match f {
                    VerifyFailure::ConstraintNotSatisfied { constraint, location, .. } => (constraint.to_string(), 0, row(location)),
                    VerifyFailure::Lookup { name, lookup_index, location } => (name.clone(), *lookup_index, row(location)),
                    other => panic!("unexpected failure kind: {other}"),
                })
                .collect(),
        }
    }

    #[test]
    fn honest_requantisations_are_accepted() {
        for (x, ylo) in [(1000, -10), (-200, -10), (-33, -10), (31, 0)] {
            assert_eq!(run(&RequantCircuit::honest(x, ylo)), vec![], "x = {x}");
        }
    }

    /// Pins the range check of the output limbs (`y − y_lo` in `H` limbs, each looked up in the
    /// limb table): a forged remainder `r + 1` (still in range) forces `y' = y − 2^(−s)` in the
    /// field, far outside `[y_lo, y_lo + 2^(H·L))`; with the first output limb chosen so the gate
    /// holds, only that limb's lookup fails — and without the range check the forgery passes.
    #[test]
    fn output_outside_its_range_is_rejected_by_the_limb_lookup() {
        let honest = RequantCircuit::honest(1000, -10);
        let (x, ylo) = (1000i128, -10i128);
        let (y, _) = requant_cells(x, ylo, &SHAPE, L);
        let r = x + 32 - 64 * y;
        assert_eq!((y, r), (16, 8));
        let inv = Fr::from(64).invert().unwrap();
        let mut forged = honest.clone();
        forged.y = fe(y) - inv;
        // Remainder r + 1 = 9: full limb 9, partial limb 0 (and its shifted copy 0).
        forged.cells[0] = Fr::from(9);
        assert_eq!((forged.cells[1], forged.cells[2]), (Fr::from(0), Fr::from(0)));
        // Output limbs (cells 3, 4): keep the high limb, put the rest in the low one.
        let base = SHAPE.hi_base(L);
        assert_eq!(base, 3);
        forged.cells[base] = forged.y - fe(ylo) - forged.cells[base + 1] * Fr::from(16);
        // Cell 3 is q3 on row 0: the fourth single-limb lookup.
        assert_eq!(run(&forged), vec![("limb".to_string(), 3, 0)]);
        forged.range_checked = false;
        assert_eq!(run(&forged), vec![], "without the range check the gate alone accepts the forged output");
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
