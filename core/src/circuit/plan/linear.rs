//! Linear analysis: which model values are linear functions of which materialized values,
//! and with what structure.
//!
//! Every IR tensor is either *materialized* (it has cells in the circuit: a model input, or
//! the output of a nonlinear op such as ReLU or a requantisation) or *linear*: an affine map of
//! materialized values, obtained by composing the linear IR ops (`Cast`, `Reshape`,
//! `Transpose`, `Slice`, `Gather`, `Concat`, `Pad`, `EinSum`/`Conv`/`Mul` with constants,
//! `Add`/`Sub`). A linear tensor that a rule or a nonlinear op reads is proven with one of the
//! linear strategies; [`detect_conv`] finds the sliding-window (Toeplitz) structure that makes
//! the cheap polynomial-identity proof possible.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::exec::{broadcast_shape, broadcast_strides, for_each_index};
use crate::model::ir::{strides_of, Graph, IntTensor, Op, PadMode, TensorId};

use crate::circuit::CircuitError;

/// A sparse affine map from one materialized source tensor: `out[r] = c[r] + Σ w·src[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseMap {
    /// Source tensor (materialized), or `None` for a pure constant.
    pub source: Option<TensorId>,
    /// Row pointers (CSR): entries of row `r` are `entries[ptr[r]..ptr[r+1]]`.
    pub ptr: Vec<usize>,
    /// `(source flat index, weight)`.
    pub entries: Vec<(u32, i64)>,
    /// Constant term per row.
    pub constant: Vec<i64>,
}

impl SparseMap {
    fn rows(&self) -> usize {
        self.constant.len()
    }

    /// The `(source index, weight)` entries of output row `r`.
    pub fn row(&self, r: usize) -> &[(u32, i64)] {
        &self.entries[self.ptr[r]..self.ptr[r + 1]]
    }

    /// The identity map of a materialized tensor of `n` elements.
    fn identity(t: TensorId, n: usize) -> Self {
        Self { source: Some(t), ptr: (0..=n).collect(), entries: (0..n as u32).map(|i| (i, 1)).collect(), constant: vec![0; n] }
    }

    fn constant(t: &IntTensor) -> Self {
        Self { source: None, ptr: vec![0; t.len() + 1], entries: vec![], constant: t.data.clone() }
    }

    /// Selects rows (`None` = a constant `fill`).
    fn select(&self, picks: &[Option<usize>], fill: i64) -> Self {
        let mut ptr = Vec::with_capacity(picks.len() + 1);
        let mut entries = Vec::new();
        let mut constant = Vec::with_capacity(picks.len());
        ptr.push(0);
        for p in picks {
            match p {
                Some(r) => {
                    entries.extend_from_slice(self.row(*r));
                    constant.push(self.constant[*r]);
                }
                None => constant.push(fill),
            }
            ptr.push(entries.len());
        }
        Self { source: self.source, ptr, entries, constant }
    }

    /// `Σ_k coeff_k · self[row_k]` for each output row, given as lists of `(row, coeff)`.
    fn combine(&self, rows: &[Vec<(usize, i64)>]) -> Self {
        let mut ptr = Vec::with_capacity(rows.len() + 1);
        let mut entries: Vec<(u32, i64)> = Vec::new();
        let mut constant = Vec::with_capacity(rows.len());
        let mut acc: HashMap<u32, i64> = HashMap::new();
        ptr.push(0);
        for terms in rows {
            let mut c = 0i64;
            let single = terms.iter().all(|(r, _)| self.ptr[r + 1] - self.ptr[*r] <= 1);
            if single {
                // Fast path (selections feeding a weighted sum): merge by sorting.
                let start = entries.len();
                for &(r, w) in terms {
                    c += w * self.constant[r];
                    for &(i, v) in self.row(r) {
                        entries.push((i, w * v));
                    }
                }
                let seg = &mut entries[start..];
                seg.sort_unstable_by_key(|e| e.0);
                let mut out = start;
                for k in start..entries.len() {
                    let e = entries[k];
                    if out > start && entries[out - 1].0 == e.0 {
                        entries[out - 1].1 += e.1;
                    } else {
                        entries[out] = e;
                        out += 1;
                    }
                }
                entries.truncate(out);
                let mut keep = start;
                for k in start..entries.len() {
                    if entries[k].1 != 0 {
                        entries[keep] = entries[k];
                        keep += 1;
                    }
                }
                entries.truncate(keep);
            } else {
                acc.clear();
                for &(r, w) in terms {
                    c += w * self.constant[r];
                    for &(i, v) in self.row(r) {
                        *acc.entry(i).or_default() += w * v;
                    }
                }
                let mut row: Vec<(u32, i64)> = acc.iter().filter(|(_, &v)| v != 0).map(|(&i, &v)| (i, v)).collect();
                row.sort_unstable_by_key(|e| e.0);
                entries.extend(row);
            }
            constant.push(c);
            ptr.push(entries.len());
        }
        Self { source: self.source, ptr, entries, constant }
    }

