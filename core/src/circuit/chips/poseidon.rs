//! The Poseidon sponge chip: the in-circuit twin of [`crate::poseidon::sponge_hash`].
//!
//! The chip hashes a list of assigned field elements with the zkiris sponge (state
//! `[len, 0, …, 0]`, rate `t − 1` blocks *added* into `state[1..t]`, one permutation per block,
//! output `state[1]`) and returns the output cell; the caller constrains it (typically to a
//! public input). It is built to be embedded in a larger circuit that manages absolute rows
//! itself (halo2-axiom's `SimpleFloorPlanner` places every region at row 0): the caller passes
//! its own columns to [`PoseidonChip::configure`], plans rows with
//! [`PoseidonConfig::rows_needed`], and calls [`PoseidonInstructions::hash`] with a start row.
//!
//! # Cost
//!
//! Two advice columns and four fixed columns, every gate of degree ≤ 5 including its selector
//! (no lookups). A permutation of width `t` with `R_P` partial rounds takes `9t + R_P` rows;
//! a hash of `n` inputs takes `⌈max(n,1)/(t−1)⌉ · (9t + R_P) + t` rows (see
//! [`PoseidonConfig::rows_needed`]): 118,680 rows for the 5,205 elements of a 128×1024
//! commitment at [`DEFAULT_WIDTH`] = 6. The gates cost 438 evaluator operations per
//! extended-domain row. A standalone KZG proof of that hash at `k = 17` takes 11.5 CPU-seconds
//! (367 MiB peak); the measurements behind the choice of width are in
//! [`crate::commitment::commit`].
//!
//! # Layout
//!
//! Columns: `a`, `b` (advice, both equality-enabled), `c` (fixed: round constants and other
//! per-row constants), `q1`, `q2`, `q3` (fixed: gate codes; a gate is on where its code
//! column holds its code, and the chip writes nothing else into those columns).
//!
//! Rows of one permutation (offsets from its first row; `t` = width, `n` = `R_P`):
//!
//! | rows | `a` | `b` | `c` | codes |
//! |---|---|---|---|---|
//! | `0..t` (absorb block) | `raw_j` = previous output `state[j]` | `in_j` (copied input; row 0 and padding: 0) | 1 (0 in the first block) | `q3` = absorb (2) or absorb-capacity (3) |
//! | `t + r·t + i`, `r < 4` (full rounds 0–3) | `s_i` (state before the round) | `h_i = (s_i + c)²` | round constant `c[r][i]` | `q3` = square (1); round start: `q1` = full (1), round 3: `q1` = entry (2) |
//! | `5t + m`, `m < n` (partial rounds) | `δx_m = x_m − x̄_m` | `h_m = x_m²` | `x̄_m` | `q3` = square; `m < n−t`: `q2` = recurrence (1); `m = n−t`: `q2` = exit (2) |
//! | `5t + n + r·t + i`, `r < 4` (full rounds 4–7) | `s_i` | `h_i` | `c[4+n+r][i]` | as rounds 0–2 |
//!
//! After the last permutation, `t` output rows hold the final state in `a`; the hash is `a`
//! at the second output row. In the first absorb block `c = 0` (the zero initial state is not
//! stored), and the capacity `len` is folded into the constant `c` of round 0, element 0.
//!
//! Partial rounds store only the S-box input `x_m` of element 0 and its square. The state
//! after a partial round is linear in the state before it and the S-box output, so the S-box
//! inputs obey a fixed linear recurrence of order `t` (Cayley–Hamilton on the MDS matrix):
//! `δx_{m+t} = Σ_{k<t} α_k δx_{m+k} + Σ_{l<t} β_l z_{m+l}` with `z = x⁵ − x`, where `x̄_m` is the
//! value `x_m` would take with all S-boxes replaced by the identity (it absorbs every round
//! constant, so the recurrence has no constant term). The **entry** gate derives the first `t`
//! inputs from the S-box outputs of round 3, the **exit** gate rebuilds the full state after
//! the last partial round from the last `t` pairs `(δx, z)`. See the gate table on
//! [`PoseidonChip::configure`].
//!
//! # What this chip does not constrain
//!
//! The chip does not range-check or otherwise interpret its inputs; packing pixels and mask
//! bits into field elements, and binding the output to a public input, are the caller's job.

use std::sync::OnceLock;

use halo2_proofs::circuit::{AssignedCell, Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, VirtualCells};
use halo2_proofs::poly::Rotation;

use crate::poseidon::{partial_rounds, pow5, PoseidonError, PoseidonParams, FULL_ROUNDS, MAX_WIDTH, MIN_WIDTH};

