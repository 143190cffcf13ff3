//! (planning only) The CNN path: which cells prove the intermediate tensors a liveness score,
//! or a CNN output the encoder rules read (for example a learned embedding), depends on, and
//! with which chip.
//!
//! Starting from the targets, the planner walks the IR backwards through the linear analysis
//! ([`super::linear`]): every value is a linear map of one *materialized* tensor (an
//! enrollment input, a ReLU output, a requantisation output). Then, in graph order:
//!
//! | tensor | proven by | cells |
//! |---|---|---|
//! | enrollment input | the input region (range-checked bytes) | `q` |
//! | linear map of an input with sliding-window structure | the convolution identity ([`crate::circuit::chips::conv`]), bias as an offset | product-polynomial coefficients in `q` |
//! | any other linear map | [`crate::circuit::chips::dense`] dot products over copies | `v` |
//! | `Max(x, c)` (ReLU) | [`crate::circuit::chips::relu`] | `u` |
//! | `Requant(x)` | [`crate::circuit::chips::requant`] | `u` |
//!
//! A value is referred to as a [`ValueRef`]: a cell plus a constant (a convolution output cell
//! holds the response without the bias). Nonlinear ops other than `Max` with a constant and
//! `Requant` (for example `Min`, or `Max` of two variable tensors) are refused with
//! [`CircuitError::Unsupported`].

use std::collections::{BTreeSet, HashMap};

use crate::model::exec::broadcast_strides;
use crate::model::ir::{Graph, Op, TensorId};

use super::linear::{detect_conv, LinearAnalysis};
use super::region::{CellRef, ConvRegion, InputRegion};
use crate::circuit::chips::compare::rows_for_bits;
use crate::circuit::chips::conv::apad_shape;
use crate::circuit::chips::requant::RequantShape;
use crate::circuit::layout::{Col, Floor};
use crate::circuit::CircuitError;

/// A proven value: `cell + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueRef {
    /// The cell.
    pub cell: CellRef,
    /// Constant added to the cell.
    pub offset: i64,
}

/// One ReLU (`Max` with a constant) element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReluElem {
    /// The input value.
    pub src: ValueRef,
    /// The constant `c` of `max(x, c)`.
    pub konst: i64,
}

/// A ReLU layer.
#[derive(Clone, Debug)]
pub struct ReluRegion {
    /// Output tensor.
    pub tensor: TensorId,
    /// First row.
    pub first_row: usize,
    /// Limb rows per element.
    pub rows: usize,
    /// Elements in row-major order.
    pub elems: Vec<ReluElem>,
}

impl ReluRegion {
    /// Row of element `e`.
    pub fn row(&self, e: usize) -> usize {
        self.first_row + e * self.rows
    }
}

/// A requantisation layer.
#[derive(Clone, Debug)]
pub struct RequantRegion {
    /// Output tensor.
    pub tensor: TensorId,
    /// Gate variant.
    pub shape: RequantShape,
    /// Rows per element.
    pub rows: usize,
    /// Proven lower bound of the output.
    pub ylo: i64,
    /// First row.
    pub first_row: usize,
    /// Input values in row-major order.
    pub elems: Vec<ValueRef>,
}

impl RequantRegion {
    /// Row of element `e`.
    pub fn row(&self, e: usize) -> usize {
        self.first_row + e * self.rows
    }
}

/// One output of a dense layer.
#[derive(Clone, Debug)]
pub struct DenseOutput {
    /// First row.
    pub first_row: usize,
    /// `(input cell, weight)` terms.
    pub terms: Vec<(CellRef, i64)>,
    /// Constant term (bias).
    pub constant: i64,
}

impl DenseOutput {
    /// Rows used (at least one).
    pub fn rows(&self) -> usize {
        self.terms.len().div_ceil(4).max(1)
    }

    /// The cell holding the output.
    pub fn cell(&self) -> CellRef {
        CellRef::V(self.first_row + self.rows() - 1)
    }
}

/// A block of a batched dense layer ([`crate::circuit::chips::dense_batch`]): up to `width` outputs over one
/// shared input list.
#[derive(Clone, Debug)]
pub struct DenseBlock {
    /// First row.
    pub first_row: usize,
    /// The input cells, four per row.
    pub inputs: Vec<CellRef>,
    /// `weights[g][i]`: the weight of block output `g` on `inputs[i]`.
    pub weights: Vec<Vec<i64>>,
    /// The tensor's (row-major) element index of each block output.
    pub outputs: Vec<usize>,
    /// The constant (bias) of each block output: the output is its cell plus this.
    pub constants: Vec<i64>,
}

