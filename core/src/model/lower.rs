//! Lowering a decluttered tract graph to the exact integer IR, node by node.
//!
//! Integer models (the Gabor iris encoders) lower one-to-one. Float-weight models are turned
//! into fixed point on the way (see [`super::quant`]): float constants are rounded to
//! `2^weight_bits`, linear ops add their operand scales, and an explicit rounding
//! [`Op::Requant`] brings an activation back to `2^act_bits` before it feeds the next linear
//! op. Every op outside the allowlist is refused with [`ModelError::UnsupportedOp`] naming
//! the node.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Gather, Pad, PadMode as TractPadMode, Slice, TypedConcat};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, SumPool};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::nn::{DataFormat, Reduce, Reducer};
use tract_onnx::tract_core::ops::source::TypedSource;

use super::error::ModelError;
use super::ir::{Bound, Conv2d, EinsumSpec, Graph, GraphInput, GraphOutput, IntTensor, Node, Op, PadMode, Requant, TensorId};
use super::onnx::TypedGraph;
use super::quant::{quantize, QuantConfig};

/// How to interpret a model input when lowering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputBinding {
    /// Input name (must match the ONNX input).
    pub name: String,
    /// Accepted integer range of the input.
    pub range: Bound,
    /// Fixed-point exponent of the integer input: a float model sees `int / 2^scale_bits`.
    pub scale_bits: i32,
}

/// A lowered value during lowering: an IR tensor, or a float constant waiting to be
/// quantised at the scale its consumer needs.
#[derive(Clone, Debug)]
enum Val {
    Int(TensorId),
    Float { shape: Vec<usize>, data: Arc<Vec<f64>> },
}

struct Lowerer<'a> {
    model: &'a TypedGraph,
    g: Graph,
    vals: HashMap<OutletId, Val>,
    quant: QuantConfig,
}

fn shape_of(model: &TypedGraph, outlet: OutletId, node: &str) -> Result<Vec<usize>, ModelError> {
    let fact = model.outlet_fact(outlet).map_err(|e| ModelError::OnnxParse(e.to_string()))?;
    fact.shape.as_concrete().map(|s| s.to_vec()).ok_or_else(|| ModelError::ManifestMismatch(format!("node {node:?} has a symbolic shape; pin the inputs")))
}

fn tensor_to_int(t: &Tensor, node: &str) -> Result<IntTensor, ModelError> {
    let dt = t.datum_type();
    if !(dt.is_integer() || dt == bool::datum_type()) {
        return Err(ModelError::UnsupportedDtype { node: node.to_string(), dtype: format!("{dt:?}") });
    }
    let c = t.cast_to::<i64>().map_err(|e| ModelError::OnnxParse(e.to_string()))?;
    let data = c.to_plain_array_view::<i64>().map_err(|e| ModelError::OnnxParse(e.to_string()))?.iter().copied().collect();
    Ok(IntTensor::new(t.shape().to_vec(), data))
}

fn tensor_to_f64(t: &Tensor, node: &str) -> Result<Vec<f64>, ModelError> {
    let c = t.cast_to::<f64>().map_err(|_| ModelError::UnsupportedDtype { node: node.to_string(), dtype: format!("{:?}", t.datum_type()) })?;
    Ok(c.to_plain_array_view::<f64>().map_err(|e| ModelError::OnnxParse(e.to_string()))?.iter().copied().collect())
}

fn unsupported(node: &str, what: impl Into<String>) -> ModelError {
    ModelError::UnsupportedOp { node: node.to_string(), op: what.into() }
}

impl<'a> Lowerer<'a> {
    fn push(&mut self, name: &str, op: Op, inputs: Vec<TensorId>, shape: Vec<usize>, scale_bits: i32) -> TensorId {
        let konst = match &op {
            Op::Const(t) => Some(t.clone()),
            _ => None,
        };
        let out = self.g.add_tensor(shape, scale_bits, konst);
        self.g.nodes.push(Node { name: name.to_string(), op, inputs, output: out });
        out
    }

    fn scale(&self, t: TensorId) -> i32 {
        self.g.info(t).scale_bits
    }

    fn is_const(&self, t: TensorId) -> bool {
        self.g.info(t).konst.is_some()
    }

