//! The statement plan: everything about the circuit that follows from the model alone —
//! which regions exist, which rows they occupy, which rule atoms compute which bits, and the
//! public-input layout. Keygen, the prover and the verifier derive the same plan from the
//! same model, so the verifying key binds the model.
//!
//! The public-input layout (both submission modes) is defined in [`crate::public`]; the plan
//! places the cells bound to it.

use std::collections::HashMap;

use crate::model::ir::{Graph, TensorId};
use crate::model::manifest::{BitRule, Component, Operand, Ratio};
use crate::model::Model;

use super::chips::compare::rows_for_bits;
use super::chips::conv::{apad_shape, ApadShape};
use super::chips::pack::{CODE_BITS_PER_WORD, MASK_BITS_PER_ELEMENT, PIXELS_PER_ELEMENT};
use super::chips::shares::SharesRange;
use super::layout::{Col, Floor};
use super::CircuitError;
use crate::iriscode::serialize::serial_index;
use crate::public::{PublicLayout, Submission};

use self::cnn::{CnnPlan, ValueRef};
use self::linear::{detect_conv, LinearAnalysis};
use self::region::{CellRef, ConvRegion, InputRegion};

pub mod cnn;
pub mod linear;
pub mod region;

/// Public-input rows before the code words or share commitments.
pub const HEADER_INSTANCES: usize = crate::public::HEADER_ROWS;

/// A comparator operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    /// A proven cell.
    Cell(CellRef),
    /// The public input at this instance row.
    Instance(usize),
    /// Zero.
    Zero,
}

/// One gadget instance of the rules region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    /// `b = [f0 + f1·x + f2·y ≥ 0]` over `rows` rows; `bits` bounds `|d|`.
    Compare {
        /// Operand x.
        x: Arg,
        /// Operand y.
        y: Arg,
        /// Coefficients.
        f: [i128; 3],
        /// Rows of limbs.
        rows: usize,
    },
    /// `q2 = x², q3 = y²`.
    Square {
        /// x.
        x: CellRef,
        /// y.
        y: CellRef,
    },
    /// `b = [x ≠ 0 ∨ y ≠ 0]`.
    NonZero {
        /// x.
        x: CellRef,
        /// y.
        y: CellRef,
    },
    /// [`Atom::Square`] and [`Atom::NonZero`] of the same operands on one row: `q2 = x²`,
    /// `q3 = y²`, `b = [x ≠ 0 ∨ y ≠ 0]` (the two gates use disjoint cells besides `q0 = x`,
    /// `q1 = y`).
    SquareNonZero {
        /// x.
        x: CellRef,
        /// y.
        y: CellRef,
    },
    /// `b = AND(bits)` (≤ 4 inputs).
    And(Vec<CellRef>),
}

impl Atom {
    fn rows(&self) -> usize {
        match self {
            Atom::Compare { rows, .. } => *rows,
            _ => 1,
        }
    }
}

/// The public code bits of one code (iris or mask), in serialized order, packed into words.
#[derive(Clone, Debug)]
pub struct PackRegion {
    /// First row.
    pub first_row: usize,
    /// Bit cells in serialized order.
    pub bits: Vec<CellRef>,
    /// Keep a popcount in `h`.
    pub popcount: bool,
    /// First instance row of the words.
    pub first_instance: usize,
}

impl PackRegion {
    /// Rows used (4 bits per row; words start on row boundaries).
    pub fn rows(&self) -> usize {
        self.bits.len().div_ceil(4)
    }

    /// Number of public words.
    pub fn words(&self) -> usize {
        self.bits.len().div_ceil(CODE_BITS_PER_WORD)
    }

    /// Row of the last quad of word `w`.
    pub fn word_end_row(&self, w: usize) -> usize {
        let end_bit = ((w + 1) * CODE_BITS_PER_WORD).min(self.bits.len());
        self.first_row + end_bit.div_ceil(4) - 1
    }
}

/// Shape parameters that `configure` needs (the circuit's `Params`).
///
/// Serializable so that a verifier can configure the circuit from the key cache without
/// planning the statement again (`crate::prover::keys::cached_shape`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CircuitShape {
    /// Limb width of range checks.
    pub limb_bits: u32,
    /// Range-check table layout (see `circuit/chips/range.rs`): limb pairs, or single limbs.
    pub paired_limbs: bool,
    /// Padded-chain gate variants.
    pub apad: Vec<ApadShape>,
    /// Segment lengths used by accumulators.
    pub seg_lens: Vec<usize>,
    /// Comparator row counts in use.
    pub compare_rows: Vec<usize>,
    /// Whether the CNN columns and chips exist (models with a liveness rule, or whose rules read
    /// a CNN output).
    pub cnn: bool,
    /// ReLU limb-row counts in use.
    pub relu_rows: Vec<usize>,
    /// Requantisation gate variants in use.
    pub requant_shapes: Vec<super::chips::requant::RequantShape>,
    /// Outputs per block of the batched dense layout (`circuit/chips/dense_batch.rs`); 0 or 1 when
    /// every dense layer uses the direct layout (`circuit/chips/dense.rs`).
    pub dense_width: usize,
    /// Whether the MPC shares chip (`circuit/chips/shares.rs`) and its columns exist (mpc-shares
    /// models only; public-code circuits keep exactly their columns), and how it range-checks
    /// its cells (a 2^16-row table on large circuits, byte halves on small ones).
    pub shares: Option<SharesRange>,
}