    /// Whether the map is the identity of its source (the tensor *is* materialized).
    pub fn is_identity(&self) -> bool {
        self.constant.iter().all(|&c| c == 0) && (0..self.rows()).all(|r| self.row(r) == [(r as u32, 1)])
    }

    /// Number of nonzero weights.
    pub fn nnz(&self) -> usize {
        self.entries.len()
    }

    /// Evaluates the map on a source value vector (used by tests and the witness builder).
    pub fn eval(&self, src: &[i64]) -> Vec<i64> {
        (0..self.rows()).map(|r| self.constant[r] + self.row(r).iter().map(|&(i, w)| w * src[i as usize]).sum::<i64>()).collect()
    }
}

/// Whether an op is linear (proved by composition) or nonlinear (materializes its output).
fn is_linear(op: &Op) -> bool {
    !matches!(op, Op::Max | Op::Min | Op::Requant(_) | Op::Input(_))
}

/// The linear analysis of a whole graph.
#[derive(Clone, Debug)]
pub struct LinearAnalysis {
    /// The map of every tensor (materialized tensors map to themselves).
    pub maps: Vec<Arc<SparseMap>>,
}

impl LinearAnalysis {
    /// Composes all linear ops of `graph`.
    pub fn new(graph: &Graph) -> Result<Self, CircuitError> {
        let mut maps: Vec<Option<Arc<SparseMap>>> = vec![None; graph.tensors.len()];
        for node in &graph.nodes {
            let n_out: usize = graph.info(node.output).shape.iter().product();
            let get = |t: TensorId| maps[t.0].clone().ok_or_else(|| CircuitError::Internal(format!("tensor {} not analysed", t.0)));
            let map = if !is_linear(&node.op) {
                SparseMap::identity(node.output, n_out)
            } else {
                let out_shape = graph.info(node.output).shape.clone();
                let in_shape = |k: usize| graph.info(node.inputs[k]).shape.clone();
                match &node.op {
                    Op::Const(t) => SparseMap::constant(t),
                    Op::Cast | Op::Reshape(_) => (*get(node.inputs[0])?).clone(),
                    Op::Transpose(perm) => {
                        let src = get(node.inputs[0])?;
                        let st = strides_of(&in_shape(0));
                        let mut picks = Vec::with_capacity(n_out);
                        for_each_index(&out_shape, |idx| picks.push(Some(idx.iter().enumerate().map(|(k, &i)| i * st[perm[k]]).sum())));
                        src.select(&picks, 0)
                    }
                    Op::Slice { axis, start, step, .. } => {
                        let src = get(node.inputs[0])?;
                        let st = strides_of(&in_shape(0));
                        let mut picks = Vec::with_capacity(n_out);
                        for_each_index(&out_shape, |idx| {
                            picks.push(Some(idx.iter().enumerate().map(|(k, &i)| if k == *axis { (start + i * step) * st[k] } else { i * st[k] }).sum()))
                        });
                        src.select(&picks, 0)
                    }
                    Op::Gather { axis, indices } => {
                        let src = get(node.inputs[0])?;
                        let ish = in_shape(0);
                        let st = strides_of(&ish);
                        let ir = indices.shape.len();
                        let mut picks = Vec::with_capacity(n_out);
                        let ist = strides_of(&indices.shape);
                        for_each_index(&out_shape, |idx| {
                            let gi: usize = idx[*axis..*axis + ir].iter().zip(&ist).map(|(a, b)| a * b).sum();
                            let pos = indices.data[gi] as usize;
                            let mut off = 0;
                            for k in 0..ish.len() {
                                let i = if k < *axis {
                                    idx[k]
                                } else if k == *axis {
                                    pos
                                } else {
                                    idx[k - 1 + ir]
                                };
                                off += i * st[k];
                            }
                            picks.push(Some(off));
                        });
                        src.select(&picks, 0)
                    }
                    Op::Concat { axis } => {
                        // Row-wise stacking of the inputs' maps; constants carry through.
                        let parts: Vec<Arc<SparseMap>> = node.inputs.iter().map(|t| get(*t)).collect::<Result<_, _>>()?;
                        let sources: Vec<TensorId> = parts.iter().filter_map(|p| p.source).collect();
                        if sources.windows(2).any(|w| w[0] != w[1]) {
                            return Err(CircuitError::Unsupported(format!("node {}: Concat of values from different sources", node.name)));
                        }
                        let outer: usize = out_shape[..*axis].iter().product();
                        let inner: usize = out_shape[axis + 1..].iter().product();
                        let mut ptr = vec![0usize];
                        let mut entries = Vec::new();
                        let mut constant = Vec::new();
                        for o in 0..outer {
                            for (p, t) in parts.iter().zip(&node.inputs) {
                                let d = graph.info(*t).shape[*axis];
                                for r in o * d * inner..(o + 1) * d * inner {
                                    entries.extend_from_slice(p.row(r));
                                    constant.push(p.constant[r]);
                                    ptr.push(entries.len());
                                }
                            }
                        }
                        SparseMap { source: sources.first().copied(), ptr, entries, constant }
                    }
                    Op::Pad { pads, mode } => {
                        let src = get(node.inputs[0])?;
                        let ish = in_shape(0);
                        let st = strides_of(&ish);
                        let mut picks = Vec::with_capacity(n_out);
                        let fill = match mode {
                            PadMode::Constant(v) => *v,
                            PadMode::Wrap => 0,
                        };
                        for_each_index(&out_shape, |idx| {
                            let mut off = 0usize;
                            let mut inside = true;
                            for (k, &i) in idx.iter().enumerate() {
                                let s = i as i64 - pads[k].0 as i64;
                                let d = ish[k] as i64;
                                let s = match mode {
                                    PadMode::Wrap => s.rem_euclid(d),
                                    PadMode::Constant(_) if s < 0 || s >= d => {
                                        inside = false;
                                        0
                                    }
                                    PadMode::Constant(_) => s,
                                };
                                off += s as usize * st[k];
                            }
                            picks.push(inside.then_some(off));
                        });
                        src.select(&picks, fill)
                    }
                    Op::EinSum(spec) => {
                        let var: Vec<usize> = (0..node.inputs.len()).filter(|&k| graph.info(node.inputs[k]).konst.is_none()).collect();
                        let [v] = var.as_slice() else {
                            return Err(CircuitError::Unsupported(format!("node {}: EinSum with {} variable operands", node.name, var.len())));
                        };
                        let (v, c) = (*v, 1 - *v);
                        let konst = graph.info(node.inputs[c]).konst.clone().ok_or_else(|| CircuitError::Internal("einsum const".into()))?;
                        let src = get(node.inputs[v])?;
                        let summed = spec.summed();
                        let sum_shape: Vec<usize> = summed.iter().map(|l| spec.sizes[l]).collect();
                        let out_st = spec.letter_strides(&spec.output);
                        let sum_st = spec.letter_strides(&summed);
                        let mut sum_off: Vec<(usize, usize)> = Vec::new();
                        for_each_index(&sum_shape, |idx| {
                            sum_off.push((idx.iter().zip(&sum_st[v]).map(|(i, s)| i * s).sum(), idx.iter().zip(&sum_st[c]).map(|(i, s)| i * s).sum()));
                        });
                        let mut rows: Vec<Vec<(usize, i64)>> = Vec::with_capacity(n_out);
                        for_each_index(&spec.output_shape(), |idx| {
                            let bv: usize = idx.iter().zip(&out_st[v]).map(|(i, s)| i * s).sum();
                            let bc: usize = idx.iter().zip(&out_st[c]).map(|(i, s)| i * s).sum();
                            let mut terms = Vec::new();
                            for &(ov, oc) in &sum_off {
                                let w = konst.data[bc + oc];
                                if w != 0 {
                                    terms.push((bv + ov, w));
                                }
                            }
                            rows.push(terms);
                        });
                        src.combine(&rows)
                    }
                    Op::Conv(conv) => {
                        let src = get(node.inputs[0])?;
                        let ish = in_shape(0);
                        let (n, ci, h, wd) = (ish[0], ish[1], ish[2], ish[3]);
                        let w = &conv.weights;
                        let (co, cig, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
                        let (oh, ow) = (out_shape[2], out_shape[3]);
                        let co_g = co / conv.group;
                        let mut rows = Vec::with_capacity(n_out);
                        for b in 0..n {
                            for o in 0..co {
                                let g = o / co_g;
                                for y in 0..oh {
                                    for x in 0..ow {
                                        let mut terms = Vec::new();
                                        for cc in 0..cig {
                                            let chan = g * cig + cc;
                                            for ky in 0..kh {
                                                let iy = (y * conv.strides[0] + ky * conv.dilations[0]) as i64 - conv.pads[0] as i64;
                                                if iy < 0 || iy >= h as i64 {
                                                    continue;
                                                }
                                                for kx in 0..kw {
                                                    let ix = (x * conv.strides[1] + kx * conv.dilations[1]) as i64 - conv.pads[1] as i64;
                                                    if ix < 0 || ix >= wd as i64 {
                                                        continue;
                                                    }
                                                    let wt = w.data[((o * cig + cc) * kh + ky) * kw + kx];
                                                    if wt != 0 {
                                                        terms.push((((b * ci + chan) * h + iy as usize) * wd + ix as usize, wt));
                                                    }
                                                }
                                            }
                                        }
                                        rows.push(terms);
                                    }
                                }
                            }
                        }
                        let mut m = src.combine(&rows);
                        if let Some(bias) = &conv.bias {
                            let per = oh * ow;
                            for (r, c) in m.constant.iter_mut().enumerate() {
                                *c += bias.data[(r / per) % co];
                            }
                        }
                        m
                    }
                    Op::Add | Op::Sub | Op::Mul => {
                        let a = get(node.inputs[0])?;
                        let b = get(node.inputs[1])?;
                        let sa = broadcast_strides(&in_shape(0), &out_shape);
                        let sb = broadcast_strides(&in_shape(1), &out_shape);
                        let _ = broadcast_shape(&in_shape(0), &in_shape(1));
                        let mut ra = Vec::with_capacity(n_out);
                        let mut rb = Vec::with_capacity(n_out);
                        for_each_index(&out_shape, |idx| {
                            ra.push(idx.iter().zip(&sa).map(|(i, s)| i * s).sum::<usize>());
                            rb.push(idx.iter().zip(&sb).map(|(i, s)| i * s).sum::<usize>());
                        });
                        match node.op {
                            Op::Mul => {
                                let (var, konst, rv, rk) = if a.source.is_none() { (b, a, rb, ra) } else { (a, b, ra, rb) };
                                if konst.source.is_some() {
                                    return Err(CircuitError::Unsupported(format!("node {}: Mul of two variable tensors", node.name)));
                                }
                                let rows: Vec<Vec<(usize, i64)>> = rv.iter().zip(&rk).map(|(&r, &k)| vec![(r, konst.constant[k])]).collect();
                                var.combine(&rows)
                            }
                            _ => {
                                let sign = if matches!(node.op, Op::Sub) { -1 } else { 1 };
                                add_maps(&a, &b, &ra, &rb, sign)
                                    .ok_or_else(|| CircuitError::Unsupported(format!("node {}: sum of values from different sources", node.name)))?
                            }
                        }
                    }
                    Op::ReduceSum { axes, .. } => {
                        let src = get(node.inputs[0])?;
                        let ish = in_shape(0);
                        let kept: Vec<usize> = ish.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
                        let ks = strides_of(&kept);
                        let mut rows: Vec<Vec<(usize, i64)>> = vec![Vec::new(); n_out];
                        let mut k = 0usize;
                        for_each_index(&ish, |idx| {
                            let off: usize = idx.iter().enumerate().map(|(i, &v)| if axes.contains(&i) { 0 } else { v * ks[i] }).sum();
                            rows[off].push((k, 1));
                            k += 1;
                        });
                        src.combine(&rows)
                    }
                    Op::Input(_) | Op::Max | Op::Min | Op::Requant(_) => unreachable_identity(node.output, n_out),
                }
            };
            maps[node.output.0] = Some(Arc::new(map));
        }
        let maps =
            maps.into_iter().enumerate().map(|(i, m)| m.ok_or_else(|| CircuitError::Internal(format!("tensor {i} has no map")))).collect::<Result<_, _>>()?;
        Ok(Self { maps })
    }

    /// The map of a tensor.
    pub fn map(&self, t: TensorId) -> &Arc<SparseMap> {
        &self.maps[t.0]
    }
}

fn unreachable_identity(t: TensorId, n: usize) -> SparseMap {
    SparseMap::identity(t, n)
}

fn add_maps(a: &SparseMap, b: &SparseMap, ra: &[usize], rb: &[usize], sign: i64) -> Option<SparseMap> {
    let source = match (a.source, b.source) {
        (Some(x), Some(y)) if x != y => return None,
        (x, y) => x.or(y),
    };
    let mut ptr = vec![0usize];
    let mut entries = Vec::new();
    let mut constant = Vec::with_capacity(ra.len());
    for (&i, &j) in ra.iter().zip(rb) {
        let mut row: Vec<(u32, i64)> = a.row(i).to_vec();
        row.extend(b.row(j).iter().map(|&(k, w)| (k, sign * w)));
        row.sort_unstable_by_key(|e| e.0);
        let mut merged: Vec<(u32, i64)> = Vec::with_capacity(row.len());
        for e in row {
            match merged.last_mut() {
                Some(l) if l.0 == e.0 => l.1 += e.1,
                _ => merged.push(e),
            }
        }
        entries.extend(merged.into_iter().filter(|e| e.1 != 0));
        constant.push(a.constant[i] + sign * b.constant[j]);
        ptr.push(entries.len());
    }
    Some(SparseMap { source, ptr, entries, constant })
}

/// How a sliding-window map treats positions beyond the ends of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Positions wrap around (columns of a polar iris image).
    Circular,
    /// Positions outside the chain read zero.
    Zero,
}

