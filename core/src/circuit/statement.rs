//! The top-level circuit: the statement a proof makes, assembled from the chips.
//!
//! One halo2 region holds everything at absolute rows given by the [`StatementPlan`]. The
//! synthesis is a list of chip calls. Phase 1 (`assign_phase1`): each chip places its gates
//! and fixed values and computes its cells from its typed inputs (the enrollment's values, the
//! product coefficients, the comparators' operands, the cells of the chips before it); then
//! the commitment sponge and the shares chip. Phase 2 (`assign_phase2`, after `next_phase`,
//! when β exists): each chip computes its cells from the phase-1 values and β. Last, every
//! copy constraint between the chips and every public-input binding.
//!
//! The chips' inputs are read from the prover's [`Witness`], which computed every phase-1
//! value with the chips' own value rules and checked them against the model's executor; the
//! test `the_chips_compute_every_phase_1_cell_of_the_witness` pins that the chips compute the
//! same cells. Key generation runs the same calls without values.

use std::collections::HashMap;
use std::sync::Arc;

use halo2_proofs::arithmetic::Field;
use halo2_proofs::circuit::{Cell, Layouter, Region, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Any, Circuit, Column, ConstraintSystem, Error};

use super::chips::compare::CompareConfig;
use super::chips::conv::{AccBlock, ConvConfig};
use super::chips::dense::DenseConfig;
use super::chips::dense_batch::DenseBatchConfig;
use super::chips::horner::HornerConfig;
use super::chips::logic::LogicConfig;
use super::chips::pack::{Base, PackConfig, PackRun, CODE_BITS_PER_WORD};
use super::chips::poseidon::{InputCell, PoseidonChip, PoseidonConfig, PoseidonInstructions};
use super::chips::range::RangeConfig;
use super::chips::relu::ReluConfig;
use super::chips::requant::RequantConfig;
use super::chips::shares::{BitCell, SharesChip, SharesConfig, SharesInput, SharesRange};
use super::chips::AssignedFr;
use super::layout::{CnnColumns, Columns};
use super::plan::cnn::CnnStep;
use super::plan::region::CellRef;
use super::plan::{Arg, Atom, CircuitShape, StatementPlan};
use super::witness::{to_i128, Columns1, Witness};
use crate::public::{Submission, ROW_BINDING, ROW_SHARE_COMMITMENTS};

/// The configuration of every chip.
#[derive(Clone, Debug)]
pub struct IrisConfig {
    /// Shared columns.
    pub cols: Columns,
    /// Limb range checks.
    pub range: RangeConfig,
    /// Quad Horner.
    pub horner: HornerConfig,
    /// Packing, zero/boolean rows, popcount.
    pub pack: PackConfig,
    /// Convolution identity.
    pub conv: ConvConfig,
    /// Comparators.
    pub cmp: CompareConfig,
    /// Squares, non-zero, AND.
    pub logic: LogicConfig,
    /// The commitment sponge.
    pub poseidon: PoseidonConfig,
    /// The CNN chips (models with a liveness rule only).
    pub cnn: Option<CnnConfig>,
    /// The MPC shares chip (mpc-shares models only).
    pub shares: Option<SharesConfig>,
}

/// The configuration of the CNN chips and their columns.
#[derive(Clone, Debug)]
pub struct CnnConfig {
    /// Extra columns.
    pub cols: CnnColumns,
    /// ReLU.
    pub relu: ReluConfig,
    /// Requantisation.
    pub requant: RequantConfig,
    /// Dense dot products.
    pub dense: DenseConfig,
    /// Batched dense blocks (models planned with the batched layout only).
    pub dense_batch: Option<DenseBatchConfig>,
}

/// A planned cell handed to the Poseidon chip.
struct Planned {
    cell: Cell,
    value: Value<Fr>,
}

impl InputCell for Planned {
    fn cell(&self) -> Cell {
        self.cell
    }
    fn field_value(&self) -> Value<Fr> {
        self.value
    }
}

