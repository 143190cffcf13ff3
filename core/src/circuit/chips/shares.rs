//! The MPC shares chip: three 2-of-3 Shamir shares of the masked iris code over GR(2^16, 4),
//! proven from the code and mask bits, and a Poseidon commitment `S_p` to each share.
//!
//! The in-circuit twin of [`crate::mpc::shares`]. For every chunk `k` of four code bits
//! `c_j` and mask bits `m_j` (bits `4k + j` of the serialized codes) the chip proves, for each
//! party `p ∈ {1, 2, 3}` and coefficient `j ∈ {0..3}`:
//!
//! ```text
//! r_pj + 2^16·(q'_pj − 2) = E_j + L_pj(s)        with 0 ≤ r_pj, q'_pj, s_j < 2^16
//!   a_i  = m_i − 2·c_i·m_i                         (masked value: 1, −1 ≡ 65535, or 0)
//!   E_j  = Σ_{i ≤ j} M[j][i]·a_i                   (the encoding matrix, unit lower-triangular)
//!   L_1 = s,  L_2 = x·s = (s3, s0+s3, s1, s2),  L_3 = (1+x)·s = (s0+s3, s0+s1+s3, s1+s2, s2+s3)
//! ```
//!
//! so `r_p = (M·a + e_p·s) mod 2^16` coefficient-wise: party `p`'s share of the chunk's ring
//! element with slope `s`. The remainders `r_pj` are then packed, 15 per field element
//! big-endian, and hashed with the chip's own Poseidon sponge into `S_p` exactly as
//! [`crate::mpc::shares::share_commitment`] does.
//!
//! **Why the identity is exact.** Every `x` cell is range-checked to 16 bits and the bits are
//! constrained boolean, so `|E_j| < Σ_i M[3][i] < 2^17`, `0 ≤ L_pj < 3·2^16`, and both sides
//! are integers of magnitude below 2^33, far below the field modulus: the field identity holds
//! over the integers. Then `r_pj ≡ E_j + L_pj (mod 2^16)` with `0 ≤ r_pj < 2^16` makes `r_pj`
//! the reduced coefficient. The honest quotient `⌊(E_j + L_pj)/2^16⌋` lies in `[−2, 4]`, stored
//! with offset 2 (`q' ∈ [0, 6]`); the 16-bit check on `q'` is far looser than needed and still
//! sound, because `2^16·q' < 2^32`.
//!
//! # Columns
//!
//! `x` (advice, 16-bit range-checked on every row by lookups without a selector: the column
//! holds only the chip's values and zeros), `y` (advice, equality: bit copies, packing
//! accumulators, the `S_p` headers), the range table, and the Poseidon chip's two advice and
//! four fixed columns. Nobody else writes into them, so the chip lays itself out from any
//! start row.
//!
//! # Range-check layouts ([`SharesRange`], chosen per circuit by [`SharesRange::for_rows`])
//!
//! - **`Table16`** (large circuits): one lookup of `x` into a 65,536-row table of `0..2^16`.
//!   The table is free once the circuit has that many rows anyway (the chip alone fills
//!   114,691 rows for a 16,384-bit code).
//! - **`Bytes`** (small circuits): a third advice column `x_high` holds the high byte `h` of
//!   each `x` cell, and two lookups check `h ∈ [0, 2^8)` and `x − 2^8·h ∈ [0, 2^8)` against a
//!   256-row table, so `x = lo + 2^8·h ∈ [0, 2^16)`. One more column and lookup, but the table
//!   no longer sets a floor of 2^16 rows: the tiny mpc-shares test model proves at k = 11
//!   instead of k = 17. `x_high` holds only the chip's values and zeros too (a zero row
//!   passes both lookups).
//!
//! # Rows of chunk `k` (offsets from `first_row + 28k`)
//!
//! | off | `x` (16-bit) | `x_high` (`Bytes` only) | `y` | gates on the row |
//! |---|---|---|---|---|
//! | 0..3 | `s_j` (slope) | `⌊s_j / 2^8⌋` | `c_j` (code bit, copy) | 0: `share` (reads offsets 0..27 of `x`, 0..7 of `y`) |
//! | 4..7 | `q'_1j` | `⌊q'_1j / 2^8⌋` | `m_j` (mask bit, copy) | |
//! | 8..11 | `r_1j` | `⌊r_1j / 2^8⌋` | `acc_1` | `pack` |
//! | 12..15 | `q'_2j` | … | 0 | |
//! | 16..19 | `r_2j` | … | `acc_2` | `pack` |
//! | 20..23 | `q'_3j` | … | 0 | |
//! | 24..27 | `r_3j` | … | `acc_3` | `pack` |
//!
//! `acc_p` packs party `p`'s coefficients in order `n = 4k + j`: `acc = r` where `n mod 15 = 0`
//! (`s_acc_start`), else `acc = acc[−1]·2^16 + r` within a chunk (`s_acc_next`) or
//! `acc = acc[−25]·2^16 + r` from the previous chunk's last coefficient (`s_acc_cross`).
//! The accumulator at `n mod 15 = 14` (and at the last coefficient) is one packed element.
//! After the chunks, three `y` rows hold the constant headers `header_p`. The three sponges
//! run one after the other in the Poseidon columns from the chip's start row.
//!
//! # What this chip does not constrain
//!
//! That its input bits are the proven code: the caller copies them in (the chip constrains
//! them boolean). Binding `S_p` to public inputs is the caller's job too. The slopes are free
//! witnesses: a valid proof exists for every slope, and the prover draws them at random.