/// A linear map with convolution (Toeplitz) structure.
///
/// The source is viewed as `chains × width` (its last axis slides), the target as
/// `segments × outputs`. Output `j` of segment `s` is
/// `Σ_c Σ_u k_{s,c}[u] · a_c[stride·j + u + offset]` where `a_c` is chain `c` padded by
/// `pad_lo`/`pad_hi` elements (wrapped or zero) and `k_{s,c}` is one of [`ConvPlan::kernels`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvPlan {
    /// Source tensor.
    pub source: TensorId,
    /// Number of source chains.
    pub chains: usize,
    /// Elements per chain.
    pub width: usize,
    /// Number of target segments.
    pub segments: usize,
    /// Outputs per segment.
    pub outputs: usize,
    /// Step between consecutive outputs along the chain.
    pub stride: usize,
    /// Boundary mode.
    pub boundary: Boundary,
    /// Elements added before each chain.
    pub pad_lo: usize,
    /// Elements added after each chain.
    pub pad_hi: usize,
    /// Kernel width (taps per (segment, chain)).
    pub taps: usize,
    /// `u = 0` reads padded position `stride·j + offset`.
    pub offset: usize,
    /// Distinct kernels, each `taps` long.
    pub kernels: Vec<Vec<i64>>,
    /// `(segment, chain, kernel)` for every nonzero block, sorted by segment then chain.
    pub blocks: Vec<(usize, usize, usize)>,
    /// Constant term of every target element (row-major `segments × outputs`).
    pub constant: Vec<i64>,
}