/// Multiply-adds in dense layers from which the batched layout is used automatically.
///
/// Below it the direct layout's rows cost less than the batched layout's extra fixed columns
/// (one more opening per column in every proof, about 60 columns at width 16).
pub const DENSE_BATCH_THRESHOLD: usize = 1 << 19;

/// Layout choices the planner otherwise makes itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Outputs per block of the batched dense layout: `Some(1)` forces the direct layout,
    /// `Some(g)` blocks of `g`; `None` chooses [`super::chips::dense_batch::DEFAULT_WIDTH`] when the
    /// dense layers have at least [`DENSE_BATCH_THRESHOLD`] multiply-adds, else the direct one.
    pub dense_width: Option<usize>,
}

/// The complete plan.
#[derive(Clone, Debug)]
pub struct StatementPlan {
    /// Gate shapes.
    pub shape: CircuitShape,
    /// Enrollment inputs.
    pub inputs: Vec<InputRegion>,
    /// Convolutions.
    pub convs: Vec<ConvRegion>,
    /// First row of the rules region.
    pub rules_first_row: usize,
    /// Rule atoms, laid out consecutively from `rules_first_row`.
    pub atoms: Vec<Atom>,
    /// Row of each atom.
    pub atom_rows: Vec<usize>,
    /// Iris code bits.
    pub iris_pack: PackRegion,
    /// Mask code bits.
    pub mask_pack: PackRegion,
    /// Row of the popcount comparator (among the atoms).
    pub popcount_atom: usize,
    /// The first of four `v` rows holding single cells: `misc_row` the zero copied to public
    /// row 2 when τ is not public, `+ 1` the commitment header, `+ 2` the salt, `+ 3` the
    /// submission binding.
    pub misc_row: usize,
    /// Rows used by the shared columns.
    pub rows: usize,
    /// The model's minimum number of valid mask bits (fixed in the circuit).
    pub min_valid_bits: u32,
    /// Number of public inputs.
    pub instances: usize,
    /// The CNN path (ReLU, requantisation and dense regions) of the liveness score and of the
    /// CNN outputs the rules read.
    pub cnn: CnnPlan,
    /// The liveness rule, if the model has one.
    pub liveness: Option<LivenessPlan>,
    /// The public-input layout.
    pub layout: PublicLayout,
    /// The MPC shares region (mpc-shares models).
    pub shares: Option<SharesPlan>,
}

/// Where the shares chip sits (its own columns, from row 0) and what it shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharesPlan {
    /// Chunks of four code bits.
    pub chunks: usize,
    /// Rows used in the chip's `x`/`y` columns.
    pub rows: usize,
    /// Rows used in the chip's Poseidon columns.
    pub poseidon_rows: usize,
}

/// How the statement proves `score ≥ τ`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivenessPlan {
    /// Index of the comparator atom (its bit is constrained to 1).
    pub atom: usize,
    /// The threshold τ.
    pub threshold: i64,
    /// Whether τ is public input row 2 (else a constant of the circuit, and row 2 is 0).
    pub public: bool,
}

struct RuleCompiler<'a> {
    graph: &'a Graph,
    convs: &'a [ConvRegion],
    /// Outputs proven on the CNN path (values in row-major order).
    cnn_values: &'a HashMap<TensorId, Vec<ValueRef>>,
    grid: [usize; 2],
    atoms: Vec<Atom>,
    memo: HashMap<String, usize>,
    limb_bits: u32,
}