    /// Materializes a value as an IR tensor; float constants are quantised at `scale_bits`.
    fn int_at(&mut self, v: &Val, scale_bits: i32, name: &str) -> TensorId {
        match v {
            Val::Int(t) => *t,
            Val::Float { shape, data } => {
                let q = IntTensor::new(shape.clone(), data.iter().map(|&x| quantize(x, scale_bits)).collect());
                self.push(&format!("{name}.q{scale_bits}"), Op::Const(Arc::new(q)), vec![], shape.clone(), scale_bits)
            }
        }
    }

    /// Brings a variable tensor to at most `act_bits` with a rounding requant, if needed.
    fn requant_to_act(&mut self, t: TensorId, name: &str) -> TensorId {
        let s = self.scale(t);
        if self.is_const(t) || s <= self.quant.act_bits {
            return t;
        }
        let shift = (s - self.quant.act_bits) as u32;
        let shape = self.g.info(t).shape.clone();
        self.push(&format!("{name}.requant"), Op::Requant(Requant { shift }), vec![t], shape, self.quant.act_bits)
    }

    /// Multiplies by `2^bits` (exact) to raise a tensor's scale.
    fn upscale(&mut self, t: TensorId, bits: i32, name: &str) -> TensorId {
        if bits == 0 {
            return t;
        }
        let k = self.push(&format!("{name}.pow2"), Op::Const(Arc::new(IntTensor::new(vec![], vec![1i64 << bits]))), vec![], vec![], 0);
        let shape = self.g.info(t).shape.clone();
        let s = self.scale(t) + bits;
        self.push(&format!("{name}.upscale"), Op::Mul, vec![t, k], shape, s)
    }

    fn input_val(&self, node: &TypedNode, i: usize) -> Result<Val, ModelError> {
        self.vals.get(&node.inputs[i]).cloned().ok_or_else(|| ModelError::Internal(format!("node {} input {i} not lowered", node.name)))
    }

