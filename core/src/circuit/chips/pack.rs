//! Packing quads into field elements: commitment inputs and public code words, plus popcount.
//!
//! Two bases: *bytes* (`v = v[-1]·2^32 + (q0·2^24 + q1·2^16 + q2·2^8 + q3)`, 28 pixels = 7 rows
//! per commitment element) and *bits* (`v = v[-1]·16 + (8q0 + 4q1 + 2q2 + q3)`, 252 mask bits =
//! 63 rows per commitment element, 248 code bits = 62 rows per public word). The first value
//! is the most significant, so the packing equals reading the bytes/bits as a big-endian
//! number. Rows can also be forced to zero (padding a last partial group) or to bits.
//! A popcount accumulator in `h` sums the bits of a run (`h = h[-1] + q0+q1+q2+q3`).
//!
//! One gate, `pack`; its constraints by index:
//!
//! | # | selector | constraint |
//! |---|---|---|
//! | 0 / 1 | `s_byte_start` / `s_byte_next` | `v = quad₂₅₆` / `v = v[-1]·2³² + quad₂₅₆` |
//! | 2 / 3 | `s_bit_start` / `s_bit_next` | `v = quad₂` / `v = v[-1]·16 + quad₂` |
//! | 4 / 5 | `s_count_start` / `s_count_next` | `h = Σqi` / `h = h[-1] + Σqi` |
//! | 6 + 2i | `s_zero` | `qi = 0` |
//! | 7 + 2i | `s_bool` | `qi·(1 − qi) = 0` |
//!
//! | row of a group | q0..q3 | v | h (popcount runs) | selectors |
//! |---|---|---|---|---|
//! | first | values 0..3 | packed so far | bits so far | `s_*_start`, `s_bool` or `s_limbs` or `s_zero`, `s_count_start` |
//! | next | values 4.. | packed so far | bits so far | `s_*_next`, same |
//!
//! The packed element (or code word) is `v` on the group's last row.
//!
//! # What this chip does not constrain
//!
//! That bytes are bytes: the statement range-checks pixel rows with [`super::range`]. Where
//! the bits come from: the statement copies them from rule cells (public-code words) or they
//! are the committed mask bits.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::AssignedFr;
use crate::circuit::expr::{c, two_pow};
use crate::circuit::layout::Columns;

/// Configuration of the packing gates.
#[derive(Clone, Debug)]
pub struct PackConfig {
    cols: Columns,
    /// Byte packing, first row of a group.
    s_byte_start: Selector,
    /// Byte packing, next rows.
    s_byte_next: Selector,
    /// Bit packing, first row of a group.
    s_bit_start: Selector,
    /// Bit packing, next rows.
    s_bit_next: Selector,
    /// Zero rows.
    s_zero: Selector,
    /// Boolean quads.
    s_bool: Selector,
    /// Popcount start.
    s_count_start: Selector,
    /// Popcount next.
    s_count_next: Selector,
}

/// What a packing row packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Four bytes per row (`2^32` per row).
    Byte,
    /// Four bits per row (16 per row).
    Bit,
}

impl Base {
    /// Bits per packed value.
    pub fn bits(self) -> u32 {
        match self {
            Base::Byte => 8,
            Base::Bit => 1,
        }
    }
}

/// Where a run of packing rows lies and what its rows hold ([`PackConfig::assign`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackRun {
    /// First row.
    pub first_row: usize,
    /// Bytes or bits.
    pub base: Base,
    /// Rows per packed element (the group's last `v` is the element).
    pub group_rows: usize,
    /// Rows in all, the zero rows included.
    pub rows: usize,
    /// Trailing rows forced to zero (completing the last group).
    pub zero_rows: usize,
    /// The data rows hold bits (the boolean gate); otherwise the caller checks their range
    /// (bytes) or copies them from cells that are bits (code bits).
    pub boolean: bool,
}

/// Pixels per commitment element (7 rows of 4).
pub const PIXELS_PER_ELEMENT: usize = 28;
/// Mask bits per commitment element (63 rows of 4).
pub const MASK_BITS_PER_ELEMENT: usize = 252;
/// Code bits per public word (62 rows of 4) = 31 bytes.
pub const CODE_BITS_PER_WORD: usize = 248;