impl RuleCompiler<'_> {
    /// The value of `output[channel, i, j]` and its bound: a convolution cell of an input, or a
    /// CNN-path value (a cell plus a constant, see [`ValueRef`]) at the encoder's flat index
    /// `(channel · rows + i) · cols + j`.
    fn output_value(&self, output: &str, channel: usize, i: usize, j: usize) -> Result<(ValueRef, u32), CircuitError> {
        let t = self.graph.output(output).ok_or_else(|| CircuitError::Unsupported(format!("rule reads unknown output {output:?}")))?;
        if let Some(values) = self.cnn_values.get(&t) {
            let [rows, cols] = self.grid;
            let e = (channel * rows + i) * cols + j;
            let v = values
                .get(e)
                .filter(|_| values.len() % (rows * cols).max(1) == 0)
                .ok_or_else(|| CircuitError::Unsupported(format!("output {output:?} has no element ({channel}, {i}, {j}) on a {rows}x{cols} grid")))?;
            return Ok((*v, self.graph.info(t).bound.magnitude_bits()));
        }
        let (cell, bits) = self.output_cell(output, channel, i, j)?;
        Ok((ValueRef { cell, offset: 0 }, bits))
    }

    /// A value with no constant (the rules that read cells directly: non-zero, squares).
    fn output_cell_exact(&self, output: &str, channel: usize, i: usize, j: usize) -> Result<(CellRef, u32), CircuitError> {
        match self.output_value(output, channel, i, j)? {
            (ValueRef { cell, offset: 0 }, bits) => Ok((cell, bits)),
            _ => Err(CircuitError::Unsupported(format!(
                "output {output:?} carries a constant (a bias) in the circuit; the non-zero and fragile rules read it without one"
            ))),
        }
    }

    /// The cell of `output[channel, i, j]` in a convolution of an input, and its bound.
    fn output_cell(&self, output: &str, channel: usize, i: usize, j: usize) -> Result<(CellRef, u32), CircuitError> {
        let t = self.graph.output(output).ok_or_else(|| CircuitError::Unsupported(format!("rule reads unknown output {output:?}")))?;
        let conv =
            self.convs.iter().find(|c| c.target == t).ok_or_else(|| CircuitError::Unsupported(format!("output {output:?} is not proven by a convolution")))?;
        let p = &conv.plan;
        let grid_rows = p.segments * p.outputs / self.graph.info(t).shape.iter().product::<usize>().max(1);
        let _ = grid_rows;
        let rows = self.graph.info(t).shape[self.graph.info(t).shape.len() - 2];
        let s = channel * rows + i;
        if s >= p.segments || j >= p.outputs {
            return Err(CircuitError::Unsupported(format!("output {output:?} has no element ({channel}, {i}, {j})")));
        }
        Ok((conv.output_cell(s, j), self.graph.info(t).bound.magnitude_bits()))
    }

    fn push(&mut self, key: String, atom: Atom) -> usize {
        if let Some(&k) = self.memo.get(&key) {
            return k;
        }
        self.atoms.push(atom);
        let k = self.atoms.len() - 1;
        self.memo.insert(key, k);
        k
    }

    fn compare(&mut self, key: String, x: Arg, y: Arg, f: [i128; 3], bound_bits: u32) -> usize {
        let rows = rows_for_bits(bound_bits + 1, self.limb_bits);
        self.push(key, Atom::Compare { x, y, f, rows })
    }

    /// Compiles `rule` at `(i, j)` to an atom whose `b` cell is the bit.
    fn bit(&mut self, rule: &BitRule, i: usize, j: usize) -> Result<usize, CircuitError> {
        Ok(match rule {
            BitRule::Positive { output, channel } => {
                // d = offset + cell − 1 ≥ 0  ⇔  value > 0
                let (v, bits) = self.output_value(output, *channel, i, j)?;
                self.compare(format!("pos/{output}/{channel}/{i}/{j}"), Arg::Cell(v.cell), Arg::Zero, [v.offset as i128 - 1, 1, 0], bits + 1)
            }
            BitRule::AtLeast { num, den, ratio } => {
                let key = format!("ge/{num:?}/{den:?}/{ratio:?}/{i}/{j}");
                let (p, q) = (ratio.num as i128, ratio.den as i128);
                let operand = |s: &Self, o: &Operand| -> Result<(Arg, i128, u32), CircuitError> {
                    match o {
                        Operand::Output { output, channel } => s.output_value(output, *channel, i, j).map(|(v, b)| (Arg::Cell(v.cell), v.offset as i128, b)),
                        Operand::PerRow(v) => {
                            let k = *v.get(i).ok_or_else(|| CircuitError::Unsupported("per-row operand shorter than the grid".into()))?;
                            Ok((Arg::Zero, k as i128, 64 - k.unsigned_abs().leading_zeros()))
                        }
                    }
                };
                let (xa, xc, xb) = operand(self, num)?;
                let (ya, yc, yb) = operand(self, den)?;
                // d = q·num − p·den
                let f0 = q * xc - p * yc;
                let bits = 1 + (q.unsigned_abs().max(p.unsigned_abs()).ilog2() + 1) + xb.max(yb);
                self.compare(key, xa, ya, [f0, if matches!(xa, Arg::Zero) { 0 } else { q }, if matches!(ya, Arg::Zero) { 0 } else { -p }], bits)
            }
            BitRule::NonZeroPair { output, re, im } => {
                let (x, _) = self.output_cell_exact(output, *re, i, j)?;
                let (y, _) = self.output_cell_exact(output, *im, i, j)?;
                self.square_or_nonzero(format!("{output}/{re}/{im}/{i}/{j}"), false, x, y)
            }
            BitRule::Fragile { output, re, im, component, kernel_sumsq, patch_size, radius_lo_sq, radius_hi_sq, cos2 } => {
                let (x, xb) = self.output_cell_exact(output, *re, i, j)?;
                let (y, yb) = self.output_cell_exact(output, *im, i, j)?;
                let sq = self.square_or_nonzero(format!("{output}/{re}/{im}/{i}/{j}"), true, x, y);
                let n = *patch_size.get(i).ok_or_else(|| CircuitError::Unsupported("fragile patch_size shorter than the grid".into()))? as i128;
                let (s_re, s_im) = (kernel_sumsq[0] as i128, kernel_sumsq[1] as i128);
                let m = n * n * s_re * s_im;
                let sq_row = sq; // resolved to rows later
                let (x2, y2) = (Arg::Cell(CellRef::Q(usize::MAX - sq_row, 2)), Arg::Cell(CellRef::Q(usize::MAX - sq_row, 3)));
                let bits_of = |coeffs: [i128; 3]| -> u32 {
                    let mag = coeffs[0].unsigned_abs() as f64
                        + coeffs[1].unsigned_abs() as f64 * 2f64.powi(2 * xb as i32)
                        + coeffs[2].unsigned_abs() as f64 * 2f64.powi(2 * yb as i32);
                    mag.log2().ceil() as u32 + 1
                };
                let lo: Ratio = *radius_lo_sq;
                let hi: Ratio = *radius_hi_sq;
                // The radius tests compare q = S_im·x² + S_re·y² (an integer ≥ 0) with M·num/den:
                // lo.den·q ≥ lo.num·M ⇔ q ≥ ⌈lo.num·M / lo.den⌉ and hi.den·q ≤ hi.num·M ⇔
                // q ≤ ⌊hi.num·M / hi.den⌋, so the comparators prove d = q − T_lo and
                // d = T_hi − q, whose magnitudes lack the factor den (2^27 and 2^11 for
                // open-iris: 3 limb rows instead of 4).
                let f_lo = [-radius_threshold(lo, m, true)?, s_im, s_re];
                let f_hi = [radius_threshold(hi, m, false)?, -s_im, -s_re];
                let (cn, cd) = (cos2.num as i128, cos2.den as i128);
                let f_ang = match component {
                    Component::Re => [0, cn * s_im, (cn - cd) * s_re],
                    Component::Im => [0, (cn - cd) * s_im, cn * s_re],
                };
                let base = format!("{output}/{re}/{im}/{i}/{j}");
                let a = self.compare(format!("rlo/{base}/{lo:?}/{n}"), x2, y2, f_lo, bits_of(f_lo));
                let b = self.compare(format!("rhi/{base}/{hi:?}/{n}"), x2, y2, f_hi, bits_of(f_hi));
                let c = self.compare(format!("ang/{base}/{component:?}/{cos2:?}"), x2, y2, f_ang, bits_of(f_ang));
                self.and(&[a, b, c])
            }
            BitRule::All(rules) => {
                let parts: Vec<usize> = rules.iter().map(|r| self.bit(r, i, j)).collect::<Result<_, _>>()?;
                self.and(&parts)
            }
        })
    }

    /// The square (`want_square`) or non-zero atom of the operand pair `key`. Both of a pair
    /// share one row ([`Atom::SquareNonZero`]): the second one asked for upgrades the first.
    fn square_or_nonzero(&mut self, key: String, want_square: bool, x: CellRef, y: CellRef) -> usize {
        let (mine, other) = if want_square { (format!("sq/{key}"), format!("nz/{key}")) } else { (format!("nz/{key}"), format!("sq/{key}")) };
        if let Some(&k) = self.memo.get(&mine) {
            return k;
        }
        if let Some(&k) = self.memo.get(&other) {
            if matches!(self.atoms[k], Atom::Square { x: ax, y: ay } | Atom::NonZero { x: ax, y: ay } if (ax, ay) == (x, y)) {
                self.atoms[k] = Atom::SquareNonZero { x, y };
                self.memo.insert(mine, k);
                return k;
            }
        }
        self.push(mine, if want_square { Atom::Square { x, y } } else { Atom::NonZero { x, y } })
    }

    /// AND of atoms' bits, in a tree of 4-input gates.
    fn and(&mut self, parts: &[usize]) -> usize {
        if parts.len() == 1 {
            return parts[0];
        }
        let mut level: Vec<usize> = parts.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(4)
                .map(|ch| {
                    if ch.len() == 1 {
                        return ch[0];
                    }
                    let key = format!("and/{ch:?}");
                    self.push(key, Atom::And(ch.iter().map(|&a| CellRef::B(usize::MAX - a)).collect()))
                })
                .collect();
        }
        level[0]
    }
}