/// The sponge width of the enrollment commitment ([`crate::commitment::SPONGE_WIDTH`]).
pub const DEFAULT_WIDTH: usize = crate::commitment::SPONGE_WIDTH;

/// Advice columns the chip needs.
pub const ADVICE_COLUMNS: usize = 2;

/// Fixed columns the chip needs (`c`, `q1`, `q2`, `q3`).
pub const FIXED_COLUMNS: usize = 4;

/// Errors configuring the Poseidon chip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoseidonChipError {
    /// Too few columns were passed to [`PoseidonChip::configure`].
    #[error("the Poseidon chip needs {ADVICE_COLUMNS} advice and {FIXED_COLUMNS} fixed columns, got {advice} and {fixed}")]
    Columns {
        /// Advice columns supplied.
        advice: usize,
        /// Fixed columns supplied.
        fixed: usize,
    },
    /// The width has no Poseidon parameters.
    #[error(transparent)]
    Width(#[from] PoseidonError),
    /// The MDS matrix of this width does not give an invertible observation system for the
    /// partial-round recurrence (does not happen for widths 2–17; kept as a typed error).
    #[error("width {width}: the partial-round recurrence is singular for this MDS matrix")]
    Singular {
        /// The width.
        width: usize,
    },
}

/// Per-width constants of the chip's gates, derived once from [`PoseidonParams`].
#[derive(Debug)]
pub(crate) struct ChipConstants {
    params: &'static PoseidonParams,
    /// `x̄_m`: element-0 S-box input of partial round `m` with identity S-boxes, zero input.
    xbar: Vec<Fr>,
    /// Entry: `δx_m = Σ_i entry_y[m][i]·y3_i + Σ_{l<m} entry_z[m][l]·z_l`.
    entry_y: Vec<Vec<Fr>>,
    entry_z: Vec<Vec<Fr>>,
    /// Recurrence: `δx_{m+t} = Σ_k rec_x[k]·δx_{m+k} + Σ_l rec_z[l]·z_{m+l}`.
    rec_x: Vec<Fr>,
    rec_z: Vec<Fr>,
    /// Exit: `s_j = Σ_k exit_x[j][k]·δx_{n−t+k} + Σ_l exit_z[j][l]·z_{n−t+l} + exit_c[j]`.
    exit_x: Vec<Vec<Fr>>,
    exit_z: Vec<Vec<Fr>>,
    exit_c: Vec<Fr>,
}

static CONSTANTS: [OnceLock<Result<ChipConstants, PoseidonChipError>>; MAX_WIDTH - MIN_WIDTH + 1] = [const { OnceLock::new() }; MAX_WIDTH - MIN_WIDTH + 1];

fn mat_vec(m: &[Vec<Fr>], v: &[Fr]) -> Vec<Fr> {
    m.iter().map(|row| row.iter().zip(v).fold(Fr::ZERO, |acc, (a, b)| acc + *a * b)).collect()
}

fn mat_mul(a: &[Vec<Fr>], b: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    let n = b.first().map_or(0, Vec::len);
    a.iter().map(|row| (0..n).map(|j| row.iter().zip(b).fold(Fr::ZERO, |acc, (x, brow)| acc + *x * brow[j])).collect()).collect()
}

/// Inverse of a square matrix by Gauss–Jordan elimination; `None` if singular.
fn invert(m: &[Vec<Fr>]) -> Option<Vec<Vec<Fr>>> {
    let n = m.len();
    let mut a: Vec<Vec<Fr>> = m
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..n).map(|j| if i == j { Fr::ONE } else { Fr::ZERO }));
            r
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !bool::from(a[r][col].is_zero()))?;
        a.swap(col, pivot);
        let inv: Option<Fr> = a[col][col].invert().into();
        let inv = inv?;
        a[col].iter_mut().for_each(|x| *x *= inv);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col && !bool::from(row[col].is_zero()) {
                let f = row[col];
                row.iter_mut().zip(&pivot_row).for_each(|(x, p)| *x -= f * p);
            }
        }
    }
    Some(a.into_iter().map(|row| row[n..].to_vec()).collect())
}

