//! The native integer executor: runs an IR [`Graph`] exactly on `i64`.
//!
//! This is the twin of the circuit: the circuit's witness is taken from these values, and the
//! bounds pass guarantees no intermediate exceeds `2^62`, so `i64` arithmetic never overflows.

use super::error::ModelError;
use super::ir::{strides_of, Conv2d, EinsumSpec, Graph, IntTensor, Op, PadMode, TensorId};

/// All tensor values of one run, indexed by [`TensorId`].
#[derive(Clone, Debug)]
pub struct Trace {
    /// `values[t]` is the value of tensor `t`.
    pub values: Vec<IntTensor>,
}

impl Drop for Trace {
    /// Zeroes every value of the run: the trace holds the image, the mask and every
    /// intermediate value derived from them.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.values.iter_mut().for_each(|t| t.data.zeroize());
    }
}

impl Trace {
    /// Value of a tensor.
    pub fn get(&self, t: TensorId) -> &IntTensor {
        &self.values[t.0]
    }
}

/// Runs the graph on the given inputs (in [`Graph::inputs`] order) and returns every tensor.
pub fn run(graph: &Graph, inputs: &[IntTensor]) -> Result<Trace, ModelError> {
    if inputs.len() != graph.inputs.len() {
        return Err(ModelError::InputCount { expected: graph.inputs.len(), actual: inputs.len() });
    }
    for (spec, t) in graph.inputs.iter().zip(inputs) {
        if spec.shape != t.shape {
            return Err(ModelError::InputShape { input: spec.name.clone(), expected: spec.shape.clone(), actual: t.shape.clone() });
        }
        if let Some((index, &v)) = t.data.iter().enumerate().find(|(_, &v)| (v as i128) < spec.range.lo || (v as i128) > spec.range.hi) {
            return Err(ModelError::InputRange { input: spec.name.clone(), index, value: v, lo: spec.range.lo, hi: spec.range.hi });
        }
    }
    let mut values: Vec<Option<IntTensor>> = vec![None; graph.tensors.len()];
    for node in &graph.nodes {
        let args: Vec<&IntTensor> = node
            .inputs
            .iter()
            .map(|t| values[t.0].as_ref().ok_or_else(|| ModelError::Internal(format!("tensor {} used before defined", t.0))))
            .collect::<Result<_, _>>()?;
        let out = eval_op(&node.op, &args, inputs).map_err(|e| match e {
            ModelError::Internal(msg) => ModelError::Internal(format!("node {} ({}): {msg}", node.name, node.op.name())),
            other => other,
        })?;
        let expected = &graph.info(node.output).shape;
        if &out.shape != expected {
            return Err(ModelError::Internal(format!("node {} ({}) produced shape {:?}, IR says {:?}", node.name, node.op.name(), out.shape, expected)));
        }
        values[node.output.0] = Some(out);
    }
    let values =
        values.into_iter().enumerate().map(|(i, v)| v.ok_or_else(|| ModelError::Internal(format!("tensor {i} never computed")))).collect::<Result<_, _>>()?;
    Ok(Trace { values })
}

fn internal<T>(msg: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError::Internal(msg.into()))
}

/// Evaluates one op.
pub fn eval_op(op: &Op, args: &[&IntTensor], inputs: &[IntTensor]) -> Result<IntTensor, ModelError> {
    Ok(match op {
        Op::Input(i) => inputs.get(*i).cloned().ok_or_else(|| ModelError::Internal(format!("input {i} missing")))?,
        Op::Const(t) => (**t).clone(),
        Op::Cast => args[0].clone(),
        Op::Reshape(shape) => {
            if shape.iter().product::<usize>() != args[0].len() {
                return internal(format!("reshape {:?} -> {:?}", args[0].shape, shape));
            }
            IntTensor::new(shape.clone(), args[0].data.clone())
        }
        Op::Transpose(perm) => transpose(args[0], perm)?,
        Op::Slice { axis, start, end, step } => slice(args[0], *axis, *start, *end, *step)?,
        Op::Concat { axis } => concat(args, *axis)?,
        Op::Gather { axis, indices } => gather(args[0], *axis, indices)?,
        Op::Pad { pads, mode } => pad(args[0], pads, *mode)?,
        Op::EinSum(spec) => einsum(spec, args),
        Op::Conv(c) => conv2d(args[0], c)?,
        Op::Add => broadcast(args[0], args[1], |a, b| a + b)?,
        Op::Sub => broadcast(args[0], args[1], |a, b| a - b)?,
        Op::Mul => broadcast(args[0], args[1], |a, b| a * b)?,
        Op::Max => broadcast(args[0], args[1], |a, b| a.max(b))?,
        Op::Min => broadcast(args[0], args[1], |a, b| a.min(b))?,
        Op::ReduceSum { axes, keep_dims } => reduce_sum(args[0], axes, *keep_dims)?,
        Op::Requant(r) => {
            let half = 1i64 << (r.shift - 1);
            IntTensor::new(args[0].shape.clone(), args[0].data.iter().map(|&x| (x + half) >> r.shift).collect())
        }
    })
}