/// The integer threshold of a fragile radius test `r.den·q ≥ r.num·m` (`round_up`, then
/// `q ≥ ⌈r.num·m / r.den⌉`) or `r.den·q ≤ r.num·m` (then `q ≤ ⌊r.num·m / r.den⌋`): for an
/// integer `q` and `r.den > 0` each pair of inequalities holds for exactly the same `q`.
fn radius_threshold(r: Ratio, m: i128, round_up: bool) -> Result<i128, CircuitError> {
    let num = (r.num as i128).checked_mul(m).filter(|n| r.den > 0 && *n > i128::MIN);
    let num = num.ok_or_else(|| CircuitError::Unsupported(format!("fragile radius {r:?} with M = {m} is out of range")))?;
    let den = r.den as i128;
    Ok(if round_up { -(-num).div_euclid(den) } else { num.div_euclid(den) })
}

/// Resolves the placeholder `usize::MAX − atom` rows to the atoms' real rows.
fn resolve(cell: CellRef, atom_rows: &[usize]) -> CellRef {
    let fix = |r: usize| if r > usize::MAX / 2 { atom_rows[usize::MAX - r] } else { r };
    match cell {
        CellRef::Q(r, c) => CellRef::Q(fix(r), c),
        CellRef::B(r) => CellRef::B(fix(r)),
        other => other,
    }
}