    fn lower_node(&mut self, id: usize, bindings: &[InputBinding]) -> Result<(), ModelError> {
        let model = self.model;
        let node = model.node(id);
        let name = node.name.as_str();
        let out_outlet = OutletId::new(id, 0);
        let out_shape = shape_of(model, out_outlet, name)?;
        let op = &node.op;

        // Constants: integers become IR constants, floats wait for their consumer.
        if let Some(k) = op.downcast_ref::<Const>() {
            let t = k.val();
            let v = if t.datum_type().is_float() {
                Val::Float { shape: t.shape().to_vec(), data: Arc::new(tensor_to_f64(t, name)?) }
            } else {
                let it = tensor_to_int(t, name)?;
                Val::Int(self.push(name, Op::Const(Arc::new(it)), vec![], out_shape, 0))
            };
            self.vals.insert(out_outlet, v);
            return Ok(());
        }
        if op.downcast_ref::<TypedSource>().is_some() {
            let pos = model
                .input_outlets()
                .map_err(|e| ModelError::OnnxParse(e.to_string()))?
                .iter()
                .position(|o| o.node == id)
                .ok_or_else(|| ModelError::Internal(format!("source {name} is not an input")))?;
            let b = bindings.get(pos).ok_or_else(|| ModelError::ManifestMismatch(format!("no binding for ONNX input {name:?}")))?;
            if b.name != name {
                return Err(ModelError::ManifestMismatch(format!("ONNX input {pos} is {name:?}, expected {:?}", b.name)));
            }
            let t = self.push(name, Op::Input(pos), vec![], out_shape.clone(), b.scale_bits);
            self.g.inputs.push(GraphInput { name: name.to_string(), shape: out_shape, range: b.range, scale_bits: b.scale_bits, tensor: t });
            self.vals.insert(out_outlet, Val::Int(t));
            return Ok(());
        }

        let ins: Vec<Val> = (0..node.inputs.len()).map(|i| self.input_val(node, i)).collect::<Result<_, _>>()?;
        // An op whose inputs are all float constants folds to a float constant.
        if !ins.is_empty() && ins.iter().all(|v| matches!(v, Val::Float { .. })) {
            if let Some(t) = model.outlet_fact(out_outlet).ok().and_then(|f| f.konst.clone()) {
                self.vals.insert(out_outlet, Val::Float { shape: t.shape().to_vec(), data: Arc::new(tensor_to_f64(&t, name)?) });
                return Ok(());
            }
        }

        let out = if let Some(c) = op.downcast_ref::<Cast>() {
            let x = self.int_at(&ins[0], 0, name);
            let in_float = model.outlet_fact(node.inputs[0]).map(|f| f.datum_type.is_float()).unwrap_or(false);
            if c.to.is_float() || c.to.is_integer() || c.to == bool::datum_type() {
                if in_float && !c.to.is_float() && self.scale(x) != 0 {
                    return Err(unsupported(name, "Cast from a fixed-point float to an integer"));
                }
                let s = self.scale(x);
                self.push(name, Op::Cast, vec![x], out_shape, s)
            } else {
                return Err(ModelError::UnsupportedDtype { node: name.to_string(), dtype: format!("{:?}", c.to) });
            }
        } else if let Some(c) = op.downcast_ref::<TypedConcat>() {
            // Align scales: the largest wins, others are multiplied up (exact).
            let ints: Vec<TensorId> = ins.iter().map(|v| self.int_at(v, self.quant.act_bits, name)).collect();
            let s = ints.iter().map(|t| self.scale(*t)).max().unwrap_or(0);
            let aligned: Vec<TensorId> = ints
                .iter()
                .map(|&t| {
                    let d = s - self.scale(t);
                    self.upscale(t, d, name)
                })
                .collect();
            self.push(name, Op::Concat { axis: c.axis }, aligned, out_shape, s)
        } else if let Some(gth) = op.downcast_ref::<Gather>() {
            let data = self.int_at(&ins[0], self.quant.act_bits, name);
            let idx = match &ins[1] {
                Val::Int(t) => self.g.info(*t).konst.clone().ok_or_else(|| unsupported(name, "Gather with non-constant indices"))?,
                Val::Float { .. } => return Err(unsupported(name, "Gather with float indices")),
            };
            let dim = self.g.info(data).shape[gth.axis] as i64;
            let norm: Vec<i64> = idx
                .data
                .iter()
                .map(|&i| if i < 0 { i + dim } else { i })
                .map(|i| if (0..dim).contains(&i) { Ok(i) } else { Err(unsupported(name, "Gather index out of range")) })
                .collect::<Result<_, _>>()?;
            let s = self.scale(data);
            self.push(name, Op::Gather { axis: gth.axis, indices: Arc::new(IntTensor::new(idx.shape.clone(), norm)) }, vec![data], out_shape, s)
        } else if let Some(e) = op.downcast_ref::<EinSum>() {
            if e.q_params.is_some() {
                return Err(unsupported(name, "quantized EinSum"));
            }
            let expr = format!("{}", e.axes);
            // Variable operands are requantised to act_bits first; float constants become weights.
            let mut ids = Vec::new();
            for v in &ins {
                let t = match v {
                    Val::Float { .. } => self.int_at(v, self.quant.weight_bits, name),
                    Val::Int(t) => self.requant_to_act(*t, name),
                };
                ids.push(t);
            }
            if ids.iter().filter(|t| !self.is_const(**t)).count() > 1 {
                return Err(unsupported(name, "EinSum of two non-constant tensors"));
            }
            let s: i32 = ids.iter().map(|t| self.scale(*t)).sum();
            let shapes: Vec<Vec<usize>> = ids.iter().map(|t| self.g.info(*t).shape.clone()).collect();
            let spec = EinsumSpec::parse(&expr, &shapes)?;
            if spec.output_shape() != out_shape {
                return Err(unsupported(name, "EinSum whose equation does not give tract's output shape"));
            }
            self.push(name, Op::EinSum(spec), ids, out_shape, s)
        } else if let Some(a) = op.downcast_ref::<AxisOp>() {
            let x = self.int_at(&ins[0], self.quant.act_bits, name);
            let s = self.scale(x);
            match a {
                AxisOp::Move(from, to) => {
                    let rank = out_shape.len();
                    let mut perm: Vec<usize> = (0..rank).collect();
                    let moved = perm.remove(*from);
                    perm.insert(*to, moved);
                    self.push(name, Op::Transpose(perm), vec![x], out_shape, s)
                }
                _ => self.push(name, Op::Reshape(out_shape.clone()), vec![x], out_shape, s),
            }
        } else if let Some(sl) = op.downcast_ref::<Slice>() {
            let x = self.int_at(&ins[0], self.quant.act_bits, name);
            let (start, end) = (sl.start.to_i64(), sl.end.to_i64());
            let (Ok(start), Ok(end)) = (start, end) else { return Err(unsupported(name, "Slice with symbolic bounds")) };
            let s = self.scale(x);
            self.push(name, Op::Slice { axis: sl.axis, start: start as usize, end: end as usize, step: 1 }, vec![x], out_shape, s)
        } else if let Some(p) = op.downcast_ref::<Pad>() {
            let x = self.int_at(&ins[0], self.quant.act_bits, name);
            let s = self.scale(x);
            let mode = match &p.mode {
                TractPadMode::Constant(v) => {
                    let v = if v.datum_type().is_float() {
                        quantize(tensor_to_f64(v, name)?.first().copied().unwrap_or(0.0), s)
                    } else {
                        tensor_to_int(v, name)?.data.first().copied().unwrap_or(0)
                    };
                    PadMode::Constant(v)
                }
                other => return Err(unsupported(name, format!("Pad mode {other:?}"))),
            };
            self.push(name, Op::Pad { pads: p.pads.clone(), mode }, vec![x], out_shape, s)
        } else if let Some(b) = op.downcast_ref::<TypedBinOp>() {
            self.lower_binary(name, b.0.name(), &ins, out_shape)?
        } else if let Some(c) = op.downcast_ref::<Conv>() {
            self.lower_conv(name, c, &ins, out_shape)?
        } else if let Some(r) = op.downcast_ref::<Reduce>() {
            if r.reducer != Reducer::Sum {
                return Err(unsupported(name, format!("Reduce {:?}", r.reducer)));
            }
            let x = self.int_at(&ins[0], self.quant.act_bits, name);
            let s = self.scale(x);
            self.push(name, Op::ReduceSum { axes: r.axes.to_vec(), keep_dims: true }, vec![x], out_shape, s)
        } else if let Some(p) = op.downcast_ref::<SumPool>() {
            self.lower_sumpool(name, p, &ins, out_shape)?
        } else {
            return Err(unsupported(name, op.name().to_string()));
        };
        self.vals.insert(out_outlet, Val::Int(out));
        Ok(())
    }