impl PackConfig {
    /// Configures the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let cfg = Self {
            cols: *cols,
            s_byte_start: meta.selector(),
            s_byte_next: meta.selector(),
            s_bit_start: meta.selector(),
            s_bit_next: meta.selector(),
            s_zero: meta.selector(),
            s_bool: meta.selector(),
            s_count_start: meta.selector(),
            s_count_next: meta.selector(),
        };
        meta.create_gate("pack", |m| {
            let q: Vec<Expression<Fr>> = cols.q.iter().map(|col| m.query_advice(*col, Rotation::cur())).collect();
            let v = m.query_advice(cols.v, Rotation::cur());
            let v_prev = m.query_advice(cols.v, Rotation::prev());
            let h = m.query_advice(cols.h, Rotation::cur());
            let h_prev = m.query_advice(cols.h, Rotation::prev());
            let byte = q[0].clone() * c(two_pow(24)) + q[1].clone() * c(two_pow(16)) + q[2].clone() * c(two_pow(8)) + q[3].clone();
            let bit = q[0].clone() * c(Fr::from(8)) + q[1].clone() * c(Fr::from(4)) + q[2].clone() * c(Fr::from(2)) + q[3].clone();
            let sum = q[0].clone() + q[1].clone() + q[2].clone() + q[3].clone();
            let s = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, sel: Selector| m.query_selector(sel);
            let (bs, bn, ts, tn, z, bo, cs, cn) = (
                s(m, cfg.s_byte_start),
                s(m, cfg.s_byte_next),
                s(m, cfg.s_bit_start),
                s(m, cfg.s_bit_next),
                s(m, cfg.s_zero),
                s(m, cfg.s_bool),
                s(m, cfg.s_count_start),
                s(m, cfg.s_count_next),
            );
            let mut out = vec![
                bs * (v.clone() - byte.clone()),
                bn * (v.clone() - v_prev.clone() * c(two_pow(32)) - byte),
                ts * (v.clone() - bit.clone()),
                tn * (v - v_prev * c(Fr::from(16)) - bit),
                cs * (h.clone() - sum.clone()),
                cn * (h - h_prev - sum),
            ];
            for qi in &q {
                out.push(z.clone() * qi.clone());
                out.push(bo.clone() * qi.clone() * (c(Fr::from(1)) - qi.clone()));
            }
            out
        });
        cfg
    }

    /// Makes `row` a packing row of `base`: the first of a group (`start`) or a continuation.
    fn enable_pack(&self, region: &mut Region<'_, Fr>, row: usize, base: Base, start: bool) -> Result<(), Error> {
        match (base, start) {
            (Base::Byte, true) => self.s_byte_start,
            (Base::Byte, false) => self.s_byte_next,
            (Base::Bit, true) => self.s_bit_start,
            (Base::Bit, false) => self.s_bit_next,
        }
        .enable(region, row)
    }

    /// Forces the four `q` cells of `row` to zero.
    fn enable_zero(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_zero.enable(region, row)
    }

    /// Forces the four `q` cells of `row` to be bits.
    fn enable_bool(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_bool.enable(region, row)
    }

    /// Makes `row` a popcount row: the first of a run (`start`) or a continuation.
    fn enable_count(&self, region: &mut Region<'_, Fr>, row: usize, start: bool) -> Result<(), Error> {
        if start { self.s_count_start } else { self.s_count_next }.enable(region, row)
    }

    /// Packs `quads` (four values per row, `run.base` wide each) into groups of
    /// `run.group_rows` rows from `run.first_row`: enables the packing gates (the zero gate on
    /// the run's trailing zero rows, the boolean gate on its data rows where `run.boolean`),
    /// assigns the `q` cells and computes the running `v`. Returns the `v` cell of each group's
    /// last row. Values of bytes must be range-checked by the caller ([`super::range`]).
    pub fn assign<'v>(&self, region: &mut Region<'_, Fr>, run: &PackRun, quads: Value<&[u64]>) -> Result<Vec<AssignedFr<'v>>, Error> {
        let v = quads.map(|q| pack_rows(q, run.group_rows, run.base.bits()));
        let mut out = Vec::new();
        for r in 0..run.rows {
            let row = run.first_row + r;
            self.enable_pack(region, row, run.base, r % run.group_rows == 0)?;
            if r >= run.rows - run.zero_rows {
                self.enable_zero(region, row)?;
            } else if run.boolean {
                self.enable_bool(region, row)?;
            }
            for (k, col) in self.cols.q.iter().enumerate() {
                region.assign_advice(*col, row, quads.map(|q| Fr::from(q[4 * r + k])));
            }
            let cell = region.assign_advice(self.cols.v, row, v.as_ref().map(|v| v[r]));
            if (r + 1) % run.group_rows == 0 || r + 1 == run.rows {
                out.push(cell);
            }
        }
        Ok(out)
    }

    /// A popcount run over the bits already in the `q` cells of `rows` rows from `first_row`
    /// (phase 2, in `h`): returns the cell of the count.
    pub fn assign_count<'v>(&self, region: &mut Region<'_, Fr>, first_row: usize, bits: Value<&[Fr]>, rows: usize) -> Result<AssignedFr<'v>, Error> {
        let mut last = None;
        let mut count = Value::known(Fr::from(0));
        for r in 0..rows {
            self.enable_count(region, first_row + r, r == 0)?;
            count = count.zip(bits).map(|(c, b)| c + b[4 * r..4 * r + 4].iter().fold(Fr::from(0), |a, x| a + x));
            last = Some(region.assign_advice(self.cols.h, first_row + r, count));
        }
        last.ok_or(Error::Synthesis)
    }
}