impl StatementPlan {
    /// Plans the statement for a model.
    pub fn new(model: &Model) -> Result<Self, CircuitError> {
        Self::with_options(model, &PlanOptions::default())
    }

    /// Plans the statement for a model with explicit layout choices.
    pub fn with_options(model: &Model, options: &PlanOptions) -> Result<Self, CircuitError> {
        let graph = model.graph();
        let rules = &model.manifest().rules;
        let la = LinearAnalysis::new(graph)?;
        let mut floor = Floor::default();

        // Inputs: image bytes, then mask bits.
        let mut inputs = Vec::new();
        for (k, gi) in graph.inputs.iter().enumerate() {
            let spec = rules.inputs.get(k).ok_or_else(|| CircuitError::Internal("input count".into()))?;
            let is_mask = spec.role == crate::model::manifest::InputRole::Mask;
            let (h, w) = match gi.shape.as_slice() {
                [h, w] => (*h, *w),
                other => return Err(CircuitError::Unsupported(format!("input {:?} has shape {other:?}; inputs must be 2-D images", gi.name))),
            };
            if w % 4 != 0 {
                return Err(CircuitError::Unsupported(format!("input {:?} width {w} is not a multiple of 4", gi.name)));
            }
            let data_rows = h * w / 4;
            let group_rows = if is_mask { MASK_BITS_PER_ELEMENT / 4 } else { PIXELS_PER_ELEMENT / 4 };
            let zero_rows = (group_rows - data_rows % group_rows) % group_rows;
            let first_row = floor.place(&[Col::Q, Col::V, Col::H, Col::G], data_rows + zero_rows);
            inputs.push(InputRegion {
                input: k,
                tensor: gi.tensor,
                is_mask,
                first_row,
                data_rows,
                zero_rows,
                chains: h,
                chain_rows: w / 4,
                group_rows,
                apad: vec![],
            });
        }

        // Convolutions for every output the rules read that is a sliding-window linear map of
        // an input with no constant term (the Gabor encoders); every other output the rules read
        // (for example a CNN's embedding) goes on the CNN path below.
        let mut read: Vec<String> = Vec::new();
        let mut collect = |r: &BitRule| collect_outputs(r, &mut read);
        rules.encoder.iris.iter().chain(&rules.encoder.mask).for_each(&mut collect);
        let mut convs = Vec::new();
        let mut cnn_targets: Vec<TensorId> = Vec::new();
        for name in &read {
            let t = graph.output(name).ok_or_else(|| CircuitError::Unsupported(format!("rules read unknown output {name:?}")))?;
            let map = la.map(t);
            let src = map.source.ok_or_else(|| CircuitError::Unsupported(format!("output {name:?} is constant")))?;
            let direct = inputs.iter().position(|i| i.tensor == src).and_then(|source| {
                let plan = detect_conv(map, &graph.info(src).shape, &graph.info(t).shape)?;
                // The accumulator advances one segment at a time: every segment needs a block.
                let mut covered = vec![false; plan.segments];
                plan.blocks.iter().for_each(|b| covered[b.0] = true);
                (plan.constant.iter().all(|&c| c == 0) && covered.iter().all(|c| *c)).then_some((source, plan))
            });
            let Some((source, plan)) = direct else {
                cnn_targets.push(t);
                continue;
            };
            let apad = inputs[source].apad_slot(apad_shape(&plan))?;
            let seg_len = plan.segment_len().div_ceil(4) * 4;
            convs.push(ConvRegion { plan, source, target: t, seg_len, seg_first_row: 0, kernel_rows: vec![], acc_first_row: 0, apad });
        }
        for c in &mut convs {
            c.seg_first_row = floor.place(&[Col::Q, Col::H], c.seg_rows());
        }
        // A statement proves an iris code; the mask code may be empty (a model without mask
        // rules still commits to the mask, e.g. the ezkl benchmark adapters).
        if rules.encoder.iris.is_empty() {
            return Err(CircuitError::Unsupported("the model has no iris-code rules; a statement proves a code".into()));
        }

        // The liveness score's CNN path.
        let limb_bits = limb_bits_for(model);
        let live = match &rules.liveness {
            Some(rule) => Some((
                graph.output(&rule.output).ok_or_else(|| CircuitError::Unsupported(format!("liveness output {:?} is not a model output", rule.output)))?,
                rule,
            )),
            None => None,
        };
        // The score after the rule outputs: shared layers are planned once, in graph order.
        let targets: Vec<TensorId> = cnn_targets.iter().copied().chain(live.map(|(t, _)| t)).collect();
        let dense_width = match options.dense_width {
            Some(w) if (1..=64).contains(&w) => w,
            Some(w) => return Err(CircuitError::Unsupported(format!("dense block width {w}; use 1 to 64"))),
            None if targets.is_empty() => 1,
            None => {
                // Plan once with the direct layout to count the dense multiply-adds.
                let (trial, _) = self::cnn::plan(graph, &la, &mut inputs.clone(), &mut convs.clone(), &mut floor.clone(), limb_bits, 1, &targets)?;
                if trial.dense_terms() >= DENSE_BATCH_THRESHOLD {
                    super::chips::dense_batch::DEFAULT_WIDTH
                } else {
                    1
                }
            }
        };
        let (cnn, cnn_values) = if targets.is_empty() {
            (CnnPlan::default(), HashMap::new())
        } else {
            self::cnn::plan(graph, &la, &mut inputs, &mut convs, &mut floor, limb_bits, dense_width, &targets)?
        };
        let score = match live {
            Some((t, rule)) => {
                let score = match cnn_values.get(&t).map(Vec::as_slice) {
                    Some([one]) => *one,
                    _ => return Err(CircuitError::Unsupported(format!("the liveness output has shape {:?}; it must be a single value", graph.info(t).shape))),
                };
                Some((score, graph.info(t).bound, rule))
            }
            None => None,
        };

        // Rule atoms.
        let [grid_r, grid_c] = rules.encoder.grid;
        let mut rc =
            RuleCompiler { graph, convs: &convs, cnn_values: &cnn_values, grid: rules.encoder.grid, atoms: Vec::new(), memo: HashMap::new(), limb_bits };
        let planes_iris = rules.encoder.iris.len();
        let planes_mask = rules.encoder.mask.len();
        let mut iris_bits = vec![0usize; planes_iris * grid_r * grid_c];
        let mut mask_bits = vec![0usize; planes_mask * grid_r * grid_c];
        for (rules_list, out, planes) in [(&rules.encoder.iris, &mut iris_bits, planes_iris), (&rules.encoder.mask, &mut mask_bits, planes_mask)] {
            for (p, rule) in rules_list.iter().enumerate() {
                for i in 0..grid_r {
                    for j in 0..grid_c {
                        let a = rc.bit(rule, i, j)?;
                        out[serial_index(rules.code_layout, planes, grid_r, grid_c, p, i, j)] = a;
                    }
                }
            }
        }
        // popcount(mask) ≥ min_valid (public row 1); the count cell is patched in below.
        if mask_bits.is_empty() && rules.min_valid_bits > 0 {
            return Err(CircuitError::Unsupported(format!(
                "the model demands {} valid mask bits but has no mask rules; add mask rules or set min_valid_bits to 0",
                rules.min_valid_bits
            )));
        }
        let count_bits = 64 - (mask_bits.len() as u64).leading_zeros();
        let popcount_atom = rc.compare("popcount".into(), Arg::Zero, Arg::Instance(1), [0, 1, -1], count_bits + 1);
        // score ≥ τ: d = offset + score − τ, with τ public (row 2) or a constant.
        let liveness = match score {
            Some((v, bound, rule)) => {
                let bits = bound.magnitude_bits().max(64 - rule.threshold.unsigned_abs().leading_zeros()) + 1;
                let (y, f) =
                    if rule.public { (Arg::Instance(2), [v.offset as i128, 1, -1]) } else { (Arg::Zero, [v.offset as i128 - rule.threshold as i128, 1, 0]) };
                let atom = rc.compare("liveness".into(), Arg::Cell(v.cell), y, f, bits);
                Some(LivenessPlan { atom, threshold: rule.threshold, public: rule.public })
            }
            None => None,
        };
        let mut atoms = rc.atoms;
        let rules_rows: usize = atoms.iter().map(Atom::rows).sum();
        let rules_first_row = floor.place(&[Col::Q, Col::V, Col::B, Col::G, Col::G2], rules_rows);
        let mut atom_rows = Vec::with_capacity(atoms.len());
        let mut r = rules_first_row;
        for a in &atoms {
            atom_rows.push(r);
            r += a.rows();
        }
        for a in &mut atoms {
            match a {
                Atom::Compare { x, y, .. } => {
                    for arg in [x, y] {
                        if let Arg::Cell(c) = arg {
                            *c = resolve(*c, &atom_rows);
                        }
                    }
                }
                Atom::And(ins) => ins.iter_mut().for_each(|c| *c = resolve(*c, &atom_rows)),
                _ => {}
            }
        }

        // Public code words: mask first (it keeps the popcount in h), then iris.
        let words = |bits: usize| bits.div_ceil(CODE_BITS_PER_WORD);
        let wi = words(iris_bits.len());
        let mk = |bits: &[usize], popcount: bool, first_instance: usize| PackRegion {
            first_row: 0,
            bits: bits.iter().map(|&a| CellRef::B(atom_rows[a])).collect(),
            popcount,
            first_instance,
        };
        let mut mask_pack = mk(&mask_bits, true, HEADER_INSTANCES + wi);
        mask_pack.first_row = floor.place(&[Col::Q, Col::V, Col::H], mask_pack.rows());
        let mut iris_pack = mk(&iris_bits, false, HEADER_INSTANCES);
        // In mpc-shares mode the iris code is never packed into public words: the shares chip
        // reads the rule bits directly.
        if rules.submission == Submission::PublicCode {
            iris_pack.first_row = floor.place(&[Col::Q, Col::V], iris_pack.rows());
        }
        // The comparator reads the packer's last running count. A model without mask rules has
        // no packer: its comparator keeps `x = 0` and proves `0 ≥ min_valid_bits`, which the
        // check above makes true only for `min_valid_bits = 0`.
        if !mask_pack.bits.is_empty() {
            if let Atom::Compare { x, .. } = &mut atoms[popcount_atom] {
                *x = Arg::Cell(CellRef::H(mask_pack.first_row + mask_pack.rows() - 1));
            }
        }

        // Kernel polynomials and block accumulators (g, g2, h).
        for c in &mut convs {
            let taps = c.plan.taps;
            c.kernel_rows = (0..c.plan.kernels.len()).map(|_| floor.place(&[Col::G, Col::G2, Col::H], taps)).collect();
            c.acc_first_row = floor.place(&[Col::G, Col::G2, Col::H], c.plan.blocks.len());
        }
        // τ slot, commitment header constant, salt, binding.
        let misc_row = floor.place(&[Col::V], 4);

        let mut apad: Vec<ApadShape> = Vec::new();
        for a in inputs.iter().flat_map(|i| &i.apad) {
            if !apad.contains(a) {
                apad.push(*a);
            }
        }
        let mut seg_lens: Vec<usize> = convs.iter().map(|c| c.seg_len).collect();
        seg_lens.sort_unstable();
        seg_lens.dedup();
        let mut compare_rows: Vec<usize> = atoms.iter().filter_map(|a| if let Atom::Compare { rows, .. } = a { Some(*rows) } else { None }).collect();
        compare_rows.sort_unstable();
        compare_rows.dedup();
        if let Some(&max) = compare_rows.last() {
            if max * 4 * limb_bits as usize > 224 {
                return Err(CircuitError::Unsupported(format!("a rule compares values of {} bits; the limit is 224", max * 4 * limb_bits as usize)));
            }
        }
        let layout = PublicLayout::new(rules.submission, iris_bits.len(), mask_bits.len());
        let shares = match rules.submission {
            Submission::PublicCode => None,
            Submission::MpcShares => {
                if iris_bits.len() != mask_bits.len() || !iris_bits.len().is_multiple_of(4) {
                    return Err(CircuitError::Unsupported(format!(
                        "mpc-shares needs iris and mask codes of the same length, a multiple of 4 bits (got {} and {})",
                        iris_bits.len(),
                        mask_bits.len()
                    )));
                }
                let chunks = iris_bits.len() / 4;
                Some(SharesPlan {
                    chunks,
                    rows: super::chips::shares::SharesChip::rows(chunks),
                    poseidon_rows: super::chips::shares::SharesChip::poseidon_rows(chunks),
                })
            }
        };
        let mut plan = Self {
            shape: CircuitShape {
                limb_bits,
                paired_limbs: true,
                apad,
                seg_lens,
                compare_rows,
                cnn: rules.liveness.is_some() || !cnn_targets.is_empty(),
                relu_rows: cnn.relu_rows(),
                requant_shapes: cnn.requant_shapes(),
                dense_width: if cnn.denses.iter().any(|d| !d.blocks.is_empty()) { dense_width } else { 1 },
                // Chosen below, once the rows are known.
                shares: None,
            },
            inputs,
            convs,
            rules_first_row,
            atoms,
            atom_rows,
            iris_pack,
            mask_pack,
            popcount_atom,
            misc_row,
            rows: floor.height(),
            min_valid_bits: rules.min_valid_bits,
            instances: layout.len(),
            cnn,
            liveness,
            layout,
            shares,
        };
        // The range tables: each large one (the limb-pair table, the shares chip's 16-bit table)
        // only where the circuit has its rows anyway, else the small layouts.
        let rows_without_tables = plan.rows_without_tables();
        plan.shape.shares = plan.shares.as_ref().map(|_| SharesRange::for_rows(rows_without_tables));
        let shares_table = plan.shape.shares.map_or(0, SharesRange::table_rows);
        plan.shape.paired_limbs = super::chips::range::RangeConfig::paired_for(rows_without_tables.max(shares_table), limb_bits);
        Ok(plan)
    }