use halo2_proofs::circuit::{AssignedCell, Cell, Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use super::poseidon::{InputCell, PoseidonChip, PoseidonConfig, PoseidonInstructions};
use crate::circuit::expr::c;
use crate::mpc::ring::{GrElement, ENCODING_MATRIX};
use crate::mpc::shares::{share_commitment_header, Party, COEFFS_PER_ELEMENT, SHARE_SPONGE_WIDTH};

/// Rows per chunk in the chip's `x` and `y` columns.
pub const ROWS_PER_CHUNK: usize = 28;
/// Bits of every `x` cell.
pub const RANGE_BITS: u32 = 16;
/// Bits of each half of an `x` cell in the [`SharesRange::Bytes`] layout.
const HALF_BITS: u32 = RANGE_BITS / 2;
/// Offset added to the quotients so that they are stored non-negative.
pub const QUOTIENT_OFFSET: i64 = 2;

/// How the chip range-checks its `x` cells to [`RANGE_BITS`] bits (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SharesRange {
    /// One lookup into a table of `0..2^16` (65,536 rows).
    #[default]
    Table16,
    /// The high byte in a column of its own; two lookups into a table of `0..2^8` (256 rows).
    Bytes,
}

impl SharesRange {
    /// The layout for a circuit that needs `rows` rows without any range table: `Table16`
    /// when the 65,536-row table fits in the `2^k` rows the circuit has anyway, else `Bytes`.
    pub fn for_rows(rows: usize) -> Self {
        if super::table_is_free(rows, Self::Table16.table_rows()) {
            Self::Table16
        } else {
            Self::Bytes
        }
    }

    /// Rows of the range table.
    pub fn table_rows(self) -> usize {
        match self {
            Self::Table16 => 1 << RANGE_BITS,
            Self::Bytes => 1 << HALF_BITS,
        }
    }
}

/// Offset of party `p`'s (1-based) quotient row `j` in a chunk.
fn q_off(p: usize, j: usize) -> usize {
    8 * p - 4 + j
}

/// Offset of party `p`'s (1-based) remainder (and accumulator) row `j` in a chunk.
fn r_off(p: usize, j: usize) -> usize {
    8 * p + j
}

/// `x` offset of slope coefficient `j`, `y` offsets of code bit `j` and mask bit `j`.
const SLOPE_OFF: usize = 0;
const CODE_OFF: usize = 0;
const MASK_OFF: usize = 4;

/// Rotation from a party's first coefficient row back to the previous chunk's last one.
const CROSS_ROTATION: i32 = -(ROWS_PER_CHUNK as i32 - 3);