impl ConvPlan {
    /// Length of a padded chain.
    pub fn padded_width(&self) -> usize {
        self.width + self.pad_lo + self.pad_hi
    }

    /// Coefficients of a segment's product polynomial.
    pub fn segment_len(&self) -> usize {
        self.padded_width() + self.taps - 1
    }

    /// Position of output `j` in a segment's coefficients stored highest degree first.
    pub fn output_position(&self, j: usize) -> usize {
        self.taps - 1 + self.offset + self.stride * j
    }

    /// Evaluates the plan natively on chains (for tests): `out[s*outputs + j]`.
    pub fn eval(&self, src: &[i64]) -> Vec<i64> {
        let pw = self.padded_width();
        let padded: Vec<Vec<i64>> = (0..self.chains)
            .map(|c| {
                (0..pw)
                    .map(|p| {
                        let q = p as i64 - self.pad_lo as i64;
                        match self.boundary {
                            Boundary::Circular => src[c * self.width + q.rem_euclid(self.width as i64) as usize],
                            Boundary::Zero if q < 0 || q >= self.width as i64 => 0,
                            Boundary::Zero => src[c * self.width + q as usize],
                        }
                    })
                    .collect()
            })
            .collect();
        let mut out = self.constant.clone();
        for &(s, c, k) in &self.blocks {
            for j in 0..self.outputs {
                let base = self.stride * j + self.offset;
                out[s * self.outputs + j] += self.kernels[k].iter().enumerate().map(|(u, w)| w * padded[c][base + u]).sum::<i64>();
            }
        }
        out
    }
}