    /// The pack regions the plan places: both codes in public-code mode; in mpc-shares mode only
    /// the mask code (its popcount), since the iris code is never packed into public words.
    pub(crate) fn packs(&self) -> Vec<&PackRegion> {
        match self.layout.submission {
            Submission::PublicCode => vec![&self.iris_pack, &self.mask_pack],
            Submission::MpcShares => vec![&self.mask_pack],
        }
    }

    /// Field elements hashed by the commitment: header, pixel and mask elements, salt.
    pub fn commitment_inputs(&self) -> usize {
        2 + self.commitment_elements()
    }

    /// Rows of the Poseidon columns.
    pub fn commitment_rows(&self) -> usize {
        super::chips::poseidon::rows_needed(self.commitment_inputs())
    }

    /// The smallest `k` whose `2^k` rows hold the layout, the commitment, the range table and
    /// halo2's blinding rows.
    pub fn min_k(&self) -> u32 {
        let need = self
            .rows_without_tables()
            .max(super::chips::range::RangeConfig::table_rows(self.shape.limb_bits, self.shape.paired_limbs))
            .max(self.shape.shares.map_or(0, SharesRange::table_rows));
        super::chips::circuit_rows(need).trailing_zeros().max(4)
    }

    /// Rows the circuit needs without its lookup tables: the layout, the commitment, the
    /// public inputs, the shares chip's columns.
    fn rows_without_tables(&self) -> usize {
        let shares = self.shares.as_ref().map_or(0, |s| s.rows.max(s.poseidon_rows));
        self.rows.max(self.commitment_rows()).max(self.instances).max(shares)
    }

