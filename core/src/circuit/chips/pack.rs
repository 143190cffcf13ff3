//! Packing quads into field elements: commitment inputs and public code words, plus popcount.
//!
//! Two bases: *bytes* (`v = v[-1]·2^32 + (q0·2^24 + q1·2^16 + q2·2^8 + q3)`, 28 pixels = 7 rows
//! per commitment element) and *bits* (`v = v[-1]·16 + (8q0 + 4q1 + 2q2 + q3)`, 252 mask bits =
//! 63 rows per commitment element, 248 code bits = 62 rows per public word). The first value
//! is the most significant, so the packing equals reading the bytes/bits as a big-endian
//! number. Rows can also be forced to zero (padding a last partial group) or to bits.
//! A popcount accumulator in `h` sums the bits of a run (`h = h[-1] + q0+q1+q2+q3`).
//!
//! | gate | constraint |
//! |---|---|
//! | `s_byte_start` / `s_byte_next` | `v = quad₂₅₆` / `v = v[-1]·2³² + quad₂₅₆` |
//! | `s_bit_start` / `s_bit_next` | `v = quad₂` / `v = v[-1]·16 + quad₂` |
//! | `s_zero` | `q0 = q1 = q2 = q3 = 0` |
//! | `s_bool` | `qi·(1 − qi) = 0` |
//! | `s_count_start` / `s_count_next` | `h = Σqi` / `h = h[-1] + Σqi` |

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::{c, two_pow};
use crate::circuit::layout::Columns;

/// Configuration of the packing gates.
#[derive(Clone, Debug)]
pub struct PackConfig {
    /// Byte packing, first row of a group.
    pub s_byte_start: Selector,
    /// Byte packing, next rows.
    pub s_byte_next: Selector,
    /// Bit packing, first row of a group.
    pub s_bit_start: Selector,
    /// Bit packing, next rows.
    pub s_bit_next: Selector,
    /// Zero rows.
    pub s_zero: Selector,
    /// Boolean quads.
    pub s_bool: Selector,
    /// Popcount start.
    pub s_count_start: Selector,
    /// Popcount next.
    pub s_count_next: Selector,
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
