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

use super::expr::{c, two_pow};
use super::layout::{CnnColumns, Columns};

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