/// The circuit for one model; with a witness it proves one enrollment.
#[derive(Clone, Debug)]
pub struct IrisCircuit {
    plan: Arc<StatementPlan>,
    witness: Option<Arc<Witness>>,
}

impl IrisCircuit {
    /// A circuit without witness (keygen).
    pub fn new(plan: Arc<StatementPlan>) -> Self {
        Self { plan, witness: None }
    }

    /// A circuit with a witness (proving).
    pub(crate) fn with_witness(plan: Arc<StatementPlan>, witness: Arc<Witness>) -> Self {
        Self { plan, witness: Some(witness) }
    }

    /// The plan.
    pub fn plan(&self) -> &Arc<StatementPlan> {
        &self.plan
    }
}

fn cell_of(cfg: &IrisConfig, c: CellRef) -> Result<(Column<Any>, usize), Error> {
    let cols = &cfg.cols;
    Ok(match c {
        CellRef::Q(r, k) => (cols.q[k].into(), r),
        CellRef::V(r) => (cols.v.into(), r),
        CellRef::B(r) => (cols.b.into(), r),
        CellRef::H(r) => (cols.h.into(), r),
        CellRef::G(r) => (cols.g.into(), r),
        CellRef::U(r) => (cfg.cnn.as_ref().ok_or(Error::Synthesis)?.cols.u.into(), r),
    })
}

fn cell(col: impl Into<Column<Any>>, row: usize) -> Cell {
    Cell { row_offset: row, column: col.into() }
}

impl Circuit<Fr> for IrisCircuit {
    type Config = IrisConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitShape;

    fn without_witnesses(&self) -> Self {
        Self { plan: self.plan.clone(), witness: None }
    }