/// Detects sliding-window structure in `map` (target of shape `target_shape`, source of shape
/// `source_shape`). Returns `None` if the map is not a convolution along the last axes.
pub fn detect_conv(map: &SparseMap, source_shape: &[usize], target_shape: &[usize]) -> Option<ConvPlan> {
    let source = map.source?;
    let width = *source_shape.last()?;
    let chains = source_shape.iter().product::<usize>() / width.max(1);
    let outputs = *target_shape.last()?;
    let segments = target_shape.iter().product::<usize>() / outputs.max(1);
    if outputs < 2 || width < 2 {
        return None;
    }
    // Stride from segment 0: positions used by output 1 are those of output 0 shifted.
    let pos_set = |r: usize| -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = map.row(r).iter().map(|&(i, _)| (i as usize / width, i as usize % width)).collect();
        v.sort_unstable();
        v
    };
    let seg0 = (0..segments).find(|&s| !map.row(s * outputs).is_empty())?;
    let p0 = pos_set(seg0 * outputs);
    let p1 = pos_set(seg0 * outputs + 1);
    let (c0, q0) = *p0.first()?;
    // Candidate strides: the shift that maps output 0's taps onto output 1's, and (because
    // zero padding clips taps at the edges, so output 0 may read fewer positions) the shifts
    // of the last and the first tap on the first chain. Each candidate is verified exactly.
    let mut candidates: Vec<usize> = Vec::new();
    if let Some(st) = p1.iter().filter(|(c, _)| *c == c0).map(|&(_, q)| (q + width - q0) % width).find(|&st| {
        let mut shifted: Vec<(usize, usize)> = p0.iter().map(|&(c, q)| (c, (q + st) % width)).collect();
        shifted.sort_unstable();
        shifted == p1
    }) {
        candidates.push(st);
    }
    let on_c0 = |p: &[(usize, usize)]| -> Vec<usize> { p.iter().filter(|(c, _)| *c == c0).map(|&(_, q)| q).collect() };
    let (a, b) = (on_c0(&p0), on_c0(&p1));
    if let (Some(&a_max), Some(&b_max), Some(&a_min), Some(&b_min)) = (a.last(), b.last(), a.first(), b.first()) {
        for st in [(b_max + width - a_max) % width, (b_min + width - a_min) % width] {
            if !candidates.contains(&st) {
                candidates.push(st);
            }
        }
    }
    // Both readings can be exact (a circular map is also a wide zero-padded one); keep the
    // one with the fewest taps, since taps drive the cost.
    candidates.into_iter().filter(|&st| st > 0).find_map(|stride| {
        [Boundary::Zero, Boundary::Circular]
            .into_iter()
            .filter_map(|b| try_structure(map, source, chains, width, segments, outputs, stride, b))
            .min_by_key(|p| (p.taps, p.padded_width()))
    })
}