impl DenseBlock {
    /// Rows holding inputs (at least one).
    pub fn input_rows(&self) -> usize {
        self.inputs.len().div_ceil(4).max(1)
    }

    /// Rows of the block: the input rows, and at least one row per output slot.
    pub fn rows(&self, width: usize) -> usize {
        self.input_rows().max(width)
    }

    /// The cell claiming block output `g` (without the bias).
    pub fn output_cell(&self, g: usize) -> CellRef {
        CellRef::V(self.first_row + g)
    }
}

/// A dense (dot-product) linear layer.
#[derive(Clone, Debug)]
pub struct DenseRegion {
    /// Output tensor.
    pub tensor: TensorId,
    /// Outputs in row-major order (direct layout; empty when batched).
    pub outputs: Vec<DenseOutput>,
    /// Blocks (batched layout; empty when direct).
    pub blocks: Vec<DenseBlock>,
}

/// Groups the rows of a dense map into blocks of at most `width` outputs whose inputs are (almost)
/// the same: rows sorted by their first and last input, a row joining the open block while the
/// union of inputs stays within 1/8 of the largest row. Returns `(union inputs, rows)` per
/// block. A Gemm (every row reads every input, up to zero weights) gives `⌈n / width⌉` blocks; a
/// convolution gives one block per position and group of `width` channels.
pub fn group_rows(map: &super::linear::SparseMap, width: usize) -> Vec<(Vec<u32>, Vec<usize>)> {
    let n = map.constant.len();
    let span = |r: usize| {
        let row = map.row(r);
        (row.iter().map(|e| e.0).min().unwrap_or(0), row.iter().map(|e| e.0).max().unwrap_or(0))
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&r| (span(r), r));
    let mut blocks: Vec<(BTreeSet<u32>, Vec<usize>, usize)> = Vec::new();
    for r in order {
        let row: BTreeSet<u32> = map.row(r).iter().map(|e| e.0).collect();
        if let Some((union, rows, largest)) = blocks.last_mut() {
            if rows.len() < width {
                let largest2 = (*largest).max(row.len());
                let grown = union.union(&row).count();
                if grown <= largest2 + largest2 / 8 {
                    union.extend(row);
                    rows.push(r);
                    *largest = largest2;
                    continue;
                }
            }
        }
        let len = row.len();
        blocks.push((row, vec![r], len));
    }
    blocks.into_iter().map(|(u, rows, _)| (u.into_iter().collect(), rows)).collect()
}

/// The CNN regions in the order the witness fills them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CnnStep {
    /// A ReLU region.
    Relu(usize),
    /// A requantisation region.
    Requant(usize),
    /// A dense region.
    Dense(usize),
}

/// The planned CNN path of a model.
#[derive(Clone, Debug, Default)]
pub struct CnnPlan {
    /// ReLU layers.
    pub relus: Vec<ReluRegion>,
    /// Requantisation layers.
    pub requants: Vec<RequantRegion>,
    /// Dense layers.
    pub denses: Vec<DenseRegion>,
    /// Fill order.
    pub steps: Vec<CnnStep>,
    /// Indices into [`super::StatementPlan::convs`] of the convolutions this path added, with
    /// the tensor they prove.
    pub convs: Vec<(usize, TensorId)>,
}

impl CnnPlan {
    /// Distinct ReLU limb-row counts.
    pub fn relu_rows(&self) -> Vec<usize> {
        let s: BTreeSet<usize> = self.relus.iter().map(|r| r.rows).collect();
        s.into_iter().collect()
    }

    /// Multiply-adds of the dense layers (weights that are not zero).
    pub fn dense_terms(&self) -> usize {
        self.denses
            .iter()
            .map(|d| {
                d.outputs.iter().map(|o| o.terms.len()).sum::<usize>()
                    + d.blocks.iter().map(|b| b.weights.iter().map(|w| w.iter().filter(|x| **x != 0).count()).sum::<usize>()).sum::<usize>()
            })
            .sum()
    }

    /// Distinct requantisation shapes.
    pub fn requant_shapes(&self) -> Vec<RequantShape> {
        let s: BTreeSet<RequantShape> = self.requants.iter().map(|r| r.shape).collect();
        s.into_iter().collect()
    }
}

struct Walk<'a> {
    graph: &'a Graph,
    la: &'a LinearAnalysis,
    linear: BTreeSet<TensorId>,
    materialized: BTreeSet<TensorId>,
}