    fn params(&self) -> CircuitShape {
        self.plan.shape.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> IrisConfig {
        Self::configure_with_params(meta, CircuitShape { limb_bits: 4, paired_limbs: true, ..Default::default() })
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: CircuitShape) -> IrisConfig {
        let cols = Columns::configure(meta);
        let range = RangeConfig::configure(meta, &cols, shape.limb_bits, shape.paired_limbs);
        let horner = HornerConfig::configure(meta, &cols);
        let pack = PackConfig::configure(meta, &cols);
        let conv = ConvConfig::configure(meta, &cols, &shape.apad, &shape.seg_lens);
        let cmp = CompareConfig::configure(meta, &cols, shape.limb_bits, &shape.compare_rows);
        let logic = LogicConfig::configure(meta, &cols);
        let p_adv = [meta.advice_column(), meta.advice_column()];
        let p_fix = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        // The column counts are the chip's documented requirement, so configuration cannot fail.
        let poseidon = PoseidonChip::configure(meta, &p_adv, &p_fix).expect("Poseidon chip columns");
        let cnn = shape.cnn.then(|| {
            let cc = CnnColumns::configure(meta);
            CnnConfig {
                cols: cc,
                relu: ReluConfig::configure(meta, &cols, &cc, shape.limb_bits, &shape.relu_rows),
                requant: RequantConfig::configure(meta, &cols, &cc, shape.limb_bits, &shape.requant_shapes),
                dense: DenseConfig::configure(meta, &cols, &cc),
                dense_batch: (shape.dense_width > 1).then(|| DenseBatchConfig::configure(meta, &cols, &cc, shape.dense_width)),
            }
        });
        let shares = shape.shares.map(|range| {
            let (x, y) = (meta.advice_column(), meta.advice_column());
            let p_adv = [meta.advice_column(), meta.advice_column()];
            let p_fix = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
            let x_high = (range == SharesRange::Bytes).then(|| meta.advice_column());
            SharesChip::configure(meta, x, x_high, y, p_adv, p_fix)
        });
        IrisConfig { cols, range, horner, pack, conv, cmp, logic, poseidon, cnn, shares }
    }

    fn synthesize(&self, cfg: IrisConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        cfg.range.load(&mut layouter)?;
        if let Some(sc) = &cfg.shares {
            SharesChip::construct(sc.clone()).load_table(&mut layouter)?;
        }
        let plan = self.plan.clone();
        let wit = self.witness.as_deref();
        let mut instance_bindings: Vec<(Cell, usize)> = Vec::new();
        layouter.assign_region(
            || "iris statement",
            |mut region| {
                // The statement, in order. Phase 1: everything that exists before β.
                assign_phase1(&mut region, &cfg, &plan, wit)?;
                let commitment = assign_commitment(&mut region, &cfg, &plan, wit)?;
                let binding = region.assign_advice(cfg.cols.v, plan.misc_row + 3, known(wit, |w| w.binding));
                let share_commitments = assign_shares(&mut region, &cfg, &plan, wit)?;
                // Phase 2: the cells that depend on β.
                region.next_phase();
                assign_phase2(&mut region, &cfg, &plan, wit)?;
                // Copies between the chips, and the public inputs.
                instance_bindings = bind_copies(&mut region, &cfg, &plan)?;
                instance_bindings.push((commitment, 0));
                instance_bindings.push((binding.cell(), ROW_BINDING));
                for (p, c) in share_commitments.iter().enumerate() {
                    instance_bindings.push((*c, ROW_SHARE_COMMITMENTS + p));
                }
                Ok(())
            },
        )?;
        for (c, row) in instance_bindings {
            layouter.constrain_instance(c, cfg.cols.instance, row);
        }
        Ok(())
    }
}

/// A witness value, or unknown during keygen.
fn known(wit: Option<&Witness>, f: impl FnOnce(&Witness) -> Fr) -> Value<Fr> {
    witness_value(wit, f)
}

/// Phase 1: every chip places its gates and fixed values and computes its cells from its
/// typed inputs — the enrollment's values, the convolutions' product coefficients, the
/// comparators' operands and the cells of the chips before it, as the witness computed them.
/// Without a witness (key generation) only the gates and fixed values are placed.
fn assign_phase1(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan, wit: Option<&Witness>) -> Result<(), Error> {
    let at = |c: CellRef| known(wit, |w| w.computed().get(c));
    // The enrollment inputs, packed into commitment elements: pixels range-checked, mask bits
    // boolean, zero rows completing the last element.
    for (i, inp) in plan.inputs.iter().enumerate() {
        let rows = inp.data_rows + inp.zero_rows;
        let base = if inp.is_mask { Base::Bit } else { Base::Byte };
        let run = PackRun { first_row: inp.first_row, base, group_rows: inp.group_rows, rows, zero_rows: inp.zero_rows, boolean: inp.is_mask };
        let quads = witness_value(wit, |w| (0..4 * rows).map(|k| w.inputs[i].get(k).map_or(0, |&x| x as u64)).collect::<Vec<u64>>());
        cfg.pack.assign(region, &run, quads.as_ref().map(|q| &q[..]))?;
        if !inp.is_mask {
            cfg.range.enable_rows(region, inp.first_row, inp.data_rows)?;
        }
    }
    // The convolutions' product coefficients (checked at β in phase 2).
    for (i, conv) in plan.convs.iter().enumerate() {
        let coefficients = match wit {
            Some(w) => Value::known(&w.coefficients[i][..]),
            None => Value::unknown(),
        };
        cfg.conv.assign_coefficients(region, conv.seg_first_row, conv.seg_rows(), coefficients);
    }
    assign_cnn(region, cfg, plan, wit)?;
    // The rule atoms, in order.
    for (idx, atom) in plan.atoms.iter().enumerate() {
        let row = plan.atom_rows[idx];
        match atom {
            Atom::Compare { f, rows, .. } => {
                let [x, y] = [0, 1].map(|k| witness_value(wit, |w| w.operands[idx][k]));
                cfg.cmp.assign(region, &cfg.range, row, *rows, f, x, y)?;
            }
            Atom::Square { x, y } => {
                cfg.logic.assign_square(region, row, at(*x), at(*y))?;
            }
            Atom::NonZero { x, y } | Atom::SquareNonZero { x, y } => {
                if matches!(atom, Atom::SquareNonZero { .. }) {
                    cfg.logic.assign_square(region, row, at(*x), at(*y))?;
                }
                cfg.logic.assign_nonzero(region, row, at(*x), at(*y))?;
                cfg.cmp.enable_bit(region, row)?;
            }
            Atom::And(ins) => {
                // Missing inputs are ones (the AND of fewer than four bits).
                let bits = std::array::from_fn(|k| ins.get(k).map_or(Value::known(Fr::ONE), |c| at(*c)));
                cfg.logic.assign_and(region, row, bits)?;
            }
        }
    }
    // The code bits (copies of rule bits, tied in `bind_copies`), packed into words.
    for pack in plan.packs() {
        let rows = pack.rows();
        let run = PackRun { first_row: pack.first_row, base: Base::Bit, group_rows: CODE_BITS_PER_WORD / 4, rows, zero_rows: 0, boolean: false };
        let quads =
            witness_value(wit, |w| (0..4 * rows).map(|i| pack.bits.get(i).map_or(0, |c| u64::from(w.computed().get(*c) == Fr::ONE))).collect::<Vec<u64>>());
        cfg.pack.assign(region, &run, quads.as_ref().map(|q| &q[..]))?;
        // Unused bit slots of a last quad must be zero (they are not copies of rule bits).
        for i in pack.bits.len()..4 * rows {
            region.constrain_constant(cell(cfg.cols.q[i % 4], pack.first_row + i / 4), Fr::ZERO)?;
        }
    }
    // The zero copied to public row 2 when τ is not public (`bind_copies`).
    region.assign_advice(cfg.cols.v, plan.misc_row, Value::known(Fr::ZERO));
    // Test hook (never in a real proof): the cells a test edited in the witness's columns.
    if let Some(base) = wit.and_then(|w| w.baseline.as_deref().map(|b| (w, b))) {
        reassign_edited(region, cfg, &base.0.cols, base.1);
    }
    Ok(())
}

/// Re-assigns every phase-1 cell where `edited` differs from `computed` (test hook).
fn reassign_edited(region: &mut Region<'_, Fr>, cfg: &IrisConfig, edited: &Columns1, computed: &Columns1) {
    let mut columns: Vec<(Column<Advice>, &[Fr], &[Fr])> = (0..4).map(|k| (cfg.cols.q[k], &edited.q[k][..], &computed.q[k][..])).collect();
    columns.push((cfg.cols.v, &edited.v, &computed.v));
    columns.push((cfg.cols.b, &edited.b, &computed.b));
    if let Some(cnn) = &cfg.cnn {
        columns.push((cnn.cols.u, &edited.u, &computed.u));
    }
    for (col, e, c) in columns {
        for (row, (x, y)) in e.iter().zip(c).enumerate() {
            if x != y {
                region.assign_advice(col, row, Value::known(*x));
            }
        }
    }
}

/// The commitment `C = Poseidon(header, pixel elements, mask elements, salt)`: the header cell
/// (a copy of the circuit's constant), the salt cell, and the sponge over the packed elements.
/// Returns the cell holding `C` (public input 0).
fn assign_commitment(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan, wit: Option<&Witness>) -> Result<Cell, Error> {
    let header =
        region.assign_advice_from_constant(|| "commitment header", cfg.cols.v, plan.misc_row + 1, super::expr::fe(plan.commitment_header() as i128))?;
    let salt = region.assign_advice(cfg.cols.v, plan.misc_row + 2, known(wit, |w| w.salt));
    // Test hook (never set in a real proof): the header cell holds another value and the
    // sponge hashes that value, so only the cell's copy of the constant can object.
    let header_value = match wit.and_then(|w| w.header_override) {
        Some(x) => {
            region.assign_advice(cfg.cols.v, plan.misc_row + 1, Value::known(x));
            Value::known(x)
        }
        None => header.value().copied(),
    };
    let mut inputs = vec![Planned { cell: header.cell(), value: header_value }];
    for inp in plan.commitment_order() {
        for c in inp.element_cells() {
            let CellRef::V(r) = c else { return Err(Error::Synthesis) };
            inputs.push(Planned { cell: cell(cfg.cols.v, r), value: known(wit, |w| w.cols.v[r]) });
        }
    }
    inputs.push(Planned { cell: salt.cell(), value: salt.value().map(|a| a.evaluate()) });
    let (c_out, _) = PoseidonChip::construct(cfg.poseidon.clone()).hash(region, 0, &inputs)?;
    Ok(c_out.cell())
}

/// The MPC shares chip over copies of the code and mask bits (mpc-shares models); returns the
/// cells holding the share commitments `S_1..S_3`, empty for other models.
fn assign_shares(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan, wit: Option<&Witness>) -> Result<Vec<Cell>, Error> {
    let (Some(sc), Some(sp)) = (&cfg.shares, &plan.shares) else { return Ok(Vec::new()) };
    let bit = |c: &CellRef| -> Result<BitCell, Error> {
        let (col, row) = cell_of(cfg, *c)?;
        Ok(BitCell { cell: cell(col, row), value: known(wit, |w| w.cols.get(*c)) })
    };
    let code: Vec<BitCell> = plan.iris_pack.bits.iter().map(bit).collect::<Result<_, _>>()?;
    let mask: Vec<BitCell> = plan.mask_pack.bits.iter().map(bit).collect::<Result<_, _>>()?;
    let slopes = match wit.map(|w| w.slopes.as_deref()) {
        Some(Some(s)) => Value::known(s),
        Some(None) => return Err(Error::Synthesis),
        None => Value::unknown(),
    };
    let out = SharesChip::construct(sc.clone()).assign(region, 0, &SharesInput { code: &code, mask: &mask, slopes })?;
    // The plan sized the circuit (`min_k`) for these rows; a chip that used others is a bug.
    if (out.rows, out.poseidon_rows) != (sp.rows, sp.poseidon_rows) {
        return Err(Error::Synthesis);
    }
    Ok(out.commitments.iter().map(|c| c.cell()).collect())
}

/// Phase 2: the cells that depend on β, chip by chip, from the phase-1 values the chips read
/// (taken from the witness, which tests may have edited). Each chip places its own gates and
/// computes its own cells; the copies that tie them to the rest follow in [`bind_copies`].
fn assign_phase2(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan, wit: Option<&Witness>) -> Result<(), Error> {
    let beta = region.get_challenge(cfg.cols.beta);
    let quads = |first: usize, rows: usize| witness_value(wit, |w| w.cols.quads(first, rows));
    // Convolution inputs: each chain evaluated at β (Horner), then padded (per shape).
    let mut padded: HashMap<usize, Value<Fr>> = HashMap::new();
    for inp in plan.inputs.iter().filter(|inp| !inp.apad.is_empty()) {
        for c in 0..inp.chains {
            let first = inp.first_row + c * inp.chain_rows;
            let q = quads(first, inp.chain_rows);
            let h = cfg.horner.assign(region, first, q.as_ref().map(|v| &v[..]), inp.chain_rows, beta)?;
            let horner: Value<Vec<Fr>> = h.iter().map(value_of).collect();
            for shape in &inp.apad {
                let row = inp.apad_row(c, shape);
                let g = cfg.conv.assign_apad(region, shape, row, horner.as_ref().map(|v| &v[..]), beta)?;
                padded.insert(row, value_of(&g));
            }
        }
    }
    // Convolutions: the product coefficients at β, the kernel polynomials, the accumulator.
    for conv in &plan.convs {
        let rows = conv.seg_rows();
        let q = quads(conv.seg_first_row, rows);
        cfg.horner.assign(region, conv.seg_first_row, q.as_ref().map(|v| &v[..]), rows, beta)?;
        let mut kernels = Vec::with_capacity(conv.plan.kernels.len());
        for (kernel, &row) in conv.plan.kernels.iter().zip(&conv.kernel_rows) {
            kernels.push(value_of(&cfg.conv.assign_kernel(region, row, kernel, beta)?));
        }
        let inp = &plan.inputs[conv.source];
        let blocks = conv
            .plan
            .blocks
            .iter()
            .map(|&(segment, c, k)| {
                let chain = *padded.get(&inp.apad_row(c, &conv.apad)).ok_or(Error::Synthesis)?;
                Ok(AccBlock { segment, chain, kernel: *kernels.get(k).ok_or(Error::Synthesis)? })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        cfg.conv.assign_accumulator(region, conv.acc_first_row, conv.seg_len, &blocks, beta)?;
    }
    // Batched dense blocks: running sums and claimed outputs at β (the chip closes the check).
    let blocks: Vec<_> = plan.cnn.denses.iter().flat_map(|d| &d.blocks).collect();
    if !blocks.is_empty() {
        let db = cfg.cnn.as_ref().and_then(|c| c.dense_batch.as_ref()).ok_or(Error::Synthesis)?;
        for b in blocks {
            let x = witness_value(wit, |w| (0..b.inputs.len()).map(|t| to_i128(w.cols.q[t % 4][b.first_row + t / 4])).collect::<Vec<_>>());
            let y = witness_value(wit, |w| w.cols.v[b.first_row..b.first_row + db.width()].to_vec());
            db.assign_at_beta(region, b.first_row, &b.weights, x.as_ref().map(|x| &x[..]), y.as_ref().map(|y| &y[..]), b.inputs.len(), beta)?;
        }
    }
    // The popcount of the mask bits (a comparator operand below).
    let mut counts: HashMap<usize, Value<Fr>> = HashMap::new();
    for pack in plan.packs().into_iter().filter(|p| p.popcount && p.rows() > 0) {
        let rows = pack.rows();
        let bits = quads(pack.first_row, rows);
        let count = cfg.pack.assign_count(region, pack.first_row, bits.as_ref().map(|b| &b[..]), rows)?;
        counts.insert(pack.first_row + rows - 1, value_of(&count));
    }
    // Comparator operands.
    for (idx, atom) in plan.atoms.iter().enumerate() {
        if let Atom::Compare { x, y, .. } = atom {
            let operand = |a: &Arg| -> Result<Value<Fr>, Error> {
                Ok(match a {
                    Arg::Cell(CellRef::H(r)) => *counts.get(r).ok_or(Error::Synthesis)?,
                    Arg::Cell(c) => known(wit, |w| w.cols.get(*c)),
                    Arg::Instance(k) => known(wit, |w| w.instances[*k]),
                    Arg::Zero => Value::known(Fr::ZERO),
                })
            };
            cfg.cmp.assign_operands(region, plan.atom_rows[idx], operand(x)?, operand(y)?);
        }
    }
    // Test hook (empty in every real proof): phase-2 cells overwritten after the chips.
    if let Some(w) = wit {
        let mut drawn = false;
        beta.map(|_| drawn = true);
        for &(col, row, value) in w.phase2_overrides.iter().filter(|_| drawn) {
            let col = [cfg.cols.h, cfg.cols.g, cfg.cols.g2][usize::from(col.min(2))];
            region.assign_advice(col, row, Value::known(value));
        }
    }
    Ok(())
}

/// The value of an assigned cell.
fn value_of(c: &AssignedFr<'_>) -> Value<Fr> {
    c.value().map(|a| a.evaluate())
}

/// A value computed from the witness, or unknown during keygen.
fn witness_value<T>(wit: Option<&Witness>, f: impl FnOnce(&Witness) -> T) -> Value<T> {
    match wit {
        Some(w) => Value::known(f(w)),
        None => Value::unknown(),
    }
}

/// Copy constraints; returns the cells bound to public inputs.
fn bind_copies(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan) -> Result<Vec<(Cell, usize)>, Error> {
    let cols = &cfg.cols;
    let eq = |region: &mut Region<'_, Fr>, a: (Column<Any>, usize), b: (Column<Any>, usize)| region.constrain_equal(cell(a.0, a.1), cell(b.0, b.1));
    let mut bindings = Vec::new();
    // Padded chains into the accumulator, kernel polynomials into the accumulator, and the
    // identity itself.
    for conv in &plan.convs {
        let inp = &plan.inputs[conv.source];
        for (b, &(_, c, k)) in conv.plan.blocks.iter().enumerate() {
            let row = conv.acc_first_row + b;
            eq(region, (cols.g.into(), inp.apad_row(c, &conv.apad)), (cols.g2.into(), row));
            eq(region, (cols.g.into(), conv.kernel_rows[k] + conv.plan.taps - 1), (cols.h.into(), row));
        }
        eq(region, (cols.g.into(), conv.acc_last_row()), (cols.h.into(), conv.seg_first_row + conv.seg_rows() - 1));
    }
    // Rule operands.
    for (idx, atom) in plan.atoms.iter().enumerate() {
        let row = plan.atom_rows[idx];
        match atom {
            Atom::Compare { x, y, .. } => {
                for (arg, col) in [(x, cols.g), (y, cols.g2)] {
                    match arg {
                        Arg::Cell(c) => eq(region, cell_of(cfg, *c)?, (col.into(), row)),
                        Arg::Instance(k) => bindings.push((cell(col, row), *k)),
                        Arg::Zero => region.constrain_constant(cell(col, row), Fr::ZERO)?,
                    }
                }
            }
            Atom::Square { x, y } | Atom::NonZero { x, y } | Atom::SquareNonZero { x, y } => {
                eq(region, cell_of(cfg, *x)?, (cols.q[0].into(), row));
                eq(region, cell_of(cfg, *y)?, (cols.q[1].into(), row));
            }
            Atom::And(ins) => {
                for k in 0..4 {
                    match ins.get(k) {
                        Some(c) => eq(region, cell_of(cfg, *c)?, (cols.q[k].into(), row)),
                        None => region.constrain_constant(cell(cols.q[k], row), Fr::ONE)?,
                    }
                }
            }
        }
    }
    // popcount ≥ min_valid must hold, and the public min_valid is the model's.
    let pc_row = plan.atom_rows[plan.popcount_atom];
    region.constrain_constant(cell(cols.b, pc_row), Fr::ONE)?;
    // Code bits into the packers, words to public inputs (public-code mode).
    for pack in plan.packs() {
        for (i, bit) in pack.bits.iter().enumerate() {
            eq(region, cell_of(cfg, *bit)?, (cols.q[i % 4].into(), pack.first_row + i / 4));
        }
        if plan.layout.submission == Submission::PublicCode {
            for w in 0..pack.words() {
                bindings.push((cell(cols.v, pack.word_end_row(w)), pack.first_instance + w));
            }
        }
    }
    region.constrain_constant(cell(cols.g2, pc_row), Fr::from(plan.min_valid_bits as u64))?;
    // score ≥ τ must hold. With a public τ the comparator reads public row 2 directly;
    // otherwise row 2 is zero, like for models without a liveness rule.
    if let Some(l) = &plan.liveness {
        region.constrain_constant(cell(cols.b, plan.atom_rows[l.atom]), Fr::ONE)?;
    }
    if !plan.liveness.as_ref().is_some_and(|l| l.public) {
        region.constrain_constant(cell(cols.v, plan.misc_row), Fr::ZERO)?;
        bindings.push((cell(cols.v, plan.misc_row), 2));
    }
    bind_cnn_copies(region, cfg, plan)?;
    Ok(bindings)
}

/// The CNN regions in plan order: each chip places its gates and computes its cells from the
/// values of the cells it reads (which `bind_cnn_copies` ties to their producers).
fn assign_cnn(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan, wit: Option<&Witness>) -> Result<(), Error> {
    let cnn_plan = &plan.cnn;
    if cnn_plan.steps.is_empty() {
        return Ok(());
    }
    let cnn = cfg.cnn.as_ref().ok_or(Error::Synthesis)?;
    let int = |c: CellRef| witness_value(wit, |w| to_i128(w.computed().get(c)));
    for step in &cnn_plan.steps {
        match *step {
            CnnStep::Relu(i) => {
                let r = &cnn_plan.relus[i];
                for (e, el) in r.elems.iter().enumerate() {
                    cnn.relu.assign(region, &cfg.range, r.row(e), r.rows, el.src.offset as i128, el.konst as i128, int(el.src.cell))?;
                }
            }
            CnnStep::Requant(i) => {
                let r = &cnn_plan.requants[i];
                for (e, el) in r.elems.iter().enumerate() {
                    cnn.requant.assign(region, &cfg.range, r.row(e), &r.shape, el.offset as i128, r.ylo as i128, int(el.cell))?;
                }
            }
            CnnStep::Dense(i) => {
                let d = &cnn_plan.denses[i];
                if !d.blocks.is_empty() {
                    let db = cnn.dense_batch.as_ref().ok_or(Error::Synthesis)?;
                    for b in &d.blocks {
                        let x = cell_ints(wit, b.inputs.iter().copied());
                        // The claimed outputs, one per slot.
                        let y = witness_value(wit, |w| w.computed().v[b.first_row..b.first_row + db.width()].to_vec());
                        db.assign(region, b.first_row, &b.weights, x.as_ref().map(|x| &x[..]), y.as_ref().map(|y| &y[..]), b.inputs.len())?;
                    }
                }
                for o in &d.outputs {
                    let weights: Vec<i64> = o.terms.iter().map(|t| t.1).collect();
                    let x = cell_ints(wit, o.terms.iter().map(|t| t.0));
                    cnn.dense.assign(region, o.first_row, o.constant, &weights, x.as_ref().map(|x| &x[..]))?;
                }
            }
        }
    }
    Ok(())
}

/// The integer values of `cells` as the witness computed them, or unknown during keygen.
fn cell_ints(wit: Option<&Witness>, cells: impl Iterator<Item = CellRef>) -> Value<Vec<i128>> {
    witness_value(wit, |w| cells.map(|c| to_i128(w.computed().get(c))).collect())
}

/// Copies of the CNN regions' inputs from the cells that produce them.
fn bind_cnn_copies(region: &mut Region<'_, Fr>, cfg: &IrisConfig, plan: &StatementPlan) -> Result<(), Error> {
    let cols = &cfg.cols;
    let cnn_plan = &plan.cnn;
    for step in &cnn_plan.steps {
        match *step {
            CnnStep::Relu(i) => {
                let r = &cnn_plan.relus[i];
                for (e, el) in r.elems.iter().enumerate() {
                    let (col, row) = cell_of(cfg, el.src.cell)?;
                    region.constrain_equal(cell(col, row), cell(cols.v, r.row(e)));
                }
            }
            CnnStep::Requant(i) => {
                let r = &cnn_plan.requants[i];
                for (e, el) in r.elems.iter().enumerate() {
                    let (col, row) = cell_of(cfg, el.cell)?;
                    region.constrain_equal(cell(col, row), cell(cols.v, r.row(e)));
                }
            }
            CnnStep::Dense(i) => {
                let d = &cnn_plan.denses[i];
                // Inputs of batched blocks (the chip closed each block's check in phase 2).
                for b in &d.blocks {
                    for (t, src) in b.inputs.iter().enumerate() {
                        let (col, row) = cell_of(cfg, *src)?;
                        region.constrain_equal(cell(col, row), cell(cols.q[t % 4], b.first_row + t / 4));
                    }
                }
                for o in &d.outputs {
                    for (t, (src, _)) in o.terms.iter().enumerate() {
                        let (col, row) = cell_of(cfg, *src)?;
                        region.constrain_equal(cell(col, row), cell(cols.q[t % 4], o.first_row + t / 4));
                    }
                }
            }
        }
    }
    Ok(())
}