    fn lower_binary(&mut self, name: &str, kind: &str, ins: &[Val], out_shape: Vec<usize>) -> Result<TensorId, ModelError> {
        let op = match kind {
            "Add" => Op::Add,
            "Sub" => Op::Sub,
            "Mul" => Op::Mul,
            "Max" => Op::Max,
            "Min" => Op::Min,
            other => return Err(unsupported(name, other.to_string())),
        };
        let (a, b) = (&ins[0], &ins[1]);
        let (ta, tb) = match (a, b) {
            (Val::Int(x), Val::Int(y)) => (*x, *y),
            // A float constant takes the other side's scale (Add/Sub/Max/Min) or becomes a
            // weight (Mul).
            (Val::Int(x), f @ Val::Float { .. }) => {
                let s = if matches!(op, Op::Mul) { self.quant.weight_bits } else { self.scale(*x) };
                let x = if matches!(op, Op::Mul) { self.requant_to_act(*x, name) } else { *x };
                (x, self.int_at(f, s, name))
            }
            (f @ Val::Float { .. }, Val::Int(y)) => {
                let s = if matches!(op, Op::Mul) { self.quant.weight_bits } else { self.scale(*y) };
                let y = if matches!(op, Op::Mul) { self.requant_to_act(*y, name) } else { *y };
                (self.int_at(f, s, name), y)
            }
            _ => return Err(ModelError::Internal("binary op on two float constants".into())),
        };
        let (sa, sb) = (self.scale(ta), self.scale(tb));
        Ok(match op {
            Op::Mul => {
                if !self.is_const(ta) && !self.is_const(tb) {
                    return Err(unsupported(name, "Mul of two non-constant tensors"));
                }
                self.push(name, op, vec![ta, tb], out_shape, sa + sb)
            }
            _ => {
                let s = sa.max(sb);
                let ta = self.upscale(ta, s - sa, name);
                let tb = self.upscale(tb, s - sb, name);
                self.push(name, op, vec![ta, tb], out_shape, s)
            }
        })
    }

