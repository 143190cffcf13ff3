//! Proven value bounds for every tensor of an IR graph.
//!
//! Bounds are derived from the declared input ranges and the constant weights only, so they
//! hold for *every* admissible input. For a linear op with constant weights `W` and a variable
//! operand in `[lo, hi]`, each output lies in `[S⁺·lo + S⁻·hi, S⁺·hi + S⁻·lo]` where `S⁺`/`S⁻`
//! are the sums of the positive/negative weights feeding it — exact per output, then the
//! tensor bound is the union. The circuit sizes its range checks from these bounds, and a
//! model whose bounds exceed [`MAX_BOUND_BITS`] is refused instead of silently wrapping.

use std::sync::Arc;

use super::error::ModelError;
use super::exec::{einsum, eval_op};
use super::ir::{Bound, Graph, IntTensor, Op};

/// Largest magnitude (in bits) any tensor may reach.
pub const MAX_BOUND_BITS: u32 = 60;

fn tensor_bound(t: &IntTensor) -> Bound {
    let lo = t.data.iter().copied().min().unwrap_or(0) as i128;
    let hi = t.data.iter().copied().max().unwrap_or(0) as i128;
    Bound::new(lo, hi)
}

fn split_signs(t: &IntTensor) -> (IntTensor, IntTensor) {
    let pos = t.data.iter().map(|&v| v.max(0)).collect();
    let neg = t.data.iter().map(|&v| v.min(0)).collect();
    (IntTensor::new(t.shape.clone(), pos), IntTensor::new(t.shape.clone(), neg))
}

fn ones_like(shape: &[usize]) -> IntTensor {
    IntTensor::new(shape.to_vec(), vec![1; shape.iter().product()])
}

/// Bound of `Σ w·x` for each output, given per-output sums of positive and negative weights.
fn linear_bound(s_pos: &IntTensor, s_neg: &IntTensor, x: Bound) -> Bound {
    let mut out: Option<Bound> = None;
    for (&p, &n) in s_pos.data.iter().zip(&s_neg.data) {
        let (p, n) = (p as i128, n as i128);
        let b = Bound::new(p * x.lo + n * x.hi, p * x.hi + n * x.lo);
        out = Some(out.map_or(b, |o| o.union(&b)));
    }
    out.unwrap_or(Bound::new(0, 0))
}

fn mul_bound(a: Bound, b: Bound) -> Bound {
    let c = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
    Bound::new(*c.iter().min().unwrap_or(&0), *c.iter().max().unwrap_or(&0))
}