impl ChipConstants {
    /// The constants for `width`, derived on first use and cached.
    pub(crate) fn get(width: usize) -> Result<&'static Self, PoseidonChipError> {
        let params = PoseidonParams::get(width)?;
        CONSTANTS[width - MIN_WIDTH].get_or_init(|| Self::derive(params)).as_ref().map_err(Clone::clone)
    }

    fn derive(params: &'static PoseidonParams) -> Result<Self, PoseidonChipError> {
        let t = params.width();
        let n = params.partial_rounds();
        let m = params.mds();
        let rc = &params.round_constants()[FULL_ROUNDS / 2..FULL_ROUNDS / 2 + n];
        let singular = PoseidonChipError::Singular { width: t };
        if n < t {
            return Err(singular);
        }

        // Constant trajectory: ū_0 = c_0, ū_{m+1} = M ū_m + c_{m+1}; x̄_m = ū_m[0].
        let mut ubar = rc[0].clone();
        let mut xbar = vec![ubar[0]];
        for c in &rc[1..] {
            ubar = mat_vec(m, &ubar).into_iter().zip(c).map(|(x, c)| x + c).collect();
            xbar.push(ubar[0]);
        }
        // After the loop `ubar` is ū_{n−1}; the state after the last partial round is
        // M(ū_{n−1} + δu_{n−1} + e_0 z_{n−1}).
        let exit_c = mat_vec(m, &ubar);

        // Entry: δu_0 = M y3, δu_{m+1} = M δu_m + M e_0 z_m, so
        // δx_m = (M^{m+1})_{0,·} y3 + Σ_{l<m} (M^{m−l})_{00} z_l.
        let mut powers = vec![m.to_vec()]; // powers[k] = M^{k+1}
        for _ in 1..t {
            let next = mat_mul(powers.last().map_or(m, Vec::as_slice), m);
            powers.push(next);
        }
        let entry_y: Vec<Vec<Fr>> = (0..t).map(|k| powers[k][0].clone()).collect();
        let entry_z: Vec<Vec<Fr>> = (0..t).map(|k| (0..k).map(|l| powers[k - l - 1][0][0]).collect()).collect();

        // Recurrence and exit: simulate δu symbolically over V = (δu_start (t), z_0..z_{t−1}).
        let vars = 2 * t;
        let unit = |i: usize| -> Vec<Fr> { (0..vars).map(|j| if i == j { Fr::ONE } else { Fr::ZERO }).collect() };
        let step = |du: &[Vec<Fr>], k: usize| -> Vec<Vec<Fr>> {
            (0..t)
                .map(|i| {
                    let mut f: Vec<Fr> = (0..vars).map(|v| (0..t).fold(Fr::ZERO, |acc, j| acc + m[i][j] * du[j][v])).collect();
                    f[t + k] += m[i][0];
                    f
                })
                .collect()
        };
        let mut du: Vec<Vec<Fr>> = (0..t).map(unit).collect();
        let mut dx = Vec::with_capacity(t + 1);
        let mut du_exit = Vec::new();
        for k in 0..=t {
            dx.push(du[0].clone());
            if k == t - 1 {
                du_exit = du.clone();
            }
            if k < t {
                du = step(&du, k);
            }
        }
        // Observations (δx_0..δx_{t−1}, z_0..z_{t−1}) = Q·V; coefficients r of a target form f
        // satisfy Qᵀ r = f.
        let q: Vec<Vec<Fr>> = dx[..t].iter().cloned().chain((t..vars).map(unit)).collect();
        let qt: Vec<Vec<Fr>> = (0..vars).map(|i| (0..vars).map(|j| q[j][i]).collect()).collect();
        let qt_inv = invert(&qt).ok_or(singular)?;
        let solve = |f: &[Fr]| -> (Vec<Fr>, Vec<Fr>) {
            let r = mat_vec(&qt_inv, f);
            (r[..t].to_vec(), r[t..].to_vec())
        };
        let (rec_x, rec_z) = solve(&dx[t]);
        let mut exit_x = Vec::with_capacity(t);
        let mut exit_z = Vec::with_capacity(t);
        for m_row in m {
            // s_j = Σ_i M[j][i]·(δu_{n−1} + e_0 z_{n−1})_i (+ exit_c[j]).
            let mut f: Vec<Fr> = (0..vars).map(|v| (0..t).fold(Fr::ZERO, |acc, i| acc + m_row[i] * du_exit[i][v])).collect();
            f[vars - 1] += m_row[0];
            let (x, z) = solve(&f);
            exit_x.push(x);
            exit_z.push(z);
        }
        Ok(Self { params, xbar, entry_y, entry_z, rec_x, rec_z, exit_x, exit_z, exit_c })
    }

    fn width(&self) -> usize {
        self.params.width()
    }

    fn partial(&self) -> usize {
        self.params.partial_rounds()
    }

    /// Rows of one permutation: an absorb block, 8 full rounds of `t` rows, `R_P` partial rows.
    fn rows_per_permutation(&self) -> usize {
        9 * self.width() + self.partial()
    }

    fn permutations(&self, n_inputs: usize) -> usize {
        n_inputs.div_ceil(self.width() - 1).max(1)
    }

    fn rows_needed(&self, n_inputs: usize) -> usize {
        self.permutations(n_inputs) * self.rows_per_permutation() + self.width()
    }

    /// Row (relative to the hash's first row) of the `b` cell holding input `i`.
    fn input_row(&self, i: usize) -> usize {
        let rate = self.width() - 1;
        (i / rate) * self.rows_per_permutation() + i % rate + 1
    }

    /// The fixed-column contents of a hash of `n_inputs` elements, row by row.
    fn fixed_layout(&self, n_inputs: usize) -> FixedLayout {
        let t = self.width();
        let p = self.params;
        let rows = self.rows_needed(n_inputs);
        let mut l = FixedLayout { c: vec![Fr::ZERO; rows], q1: vec![0; rows], q2: vec![0; rows], q3: vec![0; rows] };
        for perm in 0..self.permutations(n_inputs) {
            let base = perm * self.rows_per_permutation();
            for j in 0..t {
                let has_input = j >= 1 && perm * (t - 1) + j - 1 < n_inputs;
                l.c[base + j] = if perm == 0 { Fr::ZERO } else { Fr::ONE };
                l.q3[base + j] = if has_input { Q3_ABSORB } else { Q3_CAPACITY };
            }
            let mut row = base + t;
            for (r, c) in p.round_constants().iter().enumerate() {
                if p.is_full_round(r) {
                    l.c[row..row + t].copy_from_slice(c);
                    l.q3[row..row + t].fill(Q3_SQUARE);
                    if perm == 0 && r == 0 {
                        // The capacity `len` of the first block is folded into this constant.
                        l.c[row] += Fr::from(n_inputs as u64);
                    }
                    l.q1[row] = if r + 1 == FULL_ROUNDS / 2 { Q1_ENTRY } else { Q1_FULL };
                    row += t;
                } else {
                    let m = r - FULL_ROUNDS / 2;
                    l.c[row] = self.xbar[m];
                    l.q3[row] = Q3_SQUARE;
                    if m + t < self.partial() {
                        l.q2[row] = Q2_REC;
                    } else if m + t == self.partial() {
                        l.q2[row] = Q2_EXIT;
                    }
                    row += 1;
                }
            }
        }
        l
    }

    /// Witness of a whole hash: the `a` and `b` column values, and the output.
    fn trace(&self, inputs: &[Fr]) -> (Vec<Fr>, Vec<Fr>, Fr) {
        let t = self.width();
        let p = self.params;
        let rows = self.rows_needed(inputs.len());
        let mut a = vec![Fr::ZERO; rows];
        let mut b = vec![Fr::ZERO; rows];
        let mut raw = vec![Fr::ZERO; t];
        for perm in 0..self.permutations(inputs.len()) {
            let base = perm * self.rows_per_permutation();
            let mut state = raw.clone();
            if perm == 0 {
                state[0] = Fr::from(inputs.len() as u64);
            }
            for j in 0..t {
                a[base + j] = raw[j];
                if j >= 1 {
                    if let Some(x) = inputs.get(perm * (t - 1) + j - 1) {
                        b[base + j] = *x;
                        state[j] += x;
                    }
                }
            }
            let mut row = base + t;
            for (r, c) in p.round_constants().iter().enumerate() {
                if p.is_full_round(r) {
                    let mut y = Vec::with_capacity(t);
                    for i in 0..t {
                        let x = state[i] + c[i];
                        a[row + i] = state[i];
                        b[row + i] = x.square();
                        y.push(pow5(x));
                    }
                    // In the first block the capacity `len` lives in `c`, not in `a`.
                    if perm == 0 && r == 0 {
                        a[row] = Fr::ZERO;
                    }
                    state = mat_vec(p.mds(), &y);
                    row += t;
                } else {
                    let x = state[0] + c[0];
                    a[row] = x - self.xbar[r - FULL_ROUNDS / 2];
                    b[row] = x.square();
                    state.iter_mut().zip(c).for_each(|(s, c)| *s += c);
                    state[0] = pow5(state[0]);
                    state = mat_vec(p.mds(), &state);
                    row += 1;
                }
            }
            raw = state;
        }
        let out = rows - t;
        a[out..].copy_from_slice(&raw);
        (a, b, raw[1])
    }
}