    fn lower_conv(&mut self, name: &str, c: &Conv, ins: &[Val], out_shape: Vec<usize>) -> Result<TensorId, ModelError> {
        if c.q_params.is_some() {
            return Err(unsupported(name, "quantized Conv"));
        }
        let batchless = c.pool_spec.data_format == DataFormat::CHW;
        if c.kernel_fmt != KernelFormat::OIHW || !(batchless || c.pool_spec.data_format == DataFormat::NCHW) || c.pool_spec.kernel_shape.len() != 2 {
            let found = format!(
                "Conv other than 2-D NCHW/CHW with OIHW weights (found kernel {:?}, data {:?}, {}-D)",
                c.kernel_fmt,
                c.pool_spec.data_format,
                c.pool_spec.kernel_shape.len()
            );
            return Err(unsupported(name, found));
        }
        let x = match &ins[0] {
            Val::Int(t) => self.requant_to_act(*t, name),
            Val::Float { .. } => return Err(unsupported(name, "Conv of a constant input")),
        };
        // tract drops a batch axis of 1 (data format CHW); the IR's Conv always has one.
        let x = if batchless { self.add_batch_axis(x, name) } else { x };
        let w = match &ins[1] {
            Val::Float { shape, data } => IntTensor::new(shape.clone(), data.iter().map(|&v| quantize(v, self.quant.weight_bits)).collect()),
            Val::Int(t) => (*self.g.info(*t).konst.clone().ok_or_else(|| unsupported(name, "Conv with non-constant weights"))?).clone(),
        };
        let w_scale = if matches!(ins[1], Val::Float { .. }) { self.quant.weight_bits } else { 0 };
        let out_scale = self.scale(x) + w_scale;
        let bias = match ins.get(2) {
            None => None,
            Some(Val::Float { shape, data }) => Some(IntTensor::new(vec![shape.iter().product()], data.iter().map(|&v| quantize(v, out_scale)).collect())),
            Some(Val::Int(t)) => {
                let k = self.g.info(*t).konst.clone().ok_or_else(|| unsupported(name, "Conv with non-constant bias"))?;
                Some(IntTensor::new(vec![k.len()], k.data.iter().map(|&v| v << (out_scale - self.g.info(*t).scale_bits).max(0)).collect()))
            }
        };
        let bias = bias.filter(|b| b.data.iter().any(|&v| v != 0)).map(Arc::new);
        let pads = match &c.pool_spec.padding {
            PaddingSpec::Valid => [0; 4],
            PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) if b.len() == 2 && a.len() == 2 => [b[0], b[1], a[0], a[1]],
            other => return Err(unsupported(name, format!("Conv padding {other:?}"))),
        };
        let strides = c.pool_spec.strides.clone().map(|s| [s[0], s[1]]).unwrap_or([1, 1]);
        let dilations = c.pool_spec.dilations.clone().map(|s| [s[0], s[1]]).unwrap_or([1, 1]);
        let conv = Conv2d { weights: Arc::new(w), bias, strides, pads, dilations, group: c.group };
        if batchless {
            let y = self.push(name, Op::Conv(conv), vec![x], [&[1], out_shape.as_slice()].concat(), out_scale);
            return Ok(self.push(&format!("{name}.drop_batch"), Op::Reshape(out_shape.clone()), vec![y], out_shape, out_scale));
        }
        Ok(self.push(name, Op::Conv(conv), vec![x], out_shape, out_scale))
    }

    /// `[C, H, W]` → `[1, C, H, W]` (a reshape, so free in the circuit).
    fn add_batch_axis(&mut self, x: TensorId, name: &str) -> TensorId {
        let shape = [&[1], self.g.info(x).shape.as_slice()].concat();
        let s = self.scale(x);
        self.push(&format!("{name}.add_batch"), Op::Reshape(shape.clone()), vec![x], shape, s)
    }

    /// Average/sum pooling as a depthwise convolution with constant weights.
    fn lower_sumpool(&mut self, name: &str, p: &SumPool, ins: &[Val], out_shape: Vec<usize>) -> Result<TensorId, ModelError> {
        let spec = &p.pool_spec;
        if spec.data_format != DataFormat::NCHW || spec.kernel_shape.len() != 2 || !matches!(spec.padding, PaddingSpec::Valid) {
            return Err(unsupported(name, "pooling other than 2-D NCHW without padding"));
        }
        let x = match &ins[0] {
            Val::Int(t) => *t,
            Val::Float { .. } => return Err(unsupported(name, "pooling a constant")),
        };
        let channels = self.g.info(x).shape[1];
        let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
        let k = kh * kw;
        // A normalised average over a power-of-two window is a sum followed by an exact
        // scale change; other windows use a fixed-point reciprocal weight.
        let (weight, w_scale) = if !p.normalize {
            (1i64, 0)
        } else if k.is_power_of_two() {
            (1i64, k.trailing_zeros() as i32)
        } else {
            (quantize(1.0 / k as f64, self.quant.weight_bits), self.quant.weight_bits)
        };
        let w = IntTensor::new(vec![channels, 1, kh, kw], vec![weight; channels * k]);
        let strides = spec.strides.clone().map(|s| [s[0], s[1]]).unwrap_or([kh, kw]);
        let conv = Conv2d { weights: Arc::new(w), bias: None, strides, pads: [0; 4], dilations: [1, 1], group: channels };
        let s = self.scale(x) + w_scale;
        Ok(self.push(name, Op::Conv(conv), vec![x], out_shape, s))
    }
}