impl Walk<'_> {
    fn linear(&mut self, t: TensorId) -> Result<(), CircuitError> {
        if !self.linear.insert(t) {
            return Ok(());
        }
        let src = self.la.map(t).source.ok_or_else(|| CircuitError::Unsupported(format!("tensor {} is a constant", self.name(t))))?;
        self.materialized(src)
    }

    fn materialized(&mut self, t: TensorId) -> Result<(), CircuitError> {
        if !self.materialized.insert(t) {
            return Ok(());
        }
        let node = self.graph.producer(t).ok_or_else(|| CircuitError::Internal(format!("tensor {} has no producer", t.0)))?;
        match &node.op {
            Op::Input(_) => Ok(()),
            Op::Requant(_) => self.linear(node.inputs[0]),
            Op::Max => self.linear(variable_operand(self.graph, node)?.0),
            other => Err(CircuitError::Unsupported(format!(
                "node {} ({}) cannot be proven on the CNN path; supported nonlinear ops: Max with a constant (ReLU), Requant",
                node.name,
                other.name()
            ))),
        }
    }

    fn name(&self, t: TensorId) -> String {
        self.graph.producer(t).map(|n| n.name.clone()).unwrap_or_else(|| format!("#{}", t.0))
    }
}

/// The variable operand of a `Max` and the constant one.
fn variable_operand(graph: &Graph, node: &crate::model::ir::Node) -> Result<(TensorId, TensorId), CircuitError> {
    let [a, b] = node.inputs[..] else { return Err(CircuitError::Internal(format!("node {} has {} operands", node.name, node.inputs.len()))) };
    match (graph.info(a).konst.is_some(), graph.info(b).konst.is_some()) {
        (false, true) => Ok((a, b)),
        (true, false) => Ok((b, a)),
        _ => Err(CircuitError::Unsupported(format!("node {}: Max must have exactly one constant operand (ReLU)", node.name))),
    }
}

fn bits_of(v: i128) -> u32 {
    128 - v.unsigned_abs().leading_zeros()
}