/// `e_p · s` for party `p` (1-based), as index lists of slope coefficients summed per output
/// coefficient: `1·s`, `x·s = (s3, s0+s3, s1, s2)`, `(1+x)·s`.
fn slope_terms(p: usize, j: usize) -> &'static [usize] {
    const P1: [&[usize]; 4] = [&[0], &[1], &[2], &[3]];
    const P2: [&[usize]; 4] = [&[3], &[0, 3], &[1], &[2]];
    const P3: [&[usize]; 4] = [&[0, 3], &[0, 1, 3], &[1, 2], &[2, 3]];
    [P1, P2, P3][p - 1][j]
}

/// Configuration of the shares chip (columns, selectors, table, Poseidon sponge).
#[derive(Clone, Debug)]
pub struct SharesConfig {
    x: Column<Advice>,
    /// The high byte of each `x` cell (`Bytes` layout only).
    x_high: Option<Column<Advice>>,
    y: Column<Advice>,
    s_share: Selector,
    s_acc_start: Selector,
    s_acc_next: Selector,
    s_acc_cross: Selector,
    table: TableColumn,
    poseidon: PoseidonConfig,
}

/// A code or mask bit the chip copies in: a cell of an equality-enabled column and its value.
#[derive(Clone, Copy, Debug)]
pub struct BitCell {
    /// The cell.
    pub cell: Cell,
    /// Its value (0 or 1 when the witness is known).
    pub value: Value<Fr>,
}

/// What the chip proves shares of.
#[derive(Clone, Debug)]
pub struct SharesInput<'a> {
    /// Code bits in serialized order (a multiple of 4).
    pub code: &'a [BitCell],
    /// Mask bits in serialized order (as many as code bits).
    pub mask: &'a [BitCell],
    /// The slope of each chunk (unknown during key generation).
    pub slopes: Value<&'a [GrElement]>,
}

/// The chip's outputs.
#[derive(Debug)]
pub struct SharesOutput<'v> {
    /// `S_1, S_2, S_3`.
    pub commitments: [AssignedCell<&'v Assigned<Fr>, Fr>; 3],
    /// Rows used in `x`/`y`.
    pub rows: usize,
    /// Rows used in the Poseidon columns.
    pub poseidon_rows: usize,
}

/// The shares chip.
#[derive(Clone, Debug)]
pub struct SharesChip {
    config: SharesConfig,
}

/// A packed element cell handed to the Poseidon chip.
struct Packed {
    cell: Cell,
    value: Value<Fr>,
}

impl InputCell for Packed {
    fn cell(&self) -> Cell {
        self.cell
    }
    fn field_value(&self) -> Value<Fr> {
        self.value
    }
}

/// Field element of a small signed integer.
fn int(v: i64) -> Fr {
    if v < 0 {
        -Fr::from(v.unsigned_abs())
    } else {
        Fr::from(v as u64)
    }
}

impl SharesConfig {
    /// The range-check layout it was configured with.
    pub fn range(&self) -> SharesRange {
        if self.x_high.is_some() {
            SharesRange::Bytes
        } else {
            SharesRange::Table16
        }
    }
}

impl SharesChip {
    /// Wraps a configuration.
    pub fn construct(config: SharesConfig) -> Self {
        Self { config }
    }