/// Lowers a decluttered tract graph to the IR. `bindings` give each ONNX input (in order)
/// its accepted range and fixed-point scale; `outputs` names the outputs to keep (all model
/// outputs if empty).
pub fn lower(model: &TypedGraph, bindings: &[InputBinding], outputs: &[String], quant: QuantConfig) -> Result<Graph, ModelError> {
    let mut l = Lowerer { model, g: Graph::default(), vals: HashMap::new(), quant };
    // Every declared input first, in ONNX order, even one no output reads (a mask that only the
    // commitment binds): tract's evaluation order leaves unread inputs out.
    let sources: Vec<usize> = model.input_outlets().map_err(|e| ModelError::OnnxParse(e.to_string()))?.iter().map(|o| o.node).collect();
    for &id in &sources {
        l.lower_node(id, bindings)?;
    }
    let order = model.eval_order().map_err(|e| ModelError::OnnxParse(e.to_string()))?;
    for id in order.into_iter().filter(|id| !sources.contains(id)) {
        l.lower_node(id, bindings)?;
    }
    let outlets = model.output_outlets().map_err(|e| ModelError::OnnxParse(e.to_string()))?;
    let labels: Vec<String> =
        outlets.iter().map(|o| model.outlet_label(*o).map(|s| s.to_string()).unwrap_or_else(|| model.node(o.node).name.clone())).collect();
    let wanted: Vec<String> = if outputs.is_empty() { labels.clone() } else { outputs.to_vec() };
    for name in &wanted {
        let k = labels
            .iter()
            .position(|l| l == name)
            .ok_or_else(|| ModelError::ManifestMismatch(format!("ONNX has no output named {name:?} (it has {labels:?})")))?;
        let t = match l.vals.get(&outlets[k]) {
            Some(Val::Int(t)) => *t,
            _ => return Err(ModelError::ManifestMismatch(format!("output {name:?} is a constant"))),
        };
        l.g.outputs.push(GraphOutput { name: name.clone(), tensor: t });
    }
    prune(&mut l.g);
    super::bounds::compute(&mut l.g)?;
    Ok(l.g)
}

/// Removes nodes that no output depends on and renumbers the remaining tensors densely.
fn prune(g: &mut Graph) {
    let mut live = vec![false; g.tensors.len()];
    for o in &g.outputs {
        live[o.tensor.0] = true;
    }
    for i in &g.inputs {
        live[i.tensor.0] = true;
    }
    for n in g.nodes.iter().rev() {
        if live[n.output.0] {
            for t in &n.inputs {
                live[t.0] = true;
            }
        }
    }
    g.nodes.retain(|n| live[n.output.0]);
    let mut remap = vec![usize::MAX; g.tensors.len()];
    let mut tensors = Vec::new();
    for (old, info) in g.tensors.iter().enumerate() {
        if live[old] {
            remap[old] = tensors.len();
            tensors.push(info.clone());
        }
    }
    let map = |t: &mut TensorId| t.0 = remap[t.0];
    for n in &mut g.nodes {
        map(&mut n.output);
        n.inputs.iter_mut().for_each(map);
    }
    g.inputs.iter_mut().for_each(|i| map(&mut i.tensor));
    g.outputs.iter_mut().for_each(|o| map(&mut o.tensor));
    g.tensors = tensors;
}