/// The chip's columns and per-width constants.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Fixed>,
    q1: Column<Fixed>,
    q2: Column<Fixed>,
    q3: Column<Fixed>,
    constants: &'static ChipConstants,
}

impl PoseidonConfig {
    /// The sponge width `t`.
    pub fn width(&self) -> usize {
        self.constants.width()
    }

    /// Rows one permutation occupies: `9t + R_P`.
    pub fn rows_per_permutation(&self) -> usize {
        self.constants.rows_per_permutation()
    }

    /// Rows [`PoseidonInstructions::hash`] uses for `n_inputs` inputs:
    /// `⌈max(n_inputs, 1)/(t − 1)⌉·(9t + R_P) + t`.
    pub fn rows_needed(&self, n_inputs: usize) -> usize {
        self.constants.rows_needed(n_inputs)
    }
}

/// Partial rounds at [`DEFAULT_WIDTH`] (checked at compile time).
const DEFAULT_PARTIAL_ROUNDS: usize = match partial_rounds(DEFAULT_WIDTH) {
    Some(r) => r,
    None => panic!("DEFAULT_WIDTH has no Poseidon parameters"),
};

/// Rows a hash of `n_inputs` elements takes at [`DEFAULT_WIDTH`] (the same as
/// [`PoseidonConfig::rows_needed`] of a chip configured with [`PoseidonChip::configure`]):
/// 118,680 for the 5,205 elements of a 128×1024 commitment.
pub const fn rows_needed(n_inputs: usize) -> usize {
    let t = DEFAULT_WIDTH;
    let blocks = if n_inputs == 0 { 1 } else { n_inputs.div_ceil(t - 1) };
    blocks * (9 * t + DEFAULT_PARTIAL_ROUNDS) + t
}