#[allow(clippy::too_many_arguments)]
fn try_structure(
    map: &SparseMap,
    source: TensorId,
    chains: usize,
    width: usize,
    segments: usize,
    outputs: usize,
    stride: usize,
    boundary: Boundary,
) -> Option<ConvPlan> {
    // Offsets δ = position − stride·j (wrapped to (−width/2, width/2] when circular).
    let delta = |q: usize, j: usize| -> i64 {
        let d = q as i64 - (stride * j) as i64;
        match boundary {
            Boundary::Zero => d,
            Boundary::Circular => {
                let w = width as i64;
                let m = d.rem_euclid(w);
                if m > w / 2 {
                    m - w
                } else {
                    m
                }
            }
        }
    };
    let mut blocks: HashMap<(usize, usize), HashMap<i64, i64>> = HashMap::new();
    let (mut dmin, mut dmax) = (i64::MAX, i64::MIN);
    for s in 0..segments {
        for j in 0..outputs {
            for &(i, w) in map.row(s * outputs + j) {
                let (c, q) = (i as usize / width, i as usize % width);
                let d = delta(q, j);
                let k = blocks.entry((s, c)).or_default();
                match k.get(&d) {
                    Some(&prev) if prev != w => return None,
                    _ => {
                        k.insert(d, w);
                    }
                }
                dmin = dmin.min(d);
                dmax = dmax.max(d);
            }
        }
    }
    if blocks.is_empty() {
        return None;
    }
    let taps = (dmax - dmin + 1) as usize;
    // Padding so every output reads inside the padded chain, rounded up to whole quads.
    let need_lo = (-dmin).max(0) as usize;
    let need_hi = ((stride * (outputs - 1)) as i64 + dmax - (width as i64 - 1)).max(0) as usize;
    let round4 = |v: usize| v.div_ceil(4) * 4;
    let pad_lo = round4(need_lo);
    let pad_hi = round4(need_hi + (4 - width % 4) % 4) - (4 - width % 4) % 4;
    if boundary == Boundary::Circular && (pad_lo > width || pad_hi > width) {
        return None;
    }
    let offset = (pad_lo as i64 + dmin) as usize;
    // Verify: every (s, c) block reproduces the map exactly (including zero taps at edges).
    let mut kernels: Vec<Vec<i64>> = Vec::new();
    let mut kernel_ids: HashMap<Vec<i64>, usize> = HashMap::new();
    let mut block_list: Vec<(usize, usize, usize)> = Vec::new();
    let mut keys: Vec<&(usize, usize)> = blocks.keys().collect();
    keys.sort_unstable();
    for key in keys {
        let taps_map = &blocks[key];
        let mut k = vec![0i64; taps];
        for (&d, &w) in taps_map {
            k[(d - dmin) as usize] = w;
        }
        let id = *kernel_ids.entry(k.clone()).or_insert_with(|| {
            kernels.push(k);
            kernels.len() - 1
        });
        block_list.push((key.0, key.1, id));
    }
    let plan = ConvPlan {
        source,
        chains,
        width,
        segments,
        outputs,
        stride,
        boundary,
        pad_lo,
        pad_hi,
        taps,
        offset,
        kernels,
        blocks: block_list,
        constant: map.constant.clone(),
    };
    // Exact check on the structure: every target element's (source index, weight) entries,
    // as the plan computes it, equal the map's, entry by entry. (A comparison on one probe
    // vector could let two differences cancel; this cannot.)
    plan.matches(map).then_some(plan)
}