fn transpose(x: &IntTensor, perm: &[usize]) -> Result<IntTensor, ModelError> {
    if perm.len() != x.shape.len() {
        return internal("transpose rank");
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let in_strides = x.strides();
    let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut data = Vec::with_capacity(x.len());
    for_each_index(&out_shape, |idx| {
        let off: usize = idx.iter().zip(&src_strides).map(|(i, s)| i * s).sum();
        data.push(x.data[off]);
    });
    Ok(IntTensor::new(out_shape, data))
}

fn slice(x: &IntTensor, axis: usize, start: usize, end: usize, step: usize) -> Result<IntTensor, ModelError> {
    if axis >= x.shape.len() || end > x.shape[axis] || start > end || step == 0 {
        return internal("slice bounds");
    }
    let n = (end - start).div_ceil(step);
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(outer * n * inner);
    for o in 0..outer {
        for k in 0..n {
            let base = (o * x.shape[axis] + start + k * step) * inner;
            data.extend_from_slice(&x.data[base..base + inner]);
        }
    }
    let mut shape = x.shape.clone();
    shape[axis] = n;
    Ok(IntTensor::new(shape, data))
}

fn concat(xs: &[&IntTensor], axis: usize) -> Result<IntTensor, ModelError> {
    let first = xs.first().ok_or_else(|| ModelError::Internal("concat of nothing".into()))?;
    if axis >= first.shape.len() {
        return internal("concat axis");
    }
    let outer: usize = first.shape[..axis].iter().product();
    let inner: usize = first.shape[axis + 1..].iter().product();
    let mut shape = first.shape.clone();
    shape[axis] = xs.iter().map(|x| x.shape[axis]).sum();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for x in xs {
            let chunk = x.shape[axis] * inner;
            data.extend_from_slice(&x.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(IntTensor::new(shape, data))
}

fn gather(x: &IntTensor, axis: usize, indices: &IntTensor) -> Result<IntTensor, ModelError> {
    if axis >= x.shape.len() {
        return internal("gather axis");
    }
    let dim = x.shape[axis];
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut shape: Vec<usize> = x.shape[..axis].to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(&x.shape[axis + 1..]);
    let mut data = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &ix in &indices.data {
            let ix = usize::try_from(ix).ok().filter(|&i| i < dim).ok_or_else(|| ModelError::Internal("gather index".into()))?;
            let base = (o * dim + ix) * inner;
            data.extend_from_slice(&x.data[base..base + inner]);
        }
    }
    Ok(IntTensor::new(shape, data))
}

fn pad(x: &IntTensor, pads: &[(usize, usize)], mode: PadMode) -> Result<IntTensor, ModelError> {
    if pads.len() != x.shape.len() {
        return internal("pad rank");
    }
    let out_shape: Vec<usize> = x.shape.iter().zip(pads).map(|(d, (a, b))| d + a + b).collect();
    let strides = x.strides();
    let mut data = Vec::with_capacity(out_shape.iter().product());
    for_each_index(&out_shape, |idx| {
        let mut off = 0usize;
        let mut inside = true;
        for (ax, &i) in idx.iter().enumerate() {
            let (before, _) = pads[ax];
            let d = x.shape[ax] as i64;
            let src = i as i64 - before as i64;
            let src = match mode {
                PadMode::Wrap => src.rem_euclid(d),
                PadMode::Constant(_) => {
                    if src < 0 || src >= d {
                        inside = false;
                        0
                    } else {
                        src
                    }
                }
            };
            off += src as usize * strides[ax];
        }
        data.push(match (inside, mode) {
            (true, _) => x.data[off],
            (false, PadMode::Constant(v)) => v,
            (false, PadMode::Wrap) => unreachable_zero(),
        });
    });
    Ok(IntTensor::new(out_shape, data))
}

// Wrap padding never leaves the tensor; kept as a function so no panic path exists.
fn unreachable_zero() -> i64 {
    0
}

/// Calls `f` with every multi-index of `shape` in row-major order.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    let total: usize = shape.iter().product();
    if total == 0 {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        f(&idx);
        for ax in (0..shape.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// Result shape of numpy broadcasting, or `None` if incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Strides of `shape` broadcast to `out` (0 on broadcast axes).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let s = strides_of(shape);
    let lead = out.len() - shape.len();
    (0..out.len()).map(|i| if i < lead || shape[i - lead] == 1 { 0 } else { s[i - lead] }).collect()
}

fn broadcast(a: &IntTensor, b: &IntTensor, f: impl Fn(i64, i64) -> i64) -> Result<IntTensor, ModelError> {
    let shape = broadcast_shape(&a.shape, &b.shape).ok_or_else(|| ModelError::Internal("broadcast shapes".into()))?;
    if a.shape == b.shape {
        return Ok(IntTensor::new(shape, a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect()));
    }
    let sa = broadcast_strides(&a.shape, &shape);
    let sb = broadcast_strides(&b.shape, &shape);
    let mut data = Vec::with_capacity(shape.iter().product());
    for_each_index(&shape, |idx| {
        let oa: usize = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ob: usize = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
        data.push(f(a.data[oa], b.data[ob]));
    });
    Ok(IntTensor::new(shape, data))
}

fn reduce_sum(x: &IntTensor, axes: &[usize], keep_dims: bool) -> Result<IntTensor, ModelError> {
    if axes.iter().any(|&a| a >= x.shape.len()) {
        return internal("reduce axis");
    }
    let kept: Vec<usize> = x.shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let ks = strides_of(&kept);
    let mut data = vec![0i64; kept.iter().product()];
    let mut k = 0usize;
    for_each_index(&x.shape, |idx| {
        let off: usize = idx.iter().enumerate().map(|(i, &v)| if axes.contains(&i) { 0 } else { v * ks[i] }).sum();
        data[off] += x.data[k];
        k += 1;
    });
    let shape = if keep_dims { kept } else { x.shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect() };
    Ok(IntTensor::new(shape, data))
}

fn conv2d(x: &IntTensor, c: &Conv2d) -> Result<IntTensor, ModelError> {
    let (w, [sh, sw], [pt, pl, _, _], [dh, dw]) = (&c.weights, c.strides, c.pads, c.dilations);
    if x.shape.len() != 4 || w.shape.len() != 4 {
        return internal("conv expects NCHW input and OIHW weights");
    }
    let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (co, cig, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
    if c.group == 0 || ci != cig * c.group || co % c.group != 0 {
        return internal("conv channels/groups");
    }
    let (oh, ow) = conv_out_hw(&x.shape, c).ok_or_else(|| ModelError::Internal("conv output size".into()))?;
    let co_per_g = co / c.group;
    let mut data = vec![0i64; n * co * oh * ow];
    for b in 0..n {
        for o in 0..co {
            let g = o / co_per_g;
            let bias = c.bias.as_ref().map(|t| t.data[o]).unwrap_or(0);
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = bias;
                    for cc in 0..cig {
                        let chan = g * cig + cc;
                        for ky in 0..kh {
                            let iy = (y * sh + ky * dh) as i64 - pt as i64;
                            if iy < 0 || iy >= h as i64 {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (xo * sw + kx * dw) as i64 - pl as i64;
                                if ix < 0 || ix >= wd as i64 {
                                    continue;
                                }
                                let xv = x.data[((b * ci + chan) * h + iy as usize) * wd + ix as usize];
                                acc += xv * w.data[((o * cig + cc) * kh + ky) * kw + kx];
                            }
                        }
                    }
                    data[((b * co + o) * oh + y) * ow + xo] = acc;
                }
            }
        }
    }
    Ok(IntTensor::new(vec![n, co, oh, ow], data))
}

/// Output height and width of a convolution on an `[N, C, H, W]` input.
pub fn conv_out_hw(x_shape: &[usize], c: &Conv2d) -> Option<(usize, usize)> {
    let (h, w) = (x_shape[2], x_shape[3]);
    let (kh, kw) = (c.weights.shape[2], c.weights.shape[3]);
    let eh = (kh - 1) * c.dilations[0] + 1;
    let ew = (kw - 1) * c.dilations[1] + 1;
    let ph = h + c.pads[0] + c.pads[2];
    let pw = w + c.pads[1] + c.pads[3];
    if ph < eh || pw < ew || c.strides[0] == 0 || c.strides[1] == 0 {
        return None;
    }
    Some(((ph - eh) / c.strides[0] + 1, (pw - ew) / c.strides[1] + 1))
}

/// Evaluates an [`EinsumSpec`] on integer operands.
pub fn einsum(spec: &EinsumSpec, args: &[&IntTensor]) -> IntTensor {
    let out_shape = spec.output_shape();
    let summed = spec.summed();
    let sum_shape: Vec<usize> = summed.iter().map(|c| spec.sizes[c]).collect();
    let out_st = spec.letter_strides(&spec.output);
    let sum_st = spec.letter_strides(&summed);
    // Precompute the operand offsets of every summed multi-index.
    let mut sum_offsets: Vec<Vec<usize>> = vec![Vec::new(); args.len()];
    for_each_index(&sum_shape, |idx| {
        for (k, st) in sum_st.iter().enumerate() {
            sum_offsets[k].push(idx.iter().zip(st).map(|(i, s)| i * s).sum());
        }
    });
    let n_sum = sum_shape.iter().product::<usize>();
    let mut data = Vec::with_capacity(out_shape.iter().product());
    for_each_index(&out_shape, |idx| {
        let bases: Vec<usize> = out_st.iter().map(|st| idx.iter().zip(st).map(|(i, s)| i * s).sum()).collect();
        let mut acc = 0i64;
        match args.len() {
            2 => {
                let (a, b) = (&args[0].data, &args[1].data);
                let (oa, ob) = (&sum_offsets[0], &sum_offsets[1]);
                for s in 0..n_sum {
                    acc += a[bases[0] + oa[s]] * b[bases[1] + ob[s]];
                }
            }
            _ => {
                #[allow(clippy::needless_range_loop)] // s indexes every operand's offset table
                for s in 0..n_sum {
                    let mut p = 1i64;
                    for (k, a) in args.iter().enumerate() {
                        p *= a.data[bases[k] + sum_offsets[k][s]];
                    }
                    acc += p;
                }
            }
        }
        data.push(acc);
    });
    IntTensor::new(out_shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: &[i64]) -> IntTensor {
        IntTensor::new(shape.to_vec(), data.to_vec())
    }

    #[test]
    fn einsum_matches_hand_computation() {
        let a = t(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let b = t(&[3, 2], &[1, 0, 0, 1, 1, 1]);
        let s = EinsumSpec::parse("ik,kj->ij", &[a.shape.clone(), b.shape.clone()]).unwrap();
        assert_eq!(einsum(&s, &[&a, &b]).data, vec![4, 5, 10, 11]);
        let s = EinsumSpec::parse("ik,kj->ji", &[a.shape.clone(), b.shape.clone()]).unwrap();
        assert_eq!(einsum(&s, &[&a, &b]).data, vec![4, 10, 5, 11]);
        assert!(EinsumSpec::parse("ik,kj", &[a.shape.clone(), b.shape.clone()]).is_err());
    }

    #[test]
    fn gather_slice_concat_pad() {
        let x = t(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let g = gather(&x, 1, &t(&[2], &[2, 0])).unwrap();
        assert_eq!((g.shape.clone(), g.data.clone()), (vec![2, 2], vec![3, 1, 6, 4]));
        let s = slice(&x, 1, 1, 3, 1).unwrap();
        assert_eq!(s.data, vec![2, 3, 5, 6]);
        let c = concat(&[&x, &x], 0).unwrap();
        assert_eq!(c.shape, vec![4, 3]);
        let p = pad(&x, &[(0, 0), (1, 1)], PadMode::Wrap).unwrap();
        assert_eq!(p.data, vec![3, 1, 2, 3, 1, 6, 4, 5, 6, 4]);
        let p = pad(&x, &[(1, 0), (0, 0)], PadMode::Constant(7)).unwrap();
        assert_eq!(p.data, vec![7, 7, 7, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn conv_and_requant() {
        let x = t(&[1, 1, 3, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let w = std::sync::Arc::new(t(&[1, 1, 2, 2], &[1, 0, 0, -1]));
        let c = Conv2d { weights: w, bias: Some(std::sync::Arc::new(t(&[1], &[10]))), strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 };
        assert_eq!(conv2d(&x, &c).unwrap().data, vec![6, 6, 6, 6]);
        let r = eval_op(&Op::Requant(super::super::ir::Requant { shift: 2 }), &[&t(&[4], &[5, 6, -6, -5])], &[]).unwrap();
        // round half up: 5/4=1.25->1, 6/4=1.5->2, -6/4=-1.5->-1, -5/4=-1.25->-1
        assert_eq!(r.data, vec![1, 2, -1, -1]);
    }

    #[test]
    fn broadcasting_and_reduce() {
        let a = t(&[2, 2], &[1, 2, 3, 4]);
        let b = t(&[2], &[10, 20]);
        assert_eq!(broadcast(&a, &b, |x, y| x + y).unwrap().data, vec![11, 22, 13, 24]);
        assert_eq!(reduce_sum(&a, &[1], false).unwrap().data, vec![3, 7]);
        assert_eq!(reduce_sum(&a, &[0], true).unwrap().shape, vec![1, 2]);
    }
}