/// Rows a hash of `n_inputs` elements takes at sponge width `width` (`None` for a width without
/// parameters): `⌈max(n, 1)/(t − 1)⌉·(9t + R_P) + t`.
pub const fn rows_needed_at(width: usize, n_inputs: usize) -> Option<usize> {
    let Some(partial) = partial_rounds(width) else { return None };
    let blocks = if n_inputs == 0 { 1 } else { n_inputs.div_ceil(width - 1) };
    Some(blocks * (9 * width + partial) + width)
}

/// The Poseidon sponge chip (see the [module documentation](self) for the layout).
#[derive(Clone, Debug)]
pub struct PoseidonChip {
    config: PoseidonConfig,
}

/// Hashing a list of assigned cells with the zkiris sponge.
pub trait PoseidonInstructions {
    /// Lays the sponge out from absolute row `start_row` of `region` (which must be free for
    /// [`PoseidonConfig::rows_needed`]`(inputs.len())` rows in the chip's columns), copies each
    /// input into the chip with an equality constraint, and returns the output cell (equal to
    /// [`crate::poseidon::sponge_hash`] of the inputs) and the number of rows used.
    ///
    /// Call it in the phase of the chip's advice columns (after `region.next_phase()` when they
    /// are second-phase columns); the inputs may live in any earlier-or-same-phase column. The
    /// returned cell is halo2-axiom's `assign_advice` handle: use its `cell()` to constrain it.
    #[allow(clippy::type_complexity)]
    fn hash<'v, I: InputCell>(&self, region: &mut Region<'_, Fr>, start_row: usize, inputs: &[I])
        -> Result<(AssignedCell<&'v Assigned<Fr>, Fr>, usize), Error>;
}

/// An assigned cell that can be hashed: halo2-axiom's `assign_advice` returns
/// `AssignedCell<&Assigned<Fr>, Fr>`, other APIs `AssignedCell<Fr, Fr>`; both work.
pub trait InputCell {
    /// The cell (its column must be equality-enabled).
    fn cell(&self) -> Cell;
    /// Its value, if known.
    fn field_value(&self) -> Value<Fr>;
}

impl InputCell for AssignedCell<Fr, Fr> {
    fn cell(&self) -> Cell {
        AssignedCell::cell(self)
    }
    fn field_value(&self) -> Value<Fr> {
        self.value().copied()
    }
}

impl InputCell for AssignedCell<&Assigned<Fr>, Fr> {
    fn cell(&self) -> Cell {
        AssignedCell::cell(self)
    }
    fn field_value(&self) -> Value<Fr> {
        self.value().map(|v| v.evaluate())
    }
}

/// Code values in `q1`, `q2`, `q3`.
const Q1_FULL: u8 = 1;
const Q1_ENTRY: u8 = 2;
const Q2_REC: u8 = 1;
const Q2_EXIT: u8 = 2;
const Q3_SQUARE: u8 = 1;
const Q3_ABSORB: u8 = 2;
const Q3_CAPACITY: u8 = 3;

/// Fixed-column values of one hash, indexed by row offset.
#[derive(Debug)]
struct FixedLayout {
    c: Vec<Fr>,
    q1: Vec<u8>,
    q2: Vec<u8>,
    q3: Vec<u8>,
}