/// Native twin: running byte-pack values per row for groups of `rows_per_group` rows.
pub fn pack_rows(quads: &[u64], rows_per_group: usize, bits_per_value: u32) -> Vec<Fr> {
    let shift = two_pow(4 * bits_per_value);
    let mut out = Vec::with_capacity(quads.len() / 4);
    let mut acc = Fr::from(0);
    for (r, q) in quads.chunks(4).enumerate() {
        let quad = q.iter().fold(0u64, |a, &x| (a << bits_per_value) | x);
        acc = if r % rows_per_group == 0 { Fr::from(quad) } else { acc * shift + Fr::from(quad) };
        out.push(acc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;

    const FIRST: usize = 1;

    /// A cell changed after the chip has assigned its rows (row offsets from the first row).
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        /// `q[k]` set to this value.
        Q(usize, usize, i128),
        /// `v` plus this.
        V(usize, u64),
        /// `h` plus one.
        H(usize),
    }

    /// `quads` packed in groups of `group_rows` from row 1, then `zero_rows` zero rows that
    /// continue the last group; for bits, a popcount over the data rows.
    #[derive(Clone, Debug)]
    struct Pack {
        base: Base,
        group_rows: usize,
        quads: Vec<u64>,
        zero_rows: usize,
        tampers: Vec<Tamper>,
    }

    impl ChipTest for Pack {
        type Config = PackConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> PackConfig {
            PackConfig::configure(meta, cols)
        }

        fn assign(&self, cfg: &PackConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let data = self.quads.len() / 4;
            let mut quads = self.quads.clone();
            quads.extend(vec![0; 4 * self.zero_rows]);
            let rows = data + self.zero_rows;
            let run =
                PackRun { first_row: FIRST, base: self.base, group_rows: self.group_rows, rows, zero_rows: self.zero_rows, boolean: self.base == Base::Bit };
            cfg.assign(region, &run, Value::known(&quads[..]))?;
            if self.base == Base::Bit {
                let bits: Vec<Fr> = self.quads.iter().map(|&b| Fr::from(b)).collect();
                cfg.assign_count(region, FIRST, Value::known(&bits[..]), data)?;
            }
            let v = pack_rows(&quads, self.group_rows, self.base.bits());
            let counts: Vec<u64> = (0..data).map(|r| self.quads[..4 * (r + 1)].iter().sum()).collect();
            for t in &self.tampers {
                let (col, r, x) = match *t {
                    Tamper::Q(r, k, x) => (cols.q[k], r, crate::circuit::expr::fe(x)),
                    Tamper::V(r, d) => (cols.v, r, v[r] + Fr::from(d)),
                    Tamper::H(r) => (cols.h, r, Fr::from(counts[r] + 1)),
                };
                region.assign_advice(col, FIRST + r, Value::known(x));
            }
            Ok(())
        }
    }

    /// Bytes 1..=16 in two groups of two rows.
    fn bytes(tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Pack { base: Base::Byte, group_rows: 2, quads: (1..=16).collect(), zero_rows: 0, tampers: tampers.to_vec() })
    }

    /// Twelve bits in one group of three rows and a zero row.
    fn bits(tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Pack { base: Base::Bit, group_rows: 4, quads: vec![1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0], zero_rows: 1, tampers: tampers.to_vec() })
    }

    #[test]
    fn honest_packing_is_accepted() {
        assert_eq!(bytes(&[]), vec![]);
        assert_eq!(bits(&[]), vec![]);
        // Big-endian: the first value is the most significant.
        assert_eq!(pack_rows(&[1, 2, 3, 4, 5, 6, 7, 8], 2, 8)[1], Fr::from(0x0102_0304_0506_0708));
        assert_eq!(pack_rows(&[1, 0, 1, 1, 0, 1, 0, 0], 2, 1)[1], Fr::from(0b1011_0100));
    }

    #[test]
    fn byte_packing_constraints() {
        // A group's first value: read again by the next row.
        assert_eq!(bytes(&[Tamper::V(0, 1)]), vec![gate("pack", 0, FIRST), gate("pack", 1, FIRST + 1)]);
        // A group's last value: the next group starts afresh.
        assert_eq!(bytes(&[Tamper::V(1, 1)]), vec![gate("pack", 1, FIRST + 1)]);
        assert_eq!(bytes(&[Tamper::Q(3, 2, 99)]), vec![gate("pack", 1, FIRST + 3)]);
    }

    #[test]
    fn bit_packing_constraints() {
        assert_eq!(bits(&[Tamper::V(0, 1)]), vec![gate("pack", 2, FIRST), gate("pack", 3, FIRST + 1)]);
        assert_eq!(bits(&[Tamper::V(2, 1)]), vec![gate("pack", 3, FIRST + 2), gate("pack", 3, FIRST + 3)]);
    }

    #[test]
    fn non_bits_fail_the_boolean_constraint() {
        // Row 1's quad (0, 1, 0, 0) as (0, 0, 2, 0): the same packed value 4; the popcount
        // changes (constraint 5) and the boolean constraint of q2 (7 + 2·2) objects.
        assert_eq!(bits(&[Tamper::Q(1, 1, 0), Tamper::Q(1, 2, 2)]), vec![gate("pack", 5, FIRST + 1), gate("pack", 11, FIRST + 1)]);
        // As (0, 0, 3, −2): packed value 4 and count 1 both kept; only the boolean
        // constraints of q2 and q3 object.
        assert_eq!(bits(&[Tamper::Q(1, 1, 0), Tamper::Q(1, 2, 3), Tamper::Q(1, 3, -2)]), vec![gate("pack", 11, FIRST + 1), gate("pack", 13, FIRST + 1)]);
    }

    #[test]
    fn a_non_zero_padding_cell_fails_the_zero_constraint() {
        // q3 = 1 on the zero row with the packing kept consistent: only `q3 = 0` (6 + 2·3).
        assert_eq!(bits(&[Tamper::Q(3, 3, 1), Tamper::V(3, 1)]), vec![gate("pack", 12, FIRST + 3)]);
        assert_eq!(bits(&[Tamper::Q(3, 0, 1), Tamper::V(3, 8)]), vec![gate("pack", 6, FIRST + 3)]);
    }

    #[test]
    fn popcount_constraints() {
        assert_eq!(bits(&[Tamper::H(0)]), vec![gate("pack", 4, FIRST), gate("pack", 5, FIRST + 1)]);
        assert_eq!(bits(&[Tamper::H(2)]), vec![gate("pack", 5, FIRST + 2)]);
    }
}