    /// The inputs in commitment order: the image, then the mask.
    pub fn commitment_order(&self) -> Vec<&InputRegion> {
        let mut v: Vec<&InputRegion> = self.inputs.iter().collect();
        v.sort_by_key(|i| i.is_mask);
        v
    }

    /// The commitment's header element `1·2^64 + height·2^32 + width`.
    pub fn commitment_header(&self) -> u128 {
        let img = self.commitment_order()[0];
        let (h, w) = (img.chains as u128, (img.chain_rows * 4) as u128);
        (1u128 << 64) + (h << 32) + w
    }

    /// Total commitment elements (pixels and mask bits, without header and salt).
    pub fn commitment_elements(&self) -> usize {
        self.inputs.iter().map(|i| (i.data_rows + i.zero_rows) / i.group_rows).sum()
    }
}

/// Limb width: 8 bits when any input value needs more than 4 bits, else 4.
pub fn limb_bits_for(model: &Model) -> u32 {
    let max = model.manifest().rules.inputs.iter().map(|i| i.range[1]).max().unwrap_or(255);
    if max > 15 {
        8
    } else {
        4
    }
}

fn collect_outputs(rule: &BitRule, out: &mut Vec<String>) {
    let mut add = |s: &String| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    match rule {
        BitRule::Positive { output, .. } | BitRule::NonZeroPair { output, .. } | BitRule::Fragile { output, .. } => add(output),
        BitRule::AtLeast { num, den, .. } => {
            for o in [num, den] {
                if let Operand::Output { output, .. } = o {
                    add(output);
                }
            }
        }
        BitRule::All(rs) => rs.iter().for_each(|r| collect_outputs(r, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_thresholds_decide_exactly_the_scaled_inequalities() {
        for (num, den) in [(1u64, 1u64), (1, 3), (2, 3), (121, 1600), (1, 100_000_000), (7, 5), (0, 4)] {
            for m in [-50i128, -7, -1, 0, 1, 6, 13, 1600, 123_456_789] {
                let r = Ratio { num, den };
                let (lo, hi) = (radius_threshold(r, m, true).unwrap(), radius_threshold(r, m, false).unwrap());
                let scaled = num as i128 * m;
                for q in [-3 * m.abs() - 2, -1, 0, 1, 2, 3, m.abs(), scaled / den as i128, scaled / den as i128 + 1, 2 * m.abs() + 5]
                    .into_iter()
                    .chain(lo - 2..lo + 3)
                    .chain(hi - 2..hi + 3)
                {
                    assert_eq!(q >= lo, den as i128 * q >= scaled, "{r:?} m={m} q={q}");
                    assert_eq!(q <= hi, den as i128 * q <= scaled, "{r:?} m={m} q={q}");
                }
            }
        }
        assert!(radius_threshold(Ratio { num: 1, den: 0 }, 5, true).is_err());
        assert!(radius_threshold(Ratio { num: u64::MAX, den: 3 }, i128::MAX / 2, false).is_err());
    }
}