/// The selector of `code` in a code column holding values `0..=max`: `Π_{u≠code} (q − u)`
/// (nonzero exactly where the column holds `code`; degree `max`).
fn code_selector(q: Expression<Fr>, code: u8, max: u8) -> Expression<Fr> {
    (0..=max).filter(|&u| u != code).fold(Expression::Constant(Fr::ONE), |acc, u| acc * (q.clone() - Expression::Constant(Fr::from(u64::from(u)))))
}

fn lincomb(terms: impl IntoIterator<Item = (Fr, Expression<Fr>)>) -> Expression<Fr> {
    terms.into_iter().fold(Expression::Constant(Fr::ZERO), |acc, (k, e)| acc + e * k)
}

impl PoseidonChip {
    /// Wraps a configuration.
    pub fn construct(config: PoseidonConfig) -> Self {
        Self { config }
    }

    /// Configures the chip at [`DEFAULT_WIDTH`] on `advice[0..2]` and `fixed[0..4]`.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, advice: &[Column<Advice>], fixed: &[Column<Fixed>]) -> Result<PoseidonConfig, PoseidonChipError> {
        Self::configure_with_width(meta, advice, fixed, DEFAULT_WIDTH)
    }

    /// Configures the chip for sponge width `width` (2..=17) on the caller's columns:
    /// `a = advice[0]`, `b = advice[1]` (first- or second-phase), `c = fixed[0]`, and the code
    /// columns `q1, q2, q3 = fixed[1..4]`, which the chip owns (it writes their values on the
    /// rows it uses, and the caller must leave them zero elsewhere).
    ///
    /// # Side-effects
    ///
    /// `a` and `b` are equality-enabled (inputs are copied into `b`, the output is read
    /// from `a`).
    ///
    /// # Gates
    ///
    /// With `x(r) = a(r) + c(r)` (an S-box input), `y(r) = x(r)·b(r)²` (its fifth power, as
    /// `b = x²`) and `z(r) = y(r) − x(r)`; `M` is the MDS matrix and rotations are relative to the
    /// row where the code is set. Each gate is its code selector (degree 2 or 3) times a body of
    /// degree ≤ 3, so every constraint has degree ≤ 5.
    ///
    /// | gate | code | constraints |
    /// |---|---|---|
    /// | `sbox square` | `q3 = 1` | `b(0) = x(0)²` |
    /// | `absorb` | `q3 = 2` | `a(t) = c(0)·a(0) + b(0)` |
    /// | `absorb capacity` | `q3 = 3` | `a(t) = c(0)·a(0)` |
    /// | `full round` | `q1 = 1` | `a(t+j) = Σ_i M[j][i]·y(i)` for `j < t` |
    /// | `partial entry` | `q1 = 2` | `a(t+m) = Σ_i E[m][i]·y(i) + Σ_{l<m} G[m][l]·z(t+l)` for `m < t` |
    /// | `partial recurrence` | `q2 = 1` | `a(t) = Σ_{k<t} α_k·a(k) + Σ_{l<t} β_l·z(l)` |
    /// | `partial exit` | `q2 = 2` | `a(t+j) = Σ_k A[j][k]·a(k) + Σ_l B[j][l]·z(l) + γ_j` for `j < t` |
    ///
    /// Layouts, drawn for `t = 3`; the row column is the rotation from the row holding the code.
    ///
    /// `sbox square` (every full-round and partial row):
    ///
    /// ```text
    ///  rot | a | b      | c | q3
    ///  0   | s | (s+c)² | c | 1
    /// ```
    ///
    /// `absorb` / `absorb capacity` (the `t` rows before round 0; `c` is 1 to keep the previous
    /// output, 0 in the first block, where the zero initial state is implicit):
    ///
    /// ```text
    ///  rot | a               | b    | c   | q3
    ///  0   | raw_j           | in_j | 0/1 | 2 (input)   3 (capacity row j = 0, or padding)
    ///  t   | s_j = c·raw_j + in_j (round 0 state; capacity rows: c·raw_j)
    /// ```
    ///
    /// `full round` (first row of rounds 0–2 and 4–7):
    ///
    /// ```text
    ///  rot | a     | b    | c       | q1 | q3
    ///  0   | s_0   | h_0  | c[r][0] | 1  | 1
    ///  1   | s_1   | h_1  | c[r][1] |    | 1
    ///  2   | s_2   | h_2  | c[r][2] |    | 1
    ///  3   | s'_0  | h'_0 |         |    | 1      s' = M·(s + c)⁵, next round (or next absorb block)
    ///  4   | s'_1  |      |         |    |
    ///  5   | s'_2  |      |         |    |
    /// ```
    ///
    /// `partial entry` (first row of round 3; its outputs are the first `t` partial rows):
    ///
    /// ```text
    ///  rot | a     | b     | c       | q1 | q2 | q3
    ///  0   | s_0   | h_0   | c[3][0] | 2  |    | 1
    ///  1   | s_1   | h_1   | c[3][1] |    |    | 1
    ///  2   | s_2   | h_2   | c[3][2] |    |    | 1
    ///  3   | δx_0  | x_0²  | x̄_0     |    | 1  | 1      δx_m = E[m]·y(0..t) + Σ_{l<m} G[m][l]·z(t+l)
    ///  4   | δx_1  | x_1²  | x̄_1     |    | 1  | 1
    ///  5   | δx_2  | x_2²  | x̄_2     |    | 1  | 1
    /// ```
    ///
    /// `partial recurrence` (partial rows `m < R_P − t`):
    ///
    /// ```text
    ///  rot | a        | b         | c        | q2 | q3
    ///  0   | δx_m     | x_m²      | x̄_m      | 1  | 1
    ///  1   | δx_{m+1} | x_{m+1}²  | x̄_{m+1}  | …  | 1
    ///  2   | δx_{m+2} | x_{m+2}²  | x̄_{m+2}  | …  | 1
    ///  3   | δx_{m+3} |           |          |    |      δx_{m+3} = Σ α_k·δx_{m+k} + Σ β_l·z_{m+l}
    /// ```
    ///
    /// `partial exit` (partial row `R_P − t`; its outputs are round 4's state):
    ///
    /// ```text
    ///  rot | a           | b          | c          | q2 | q3
    ///  0   | δx_{R_P−3}  | x²         | x̄_{R_P−3}  | 2  | 1
    ///  1   | δx_{R_P−2}  | x²         | x̄_{R_P−2}  |    | 1
    ///  2   | δx_{R_P−1}  | x²         | x̄_{R_P−1}  |    | 1
    ///  3   | s_0         | h_0        | c[4+R_P][0]| 1  | 1      s = A·δx + B·z + γ
    ///  4   | s_1         | h_1        | …          |    | 1
    ///  5   | s_2         | h_2        | …          |    | 1
    /// ```
    pub fn configure_with_width(
        meta: &mut ConstraintSystem<Fr>,
        advice: &[Column<Advice>],
        fixed: &[Column<Fixed>],
        width: usize,
    ) -> Result<PoseidonConfig, PoseidonChipError> {
        let ([a, b, ..], [c, q1, q2, q3, ..]) = (advice, fixed) else {
            return Err(PoseidonChipError::Columns { advice: advice.len(), fixed: fixed.len() });
        };
        let (a, b, c, q1, q2, q3) = (*a, *b, *c, *q1, *q2, *q3);
        let k = ChipConstants::get(width)?;
        let t = width;
        meta.enable_equality(a);
        meta.enable_equality(b);

        let rot = |r: usize| Rotation(r as i32);
        // The same expression shapes are built in every gate, so halo2's evaluator shares them.
        let x = move |m: &mut VirtualCells<'_, Fr>, r: usize| m.query_advice(a, rot(r)) + m.query_fixed(c, rot(r));
        let y = move |m: &mut VirtualCells<'_, Fr>, r: usize| {
            let h = m.query_advice(b, rot(r));
            x(m, r) * (h.clone() * h)
        };
        let z = move |m: &mut VirtualCells<'_, Fr>, r: usize| y(m, r) - x(m, r);

        meta.create_gate("sbox square", |m| {
            let s = code_selector(m.query_fixed(q3, Rotation::cur()), Q3_SQUARE, 3);
            let xr = x(m, 0);
            let h = m.query_advice(b, Rotation::cur());
            vec![("b = x^2", s * (h - xr.clone() * xr))]
        });
        meta.create_gate("absorb", |m| {
            let s = code_selector(m.query_fixed(q3, Rotation::cur()), Q3_ABSORB, 3);
            let next = m.query_advice(a, rot(t));
            let raw = m.query_advice(a, Rotation::cur());
            let keep = m.query_fixed(c, Rotation::cur());
            let input = m.query_advice(b, Rotation::cur());
            vec![("a(t) = c*a + b", s * (next - keep * raw - input))]
        });
        meta.create_gate("absorb capacity", |m| {
            let s = code_selector(m.query_fixed(q3, Rotation::cur()), Q3_CAPACITY, 3);
            let next = m.query_advice(a, rot(t));
            let raw = m.query_advice(a, Rotation::cur());
            let keep = m.query_fixed(c, Rotation::cur());
            vec![("a(t) = c*a", s * (next - keep * raw))]
        });
        let mds = k.params.mds();
        meta.create_gate("full round", |m| {
            let s = code_selector(m.query_fixed(q1, Rotation::cur()), Q1_FULL, 2);
            let ys: Vec<_> = (0..t).map(|i| y(m, i)).collect();
            (0..t)
                .map(|j| {
                    let out = m.query_advice(a, rot(t + j));
                    let mixed = lincomb(mds[j].iter().copied().zip(ys.iter().cloned()));
                    (format!("s'[{j}] = (M y)[{j}]"), s.clone() * (out - mixed))
                })
                .collect::<Vec<_>>()
        });
        meta.create_gate("partial entry", |m| {
            let s = code_selector(m.query_fixed(q1, Rotation::cur()), Q1_ENTRY, 2);
            let ys: Vec<_> = (0..t).map(|i| y(m, i)).collect();
            let zs: Vec<_> = (0..t.saturating_sub(1)).map(|l| z(m, t + l)).collect();
            (0..t)
                .map(|mm| {
                    let out = m.query_advice(a, rot(t + mm));
                    let e = lincomb(k.entry_y[mm].iter().copied().zip(ys.iter().cloned())) + lincomb(k.entry_z[mm].iter().copied().zip(zs.iter().cloned()));
                    (format!("dx[{mm}] from round 3"), s.clone() * (out - e))
                })
                .collect::<Vec<_>>()
        });
        meta.create_gate("partial recurrence", |m| {
            let s = code_selector(m.query_fixed(q2, Rotation::cur()), Q2_REC, 2);
            let out = m.query_advice(a, rot(t));
            let dx: Vec<_> = (0..t).map(|i| m.query_advice(a, rot(i))).collect();
            let zs: Vec<_> = (0..t).map(|l| z(m, l)).collect();
            let e = lincomb(k.rec_x.iter().copied().zip(dx)) + lincomb(k.rec_z.iter().copied().zip(zs));
            vec![("dx(t) = sum a dx + sum b z", s * (out - e))]
        });
        meta.create_gate("partial exit", |m| {
            let s = code_selector(m.query_fixed(q2, Rotation::cur()), Q2_EXIT, 2);
            let dx: Vec<_> = (0..t).map(|i| m.query_advice(a, rot(i))).collect();
            let zs: Vec<_> = (0..t).map(|l| z(m, l)).collect();
            (0..t)
                .map(|j| {
                    let out = m.query_advice(a, rot(t + j));
                    let e = lincomb(k.exit_x[j].iter().copied().zip(dx.iter().cloned()))
                        + lincomb(k.exit_z[j].iter().copied().zip(zs.iter().cloned()))
                        + Expression::Constant(k.exit_c[j]);
                    (format!("s[{j}] after partial rounds"), s.clone() * (out - e))
                })
                .collect::<Vec<_>>()
        });

        Ok(PoseidonConfig { a, b, c, q1, q2, q3, constants: k })
    }
}