    /// Configures the chip on advice columns `x`, `y` and the Poseidon columns. With `x_high`
    /// the chip uses the [`SharesRange::Bytes`] range check (that column holds the high bytes),
    /// without it [`SharesRange::Table16`].
    ///
    /// # Side-effects
    /// `y` is equality-enabled (the Poseidon chip enables its own advice columns). The caller's
    /// constraint system must have a constant column (`meta.enable_constant`) for the headers.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: Column<Advice>,
        x_high: Option<Column<Advice>>,
        y: Column<Advice>,
        poseidon_advice: [Column<Advice>; 2],
        poseidon_fixed: [Column<Fixed>; 4],
    ) -> SharesConfig {
        meta.enable_equality(y);
        let s_share = meta.selector();
        let (s_acc_start, s_acc_next, s_acc_cross) = (meta.selector(), meta.selector(), meta.selector());
        let table = meta.lookup_table_column();
        // No selector: `x` (and `x_high`) hold nothing but the chip's values (and zeros where
        // unassigned), so the check applies to every usable row and costs no fixed column.
        match x_high {
            None => {
                meta.lookup("shares: 16-bit x", |m| vec![(m.query_advice(x, Rotation::cur()), table)]);
            }
            Some(h) => {
                meta.lookup("shares: x high byte", |m| vec![(m.query_advice(h, Rotation::cur()), table)]);
                meta.lookup("shares: x low byte", |m| {
                    let lo = m.query_advice(x, Rotation::cur()) - m.query_advice(h, Rotation::cur()) * c(Fr::from(1u64 << HALF_BITS));
                    vec![(lo, table)]
                });
            }
        }
        meta.create_gate("shares: bits", |m| {
            let s = m.query_selector(s_share);
            (0..8)
                .map(|i| {
                    let b = m.query_advice(y, Rotation(i));
                    s.clone() * b.clone() * (c(Fr::one()) - b)
                })
                .collect::<Vec<_>>()
        });
        meta.create_gate("shares: share coefficients", |m| {
            let s = m.query_selector(s_share);
            let xs = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, off: usize| m.query_advice(x, Rotation(off as i32));
            let a: Vec<Expression<Fr>> = (0..4)
                .map(|i| {
                    let code = m.query_advice(y, Rotation((CODE_OFF + i) as i32));
                    let mask = m.query_advice(y, Rotation((MASK_OFF + i) as i32));
                    mask.clone() - code * mask * c(Fr::from(2))
                })
                .collect();
            let slope: Vec<Expression<Fr>> = (0..4).map(|j| xs(m, SLOPE_OFF + j)).collect();
            let mut out = Vec::with_capacity(12);
            for p in 1..=3 {
                #[allow(clippy::needless_range_loop)] // j indexes the matrix row and the coefficient
                for j in 0..4 {
                    let e = (0..=j).fold(c(Fr::zero()), |acc, i| acc + a[i].clone() * c(Fr::from(ENCODING_MATRIX[j][i] as u64)));
                    let l = slope_terms(p, j).iter().fold(c(Fr::zero()), |acc, &i| acc + slope[i].clone());
                    let lhs = xs(m, r_off(p, j)) + (xs(m, q_off(p, j)) - c(Fr::from(QUOTIENT_OFFSET as u64))) * c(Fr::from(1u64 << 16));
                    out.push(s.clone() * (lhs - e - l));
                }
            }
            out
        });
        meta.create_gate("shares: pack", |m| {
            let (start, next, cross) = (m.query_selector(s_acc_start), m.query_selector(s_acc_next), m.query_selector(s_acc_cross));
            let acc = m.query_advice(y, Rotation::cur());
            let r = m.query_advice(x, Rotation::cur());
            let base = c(Fr::from(1u64 << 16));
            vec![
                start * (acc.clone() - r.clone()),
                next * (acc.clone() - m.query_advice(y, Rotation::prev()) * base.clone() - r.clone()),
                cross * (acc - m.query_advice(y, Rotation(CROSS_ROTATION)) * base - r),
            ]
        });
        // The two-column, four-column shapes are the chip's documented requirement.
        let poseidon =
            PoseidonChip::configure_with_width(meta, &poseidon_advice, &poseidon_fixed, SHARE_SPONGE_WIDTH).expect("Poseidon chip columns and width");
        SharesConfig { x, x_high, y, s_share, s_acc_start, s_acc_next, s_acc_cross, table, poseidon }
    }

    /// Loads the range table: `0 .. 2^16` (`Table16`, the circuit needs `k ≥ 17`) or
    /// `0 .. 2^8` (`Bytes`).
    pub fn load_table(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        let table = self.config.table;
        let rows = self.config.range().table_rows();
        layouter.assign_table(
            || "shares: range table",
            |mut t| {
                for i in 0..rows {
                    t.assign_cell(|| "value", table, i, || Value::known(Fr::from(i as u64)))?;
                }
                Ok(())
            },
        )
    }

    /// Rows used in `x`/`y` for `chunks` chunks (the chunk rows and three header rows).
    pub fn rows(chunks: usize) -> usize {
        ROWS_PER_CHUNK * chunks + 3
    }

    /// Rows used in the Poseidon columns for `chunks` chunks (three sponges).
    pub fn poseidon_rows(chunks: usize) -> usize {
        // SHARE_SPONGE_WIDTH has parameters (checked when the chip is configured).
        3 * super::poseidon::rows_needed_at(SHARE_SPONGE_WIDTH, 1 + (4 * chunks).div_ceil(COEFFS_PER_ELEMENT)).unwrap_or(usize::MAX / 4)
    }

    /// Places the chip from `first_row` (in its own columns) and proves the shares of `input`;
    /// returns the cells of `S_1, S_2, S_3`.
    pub fn assign<'v>(&self, region: &mut Region<'_, Fr>, first_row: usize, input: &SharesInput<'_>) -> Result<SharesOutput<'v>, Error> {
        let code: Value<Vec<Fr>> = input.code.iter().map(|b| b.value).collect();
        let mask: Value<Vec<Fr>> = input.mask.iter().map(|b| b.value).collect();
        let cells = code.zip(mask).zip(input.slopes).map(|((code, mask), slopes)| ChunkCells::new(&code, &mask, slopes));
        self.assign_cells(region, first_row, input, cells)
    }

    /// [`Self::assign`] with the chunk rows' values given (tests forge them consistently).
    fn assign_cells<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        input: &SharesInput<'_>,
        cells: Value<ChunkCells>,
    ) -> Result<SharesOutput<'v>, Error> {
        let cfg = &self.config;
        let bits = input.code.len();
        if bits == 0 || !bits.is_multiple_of(4) || input.mask.len() != bits {
            return Err(Error::Synthesis);
        }
        let chunks = bits / 4;
        let n = 4 * chunks;
        for k in 0..chunks {
            let base = first_row + ROWS_PER_CHUNK * k;
            cfg.s_share.enable(region, base)?;
            for off in 0..ROWS_PER_CHUNK {
                let x = cells.as_ref().map(|c| c.x[ROWS_PER_CHUNK * k + off]);
                region.assign_advice(cfg.x, base + off, x);
                if let Some(h) = cfg.x_high {
                    region.assign_advice(h, base + off, x.map(high_byte));
                }
            }
            for j in 0..4 {
                let yc = region.assign_advice(cfg.y, base + CODE_OFF + j, cells.as_ref().map(|c| c.y[ROWS_PER_CHUNK * k + CODE_OFF + j]));
                region.constrain_equal(input.code[4 * k + j].cell, yc.cell());
                let ym = region.assign_advice(cfg.y, base + MASK_OFF + j, cells.as_ref().map(|c| c.y[ROWS_PER_CHUNK * k + MASK_OFF + j]));
                region.constrain_equal(input.mask[4 * k + j].cell, ym.cell());
            }
        }
        // Packing accumulators and the packed elements of each party.
        let mut packed: [Vec<Packed>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for p in 1..=3 {
            for k in 0..chunks {
                for j in 0..4 {
                    let idx = 4 * k + j;
                    let row = first_row + ROWS_PER_CHUNK * k + r_off(p, j);
                    let sel = if idx % COEFFS_PER_ELEMENT == 0 {
                        cfg.s_acc_start
                    } else if j > 0 {
                        cfg.s_acc_next
                    } else {
                        cfg.s_acc_cross
                    };
                    sel.enable(region, row)?;
                    let value = cells.as_ref().map(|c| c.y[ROWS_PER_CHUNK * k + r_off(p, j)]);
                    let acc = region.assign_advice(cfg.y, row, value);
                    if idx % COEFFS_PER_ELEMENT == COEFFS_PER_ELEMENT - 1 || idx == n - 1 {
                        packed[p - 1].push(Packed { cell: acc.cell(), value });
                    }
                }
            }
        }
        // Headers and the three sponges.
        let header_row = first_row + ROWS_PER_CHUNK * chunks;
        let chip = PoseidonChip::construct(cfg.poseidon.clone());
        let mut prow = first_row;
        let mut outs = Vec::with_capacity(3);
        for (p, elements) in packed.into_iter().enumerate() {
            let party = Party::ALL[p];
            let header = region.assign_advice_from_constant(|| "S_p header", cfg.y, header_row + p, share_commitment_header(party, n))?;
            let mut inputs = vec![Packed { cell: header.cell(), value: header.value().copied() }];
            inputs.extend(elements);
            let (out, used) = chip.hash(region, prow, &inputs)?;
            prow += used;
            outs.push(out);
        }
        let commitments: [AssignedCell<&'v Assigned<Fr>, Fr>; 3] = outs.try_into().map_err(|_| Error::Synthesis)?;
        Ok(SharesOutput { commitments, rows: Self::rows(chunks), poseidon_rows: prow - first_row })
    }
}