/// Plans the cells of everything the `targets` depend on (a liveness score, and outputs the
/// encoder rules read), each shared layer once, and returns the proven values of each target
/// in row-major order. Convolutions are appended to `convs` (their segment rows placed); the
/// other regions are placed on `floor`.
///
/// Dense layers use the batched layout ([`crate::circuit::chips::dense_batch`]) with blocks of `dense_width`
/// outputs when `dense_width > 1`, else the direct one ([`crate::circuit::chips::dense`]).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    graph: &Graph,
    la: &LinearAnalysis,
    inputs: &mut [InputRegion],
    convs: &mut Vec<ConvRegion>,
    floor: &mut Floor,
    limb_bits: u32,
    dense_width: usize,
    targets: &[TensorId],
) -> Result<(CnnPlan, HashMap<TensorId, Vec<ValueRef>>), CircuitError> {
    let mut walk = Walk { graph, la, linear: BTreeSet::new(), materialized: BTreeSet::new() };
    for &t in targets {
        walk.linear(t)?;
    }
    let (linear, materialized) = (walk.linear, walk.materialized);
    let mut cells: HashMap<TensorId, Vec<CellRef>> = HashMap::new();
    let mut values: HashMap<TensorId, Vec<ValueRef>> = HashMap::new();
    let mut cnn = CnnPlan::default();
    let numel = |t: TensorId| graph.info(t).shape.iter().product::<usize>();
    for node in &graph.nodes {
        let t = node.output;
        if materialized.contains(&t) {
            let c: Vec<CellRef> = match &node.op {
                Op::Input(_) => {
                    let inp = inputs.iter().find(|i| i.tensor == t).ok_or_else(|| CircuitError::Internal("input region".into()))?;
                    (0..numel(t)).map(|k| CellRef::Q(inp.first_row + k / 4, k % 4)).collect()
                }
                Op::Max => {
                    let (x, k) = variable_operand(graph, node)?;
                    if graph.info(x).shape != graph.info(t).shape {
                        return Err(CircuitError::Unsupported(format!("node {}: the variable operand of Max is broadcast", node.name)));
                    }
                    let konst = graph.info(k).konst.clone().ok_or_else(|| CircuitError::Internal("max constant".into()))?;
                    let out_shape = &graph.info(t).shape;
                    let ks = broadcast_strides(&konst.shape, out_shape);
                    let mut consts = Vec::with_capacity(numel(t));
                    crate::model::exec::for_each_index(out_shape, |idx| consts.push(konst.data[idx.iter().zip(&ks).map(|(i, s)| i * s).sum::<usize>()]));
                    let src = values.get(&x).ok_or_else(|| CircuitError::Internal("relu input not planned".into()))?;
                    let cmax = consts.iter().map(|&c| bits_of(c as i128)).max().unwrap_or(0);
                    let bits = graph.info(x).bound.magnitude_bits().max(cmax) + 1;
                    let rows = rows_for_bits(bits + 1, limb_bits);
                    if rows * 4 * limb_bits as usize > 224 {
                        return Err(CircuitError::Unsupported(format!("node {}: ReLU input of {bits} bits; the limit is 224", node.name)));
                    }
                    let elems: Vec<ReluElem> = src.iter().zip(&consts).map(|(s, &c)| ReluElem { src: *s, konst: c }).collect();
                    let first_row = floor.place(&[Col::Q, Col::V, Col::B, Col::U], elems.len() * rows);
                    let r = ReluRegion { tensor: t, first_row, rows, elems };
                    let out = (0..r.elems.len()).map(|e| CellRef::U(r.row(e))).collect();
                    cnn.relus.push(r);
                    cnn.steps.push(CnnStep::Relu(cnn.relus.len() - 1));
                    out
                }
                Op::Requant(q) => {
                    let x = node.inputs[0];
                    let src = values.get(&x).ok_or_else(|| CircuitError::Internal("requant input not planned".into()))?.clone();
                    let b = graph.info(t).bound;
                    let hi_bits = bits_of(b.hi - b.lo).max(1);
                    let shape = RequantShape { shift: q.shift, hi_limbs: hi_bits.div_ceil(limb_bits) as usize };
                    if q.shift + shape.hi_limbs as u32 * limb_bits > 200 {
                        return Err(CircuitError::Unsupported(format!("node {}: requantisation of {} bits", node.name, q.shift + hi_bits)));
                    }
                    let rows = shape.rows(limb_bits);
                    let first_row = floor.place(&[Col::Q, Col::V, Col::U], src.len() * rows);
                    let ylo = i64::try_from(b.lo).map_err(|_| CircuitError::Internal("requant bound".into()))?;
                    let r = RequantRegion { tensor: t, shape, rows, ylo, first_row, elems: src };
                    let out = (0..r.elems.len()).map(|e| CellRef::U(r.row(e))).collect();
                    cnn.requants.push(r);
                    cnn.steps.push(CnnStep::Requant(cnn.requants.len() - 1));
                    out
                }
                _ => return Err(CircuitError::Internal(format!("node {} is not materialized", node.name))),
            };
            cells.insert(t, c);
        }
        if linear.contains(&t) {
            let map = la.map(t);
            let v: Vec<ValueRef> = if map.is_identity() {
                cells.get(&t).ok_or_else(|| CircuitError::Internal("materialized cells".into()))?.iter().map(|&cell| ValueRef { cell, offset: 0 }).collect()
            } else {
                let src = map.source.ok_or_else(|| CircuitError::Internal("constant map".into()))?;
                let input = inputs.iter().position(|i| i.tensor == src);
                let conv = input.and_then(|_| detect_conv(map, &graph.info(src).shape, &graph.info(t).shape)).filter(|p| {
                    let mut covered = vec![false; p.segments];
                    p.blocks.iter().for_each(|b| covered[b.0] = true);
                    covered.iter().all(|c| *c)
                });
                match (input, conv) {
                    (Some(source), Some(p)) => {
                        let apad = inputs[source].apad_slot(apad_shape(&p))?;
                        let seg_len = p.segment_len().div_ceil(4) * 4;
                        let mut region = ConvRegion { plan: p, source, target: t, seg_len, seg_first_row: 0, kernel_rows: vec![], acc_first_row: 0, apad };
                        region.seg_first_row = floor.place(&[Col::Q, Col::H], region.seg_rows());
                        let p = &region.plan;
                        let v = (0..p.segments * p.outputs)
                            .map(|e| ValueRef { cell: region.output_cell(e / p.outputs, e % p.outputs), offset: p.constant[e] })
                            .collect();
                        convs.push(region);
                        cnn.convs.push((convs.len() - 1, t));
                        v
                    }
                    _ if dense_width > 1 => {
                        let src_cells = cells.get(&src).ok_or_else(|| CircuitError::Internal("dense source not planned".into()))?;
                        let mut blocks = Vec::new();
                        let mut total = 0;
                        for (union, rows) in group_rows(map, dense_width) {
                            let pos: HashMap<u32, usize> = union.iter().enumerate().map(|(k, &i)| (i, k)).collect();
                            let weights = rows
                                .iter()
                                .map(|&r| {
                                    let mut w = vec![0i64; union.len()];
                                    map.row(r).iter().for_each(|&(i, wt)| w[pos[&i]] += wt);
                                    w
                                })
                                .collect();
                            let constants = rows.iter().map(|&r| map.constant[r]).collect();
                            let b = DenseBlock {
                                first_row: total,
                                inputs: union.iter().map(|&i| src_cells[i as usize]).collect(),
                                weights,
                                outputs: rows,
                                constants,
                            };
                            total += b.rows(dense_width);
                            blocks.push(b);
                        }
                        let first = floor.place(&[Col::Q, Col::V, Col::H, Col::G], total);
                        let mut v = vec![ValueRef { cell: CellRef::V(0), offset: 0 }; map.constant.len()];
                        for b in &mut blocks {
                            b.first_row += first;
                            for (g, &o) in b.outputs.iter().enumerate() {
                                v[o] = ValueRef { cell: b.output_cell(g), offset: map.constant[o] };
                            }
                        }
                        cnn.denses.push(DenseRegion { tensor: t, outputs: vec![], blocks });
                        cnn.steps.push(CnnStep::Dense(cnn.denses.len() - 1));
                        v
                    }
                    _ => {
                        let src_cells = cells.get(&src).ok_or_else(|| CircuitError::Internal("dense source not planned".into()))?;
                        let mut outputs = Vec::with_capacity(numel(t));
                        let mut total = 0;
                        for r in 0..map.constant.len() {
                            let terms: Vec<(CellRef, i64)> = map.row(r).iter().map(|&(i, w)| (src_cells[i as usize], w)).collect();
                            let o = DenseOutput { first_row: total, terms, constant: map.constant[r] };
                            total += o.rows();
                            outputs.push(o);
                        }
                        let first = floor.place(&[Col::Q, Col::V], total);
                        outputs.iter_mut().for_each(|o| o.first_row += first);
                        let v = outputs.iter().map(|o| ValueRef { cell: o.cell(), offset: 0 }).collect();
                        cnn.denses.push(DenseRegion { tensor: t, outputs, blocks: vec![] });
                        cnn.steps.push(CnnStep::Dense(cnn.denses.len() - 1));
                        v
                    }
                }
            };
            values.insert(t, v);
        }
    }
    let mut out = HashMap::with_capacity(targets.len());
    for &t in targets {
        let v = values.get(&t).ok_or_else(|| CircuitError::Internal(format!("target {} not planned", t.0)))?;
        out.insert(t, v.clone());
    }
    Ok((cnn, out))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::ir::{Bound, GraphInput, IntTensor, Node};

    /// `input [2, 4] → op(input, other) → output`.
    fn graph(op: Op, other_is_input: bool) -> (Graph, TensorId) {
        let mut g = Graph::default();
        let x = g.add_tensor(vec![2, 4], 0, None);
        g.nodes.push(Node { name: "x".into(), op: Op::Input(0), inputs: vec![], output: x });
        g.inputs.push(GraphInput { name: "x".into(), shape: vec![2, 4], range: Bound::new(0, 15), scale_bits: 0, tensor: x });
        let other = if other_is_input {
            x
        } else {
            let k = Arc::new(IntTensor::new(vec![], vec![0]));
            let t = g.add_tensor(vec![], 0, Some(k.clone()));
            g.nodes.push(Node { name: "zero".into(), op: Op::Const(k), inputs: vec![], output: t });
            t
        };
        let y = g.add_tensor(vec![2, 4], 0, None);
        g.nodes.push(Node { name: "y".into(), op, inputs: vec![x, other], output: y });
        (g, y)
    }

    fn plan_err(op: Op, other_is_input: bool) -> String {
        let (g, y) = graph(op, other_is_input);
        let la = LinearAnalysis::new(&g).unwrap();
        match plan(&g, &la, &mut [], &mut Vec::new(), &mut Floor::default(), 4, 1, &[y]) {
            Err(CircuitError::Unsupported(msg)) => msg,
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn unsupported_nonlinear_ops_are_refused() {
        assert!(plan_err(Op::Min, false).contains("Min"));
        assert!(plan_err(Op::Max, true).contains("exactly one constant operand"));
    }
}