/// Computes [`TensorInfo::bound`](super::ir::TensorInfo) for every tensor, and refuses graphs
/// whose values could exceed [`MAX_BOUND_BITS`].
pub fn compute(graph: &mut Graph) -> Result<(), ModelError> {
    for input in &graph.inputs {
        graph.tensors[input.tensor.0].bound = input.range;
    }
    for k in 0..graph.nodes.len() {
        let node = graph.nodes[k].clone();
        let ib: Vec<Bound> = node.inputs.iter().map(|t| graph.info(*t).bound).collect();
        let konst: Vec<Option<Arc<IntTensor>>> = node.inputs.iter().map(|t| graph.info(*t).konst.clone()).collect();
        let unsupported = || ModelError::UnsupportedOp { node: node.name.clone(), op: format!("{} with more than one non-constant operand", node.op.name()) };
        let b = match &node.op {
            Op::Input(i) => graph.inputs[*i].range,
            Op::Const(t) => tensor_bound(t),
            Op::Cast | Op::Reshape(_) | Op::Transpose(_) | Op::Slice { .. } | Op::Gather { .. } => ib[0],
            Op::Concat { .. } => ib.iter().skip(1).fold(ib[0], |a, b| a.union(b)),
            Op::Pad { mode, .. } => match mode {
                super::ir::PadMode::Constant(v) => ib[0].union(&Bound::new(*v as i128, *v as i128)),
                super::ir::PadMode::Wrap => ib[0],
            },
            Op::EinSum(spec) => {
                let var: Vec<usize> = (0..node.inputs.len()).filter(|&i| konst[i].is_none()).collect();
                match var.as_slice() {
                    [] => tensor_bound(&node_value(graph, k)?),
                    [v] => {
                        let shapes: Vec<Vec<usize>> = node.inputs.iter().map(|t| graph.info(*t).shape.clone()).collect();
                        // Sum the weights (product of all constant operands) per output.
                        let ones = ones_like(&shapes[*v]);
                        let mut pos_args: Vec<IntTensor> = Vec::new();
                        let mut neg_args: Vec<IntTensor> = Vec::new();
                        let consts: Vec<usize> = (0..node.inputs.len()).filter(|i| i != v).collect();
                        if consts.len() != 1 {
                            return Err(unsupported());
                        }
                        let c = konst[consts[0]].clone().ok_or_else(unsupported)?;
                        let (p, n) = split_signs(&c);
                        for i in 0..node.inputs.len() {
                            if i == *v {
                                pos_args.push(ones.clone());
                                neg_args.push(ones.clone());
                            } else {
                                pos_args.push(p.clone());
                                neg_args.push(n.clone());
                            }
                        }
                        let sp = einsum(spec, &pos_args.iter().collect::<Vec<_>>());
                        let sn = einsum(spec, &neg_args.iter().collect::<Vec<_>>());
                        linear_bound(&sp, &sn, ib[*v])
                    }
                    _ => return Err(unsupported()),
                }
            }
            Op::Conv(c) => {
                let shape = &graph.info(node.inputs[0]).shape;
                let (wp, wn) = split_signs(&c.weights);
                let ones = ones_like(shape);
                let cp = super::ir::Conv2d { weights: Arc::new(wp), bias: None, ..c.clone() };
                let cn = super::ir::Conv2d { weights: Arc::new(wn), bias: None, ..c.clone() };
                let sp = eval_op(&Op::Conv(cp), &[&ones], &[])?;
                let sn = eval_op(&Op::Conv(cn), &[&ones], &[])?;
                let mut b = linear_bound(&sp, &sn, ib[0]);
                if let Some(bias) = &c.bias {
                    let bb = tensor_bound(bias);
                    b = Bound::new(b.lo + bb.lo, b.hi + bb.hi);
                }
                b
            }
            Op::Add => Bound::new(ib[0].lo + ib[1].lo, ib[0].hi + ib[1].hi),
            Op::Sub => Bound::new(ib[0].lo - ib[1].hi, ib[0].hi - ib[1].lo),
            Op::Mul => {
                if konst[0].is_none() && konst[1].is_none() {
                    return Err(unsupported());
                }
                mul_bound(ib[0], ib[1])
            }
            Op::Max => Bound::new(ib[0].lo.max(ib[1].lo), ib[0].hi.max(ib[1].hi)),
            Op::Min => Bound::new(ib[0].lo.min(ib[1].lo), ib[0].hi.min(ib[1].hi)),
            Op::ReduceSum { axes, .. } => {
                let shape = &graph.info(node.inputs[0]).shape;
                let n: i128 = axes.iter().map(|&a| shape[a] as i128).product();
                Bound::new(ib[0].lo.min(0) * n, ib[0].hi.max(0) * n).union(&Bound::new(ib[0].lo * n, ib[0].hi * n))
            }
            Op::Requant(r) => {
                let half = 1i128 << (r.shift - 1);
                Bound::new((ib[0].lo + half) >> r.shift, (ib[0].hi + half) >> r.shift)
            }
        };
        if b.magnitude_bits() > MAX_BOUND_BITS {
            return Err(ModelError::BoundOverflow { tensor: node.name.clone(), bits: b.magnitude_bits(), limit: MAX_BOUND_BITS });
        }
        graph.tensors[node.output.0].bound = b;
    }
    Ok(())
}

/// Evaluates a node whose inputs are all constants.
fn node_value(graph: &Graph, k: usize) -> Result<IntTensor, ModelError> {
    let node = &graph.nodes[k];
    let args: Vec<Arc<IntTensor>> = node
        .inputs
        .iter()
        .map(|t| graph.info(*t).konst.clone().ok_or_else(|| ModelError::Internal("constant folding of a variable".into())))
        .collect::<Result<_, _>>()?;
    eval_op(&node.op, &args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(), &[])
}