/// `⌊v / 2^8⌋` of a field element holding a 16-bit value (the `x_high` cell of an `x` cell);
/// for other elements, bits 8..16 of its canonical representation (a value that then fails
/// the range check, as it must).
fn high_byte(v: Fr) -> Fr {
    use halo2_proofs::halo2curves::ff::PrimeField;
    Fr::from(v.to_repr().as_ref()[1] as u64)
}

/// The `x` and `y` values of every chunk row (`ROWS_PER_CHUNK` per chunk, without headers).
#[derive(Clone, Debug)]
struct ChunkCells {
    x: Vec<Fr>,
    y: Vec<Fr>,
}

impl ChunkCells {
    /// The honest values for these bits and slopes.
    fn new(code: &[Fr], mask: &[Fr], slopes: &[GrElement]) -> Self {
        let chunks = code.len() / 4;
        let mut x = vec![Fr::zero(); ROWS_PER_CHUNK * chunks];
        let mut y = vec![Fr::zero(); ROWS_PER_CHUNK * chunks];
        let one = Fr::one();
        for k in 0..chunks {
            let base = ROWS_PER_CHUNK * k;
            let s = slopes.get(k).copied().unwrap_or_default().0;
            let a: [i64; 4] = std::array::from_fn(|i| {
                let (cb, mb) = (i64::from(code[4 * k + i] == one), i64::from(mask[4 * k + i] == one));
                mb - 2 * cb * mb
            });
            for j in 0..4 {
                x[base + SLOPE_OFF + j] = Fr::from(s[j] as u64);
                y[base + CODE_OFF + j] = code[4 * k + j];
                y[base + MASK_OFF + j] = mask[4 * k + j];
            }
            for p in 1..=3 {
                for j in 0..4 {
                    let e: i64 = (0..=j).map(|i| ENCODING_MATRIX[j][i] as i64 * a[i]).sum();
                    let l: i64 = slope_terms(p, j).iter().map(|&i| s[i] as i64).sum();
                    let v = e + l;
                    let (q, r) = (v.div_euclid(1 << 16), v.rem_euclid(1 << 16));
                    x[base + q_off(p, j)] = int(q + QUOTIENT_OFFSET);
                    x[base + r_off(p, j)] = Fr::from(r as u64);
                }
            }
        }
        let mut cells = Self { x, y };
        cells.pack();
        cells
    }

    /// Fills the packing accumulators from the remainder cells.
    fn pack(&mut self) {
        let chunks = self.x.len() / ROWS_PER_CHUNK;
        for p in 1..=3 {
            let mut acc = Fr::zero();
            for idx in 0..4 * chunks {
                let row = ROWS_PER_CHUNK * (idx / 4) + r_off(p, idx % 4);
                acc = if idx % COEFFS_PER_ELEMENT == 0 { self.x[row] } else { acc * Fr::from(1u64 << 16) + self.x[row] };
                self.y[row] = acc;
            }
        }
    }
}

#[cfg(test)]
mod tests;