/// `entries` sorted by source index, duplicates summed, zero weights dropped.
fn canonical(entries: &mut Vec<(u32, i64)>) {
    entries.sort_unstable_by_key(|e| e.0);
    let mut out = 0;
    for k in 0..entries.len() {
        let e = entries[k];
        if out > 0 && entries[out - 1].0 == e.0 {
            entries[out - 1].1 += e.1;
        } else {
            entries[out] = e;
            out += 1;
        }
    }
    entries.truncate(out);
    entries.retain(|e| e.1 != 0);
}

impl ConvPlan {
    /// The `(source flat index, weight)` entries of target element `s·outputs + j` that the
    /// plan proves, in canonical form (sorted, merged, no zero weights); zero-padding taps
    /// read nothing.
    pub fn row_entries(&self, s: usize, j: usize, out: &mut Vec<(u32, i64)>) {
        out.clear();
        let first = self.blocks.partition_point(|b| b.0 < s);
        for &(_, c, k) in self.blocks[first..].iter().take_while(|b| b.0 == s) {
            let base = (self.stride * j + self.offset) as i64 - self.pad_lo as i64;
            for (u, &w) in self.kernels[k].iter().enumerate() {
                let q = base + u as i64;
                let q = match self.boundary {
                    Boundary::Circular => q.rem_euclid(self.width as i64),
                    Boundary::Zero if q < 0 || q >= self.width as i64 => continue,
                    Boundary::Zero => q,
                };
                out.push(((c * self.width) as u32 + q as u32, w));
            }
        }
        canonical(out);
    }