impl PoseidonInstructions for PoseidonChip {
    fn hash<'v, I: InputCell>(
        &self,
        region: &mut Region<'_, Fr>,
        start_row: usize,
        inputs: &[I],
    ) -> Result<(AssignedCell<&'v Assigned<Fr>, Fr>, usize), Error> {
        let cfg = &self.config;
        let k = cfg.constants;
        let t = k.width();
        let layout = k.fixed_layout(inputs.len());
        let rows = layout.c.len();

        let values: Value<Vec<Fr>> = inputs.iter().map(InputCell::field_value).collect();
        let trace = values.map(|v| k.trace(&v));

        let mut output = None;
        let mut b_cells = Vec::with_capacity(rows);
        for row in 0..rows {
            let at = start_row + row;
            let a_cell = region.assign_advice(cfg.a, at, trace.as_ref().map(|(a, _, _)| a[row]));
            b_cells.push(region.assign_advice(cfg.b, at, trace.as_ref().map(|(_, b, _)| b[row])).cell());
            region.assign_fixed(cfg.c, at, layout.c[row]);
            for (col, code) in [(cfg.q1, layout.q1[row]), (cfg.q2, layout.q2[row]), (cfg.q3, layout.q3[row])] {
                if code != 0 {
                    region.assign_fixed(col, at, Fr::from(u64::from(code)));
                }
            }
            if row == rows - t + 1 {
                output = Some(a_cell);
            }
        }
        for (i, input) in inputs.iter().enumerate() {
            let b_cell = b_cells.get(k.input_row(i)).ok_or(Error::Synthesis)?;
            region.constrain_equal(input.cell(), *b_cell);
        }
        let output = output.ok_or(Error::Synthesis)?;
        Ok((output, rows))
    }
}

#[cfg(test)]
pub(crate) mod cost;
#[cfg(test)]
mod tests;