    /// Whether the plan is exactly `map`: the same source, constants and, for every target
    /// element, the same entries.
    pub fn matches(&self, map: &SparseMap) -> bool {
        if map.source != Some(self.source) || map.constant != self.constant || map.rows() != self.segments * self.outputs {
            return false;
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        (0..self.segments).all(|s| {
            (0..self.outputs).all(|j| {
                self.row_entries(s, j, &mut ours);
                theirs.clear();
                theirs.extend_from_slice(map.row(s * self.outputs + j));
                canonical(&mut theirs);
                ours == theirs
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv_map(width: usize, stride: usize, outputs: usize, kernel: &[i64], circular: bool) -> SparseMap {
        let src = SparseMap::identity(TensorId(0), width);
        let half = (kernel.len() / 2) as i64;
        let rows: Vec<Vec<(usize, i64)>> = (0..outputs)
            .map(|j| {
                kernel
                    .iter()
                    .enumerate()
                    .filter_map(|(u, &w)| {
                        let q = (stride * j) as i64 + u as i64 - if circular { half } else { 0 };
                        let q = if circular { q.rem_euclid(width as i64) } else { q };
                        (q >= 0 && (q as usize) < width && w != 0).then_some((q as usize, w))
                    })
                    .collect()
            })
            .collect();
        src.combine(&rows)
    }

    /// `map` with row `r` given two extra entries `(a, wa)` and `(b, wb)`.
    fn with_extra(map: &SparseMap, r: usize, extra: [(u32, i64); 2]) -> SparseMap {
        let rows: Vec<Vec<(u32, i64)>> =
            (0..map.rows()).map(|i| map.row(i).iter().copied().chain(if i == r { extra.to_vec() } else { vec![] }).collect()).collect();
        let mut ptr = vec![0];
        let mut entries = Vec::new();
        for row in rows {
            entries.extend(row);
            ptr.push(entries.len());
        }
        SparseMap { source: map.source, ptr, entries, constant: map.constant.clone() }
    }

    #[test]
    fn a_plan_is_compared_with_its_map_entry_by_entry() {
        let m = conv_map(32, 4, 8, &[1, -2, 3, 5, -7], true);
        let p = detect_conv(&m, &[32], &[8]).expect("structure");
        assert!(p.matches(&m));
        // Two extra taps on row 3 that cancel on the probe vector the planner once used
        // (x_i = 7919·i mod 65521 + 1): a probe comparison accepts the wrong plan, the
        // entry-by-entry comparison does not.
        let probe: Vec<i64> = (0..32).map(|i| ((i as i64 * 7919) % 65521) + 1).collect();
        let (a, b) = (20u32, 27u32);
        let forged = with_extra(&m, 3, [(a, probe[b as usize]), (b, -probe[a as usize])]);
        assert_eq!(p.eval(&probe), forged.eval(&probe), "the forged map agrees on the probe");
        assert!(!p.matches(&forged), "a map with two extra taps matched the plan");
        assert!(detect_conv(&forged, &[32], &[8]).is_none_or(|q| q.matches(&forged) && q != p));
        // A zero-weight extra entry and a split weight are the same map.
        let same = with_extra(&m, 3, [(a, 0), (b, 0)]);
        assert!(p.matches(&same));
    }

    #[test]
    fn detects_circular_strided_convolution() {
        let m = conv_map(32, 4, 8, &[1, -2, 3, 5, -7], true);
        let p = detect_conv(&m, &[32], &[8]).expect("structure");
        assert_eq!((p.stride, p.boundary, p.taps), (4, Boundary::Circular, 5));
        let x: Vec<i64> = (0..32).map(|i| (i * i) % 17 - 8).collect();
        assert_eq!(p.eval(&x), m.eval(&x));
    }

    #[test]
    fn detects_valid_convolution() {
        let m = conv_map(30, 3, 8, &[2, 0, -1, 4], false);
        let p = detect_conv(&m, &[30], &[8]).expect("structure");
        assert_eq!((p.stride, p.boundary), (3, Boundary::Zero));
        let x: Vec<i64> = (0..30).map(|i| 3 * i - 40).collect();
        assert_eq!(p.eval(&x), m.eval(&x));
    }

    #[test]
    fn detects_zero_padded_convolution_with_clipped_first_output() {
        // Pool 2 then conv 3/2 with padding 1: output j reads 4j−2 .. 4j+3; output 0 has only
        // 4 taps inside the chain, so its tap set is not a shift of output 1's.
        let kernel = [3i64, -1, 2, 5, -4, 1];
        let src = SparseMap::identity(TensorId(0), 32);
        let rows: Vec<Vec<(usize, i64)>> = (0..8)
            .map(|j| {
                kernel.iter().enumerate().filter_map(|(u, &w)| usize::try_from(4 * j as i64 - 2 + u as i64).ok().filter(|&q| q < 32).map(|q| (q, w))).collect()
            })
            .collect();
        let m = src.combine(&rows);
        let p = detect_conv(&m, &[32], &[8]).expect("structure");
        assert_eq!((p.stride, p.boundary, p.taps), (4, Boundary::Zero, 6));
        let x: Vec<i64> = (0..32).map(|i| (i * 5) % 13 - 6).collect();
        assert_eq!(p.eval(&x), m.eval(&x));
    }

    #[test]
    fn rejects_unstructured_maps() {
        // A dense random matrix has no sliding structure.
        let src = SparseMap::identity(TensorId(0), 16);
        let rows: Vec<Vec<(usize, i64)>> = (0..8).map(|j| (0..16).map(|i| (i, ((i * 31 + j * 17) % 13) as i64 + 1)).collect()).collect();
        let m = src.combine(&rows);
        assert!(detect_conv(&m, &[16], &[8]).is_none());
    }
}
