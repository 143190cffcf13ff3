//! The exact integer IR.
//!
//! A [`Graph`] is a topologically ordered list of [`Node`]s over integer tensors. Every value is
//! an `i64` with a *proven* bound ([`Bound`], computed by [`super::bounds`]) and a fixed-point
//! `scale_bits` (0 for models that are integer already, like the Gabor iris encoders). The
//! native executor ([`super::exec`]) and the circuit both run this IR, so their results agree
//! by construction.
//!
//! Ops are kept close to ONNX/tract semantics; linear ops with constant operands
//! (`EinSum`, `Conv`, `Gather`, `Concat`, …) are what the circuit turns into cheap structured
//! constraints.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::error::ModelError;

/// Index of a tensor in [`Graph::tensors`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// A dense row-major integer tensor.
#[derive(Clone, PartialEq, Eq)]
pub struct IntTensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values (`len == shape.iter().product()`).
    pub data: Vec<i64>,
}

impl fmt::Debug for IntTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntTensor({:?}, {} values)", self.shape, self.data.len())
    }
}

impl IntTensor {
    /// Wraps data; panics are impossible because callers construct consistent shapes
    /// (checked with `debug_assert`).
    pub fn new(shape: Vec<usize>, data: Vec<i64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row-major strides.
    pub fn strides(&self) -> Vec<usize> {
        strides_of(&self.shape)
    }
}

/// Row-major strides of a shape.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// A parsed Einstein-summation equation bound to operand shapes: the typed payload of
/// [`Op::EinSum`], parsed once when the model is lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumSpec {
    /// The equation as written (`irjk,rkf->fij`), for messages.
    pub expr: String,
    /// Letters of each operand.
    pub operands: Vec<Vec<char>>,
    /// Letters of the output.
    pub output: Vec<char>,
    /// Size of every letter.
    pub sizes: HashMap<char, usize>,
}

impl EinsumSpec {
    /// Parses `expr` (explicit `->` form) against operand shapes.
    pub fn parse(expr: &str, shapes: &[Vec<usize>]) -> Result<Self, ModelError> {
        let bad = |why: &str| ModelError::Internal(format!("einsum {expr:?}: {why}"));
        let (lhs, rhs) = expr.split_once("->").ok_or_else(|| bad("implicit output form is not supported"))?;
        let operands: Vec<Vec<char>> = lhs.split(',').map(|s| s.trim().chars().collect()).collect();
        let output: Vec<char> = rhs.trim().chars().collect();
        if operands.len() != shapes.len() {
            return Err(bad("operand count"));
        }
        let mut sizes = HashMap::new();
        for (letters, shape) in operands.iter().zip(shapes) {
            if letters.len() != shape.len() || letters.iter().any(|c| c.is_whitespace() || *c == '.') {
                return Err(bad("operand rank or letters"));
            }
            for (c, &d) in letters.iter().zip(shape) {
                if *sizes.entry(*c).or_insert(d) != d {
                    return Err(bad("inconsistent sizes"));
                }
            }
        }
        // An output letter no operand carries is a broadcast axis of size 1 (tract emits these).
        for c in &output {
            sizes.entry(*c).or_insert(1);
        }
        Ok(Self { expr: expr.to_string(), operands, output, sizes })
    }

    /// Output shape.
    pub fn output_shape(&self) -> Vec<usize> {
        self.output.iter().map(|c| self.sizes[c]).collect()
    }

    /// Letters summed over (in first-appearance order).
    pub fn summed(&self) -> Vec<char> {
        let mut out = Vec::new();
        for ops in &self.operands {
            for c in ops {
                if !self.output.contains(c) && !out.contains(c) {
                    out.push(*c);
                }
            }
        }
        out
    }

    /// Number of multiply-adds.
    pub fn iterations(&self) -> u64 {
        let o: usize = self.output_shape().iter().product();
        let s: usize = self.summed().iter().map(|c| self.sizes[c]).product();
        (o * s) as u64
    }

    /// Per-operand strides for each output letter and each summed letter.
    pub fn letter_strides(&self, letters: &[char]) -> Vec<Vec<usize>> {
        self.operands
            .iter()
            .map(|ops| {
                let shape: Vec<usize> = ops.iter().map(|c| self.sizes[c]).collect();
                let st = strides_of(&shape);
                letters.iter().map(|l| ops.iter().enumerate().filter(|(_, c)| *c == l).map(|(i, _)| st[i]).sum()).collect()
            })
            .collect()
    }
}

/// An inclusive value range `[lo, hi]` that every element of a tensor provably lies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Smallest possible value.
    pub lo: i128,
    /// Largest possible value.
    pub hi: i128,
}

impl Bound {
    /// The range `[lo, hi]`.
    pub fn new(lo: i128, hi: i128) -> Self {
        Self { lo, hi }
    }

    /// Bits needed for `max(|lo|, |hi|)` (magnitude bits, without sign).
    pub fn magnitude_bits(&self) -> u32 {
        let m = self.lo.unsigned_abs().max(self.hi.unsigned_abs());
        128 - m.leading_zeros()
    }

    /// Smallest range containing both.
    pub fn union(&self, o: &Bound) -> Bound {
        Bound::new(self.lo.min(o.lo), self.hi.max(o.hi))
    }
}

/// A rounding right shift used for requantisation: `y = floor((x + 2^(s-1)) / 2^s)`
/// (round half up), proved in the circuit with a range-checked remainder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Shift amount `s ≥ 1`.
    pub shift: u32,
}

/// Padding mode of [`Op::Pad`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// Pad with a constant value.
    Constant(i64),
    /// Wrap around (circular).
    Wrap,
}

/// 2-D convolution (cross-correlation, like ONNX `Conv`) with constant weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// Weights `[out_channels, in_channels / group, kh, kw]`.
    pub weights: Arc<IntTensor>,
    /// Optional bias `[out_channels]` (at the output's scale).
    pub bias: Option<Arc<IntTensor>>,
    /// Strides `[sh, sw]`.
    pub strides: [usize; 2],
    /// Zero padding `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Dilations `[dh, dw]`.
    pub dilations: [usize; 2],
    /// Groups.
    pub group: usize,
}

/// IR operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Model input number `n` (in [`Graph::inputs`] order).
    Input(usize),
    /// A constant tensor.
    Const(Arc<IntTensor>),
    /// Reinterpret an integer tensor with the same values (dtype changes only).
    Cast,
    /// Change shape, keeping row-major order.
    Reshape(Vec<usize>),
    /// Permute axes: output axis `i` is input axis `perm[i]`.
    Transpose(Vec<usize>),
    /// Take `start..end` step `step` along `axis`.
    Slice {
        /// Axis.
        axis: usize,
        /// First index.
        start: usize,
        /// One past the last index.
        end: usize,
        /// Step (≥ 1).
        step: usize,
    },
    /// Concatenate the inputs along `axis`.
    Concat {
        /// Axis.
        axis: usize,
    },
    /// `out[.., idx[..], ..] = data[.., indices[..], ..]` along `axis` with constant indices
    /// (input 0 = data, the indices are stored here).
    Gather {
        /// Axis of `data` that is indexed.
        axis: usize,
        /// Constant indices (already normalised to `0..dim`).
        indices: Arc<IntTensor>,
    },
    /// Pad each axis by `(before, after)`.
    Pad {
        /// Per-axis padding.
        pads: Vec<(usize, usize)>,
        /// Mode.
        mode: PadMode,
    },
    /// Einstein summation over the inputs (exactly as ONNX `Einsum`, e.g. `irjk,rkf->fij`),
    /// parsed against the operand shapes at lowering.
    EinSum(EinsumSpec),
    /// 2-D convolution with constant weights on an `[N, C, H, W]` input.
    Conv(Conv2d),
    /// Elementwise sum with numpy broadcasting.
    Add,
    /// Elementwise difference with numpy broadcasting.
    Sub,
    /// Elementwise product with numpy broadcasting (at most one non-constant operand).
    Mul,
    /// Elementwise maximum with numpy broadcasting (ReLU is `Max(x, 0)`).
    Max,
    /// Elementwise minimum with numpy broadcasting.
    Min,
    /// Sum over the given axes (kept as size-1 axes when `keep_dims`).
    ReduceSum {
        /// Axes to sum.
        axes: Vec<usize>,
        /// Keep reduced axes.
        keep_dims: bool,
    },
    /// Rounding right shift (fixed-point rescale).
    Requant(Requant),
}

impl Op {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input(_) => "Input",
            Op::Const(_) => "Const",
            Op::Cast => "Cast",
            Op::Reshape(_) => "Reshape",
            Op::Transpose(_) => "Transpose",
            Op::Slice { .. } => "Slice",
            Op::Concat { .. } => "Concat",
            Op::Gather { .. } => "Gather",
            Op::Pad { .. } => "Pad",
            Op::EinSum(_) => "EinSum",
            Op::Conv(_) => "Conv",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Max => "Max",
            Op::Min => "Min",
            Op::ReduceSum { .. } => "ReduceSum",
            Op::Requant(_) => "Requant",
        }
    }
}

/// Static information about one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Shape.
    pub shape: Vec<usize>,
    /// Proven value range.
    pub bound: Bound,
    /// Fixed-point exponent: the real value is `int / 2^scale_bits`.
    pub scale_bits: i32,
    /// The constant value, if the tensor is a constant.
    pub konst: Option<Arc<IntTensor>>,
}

/// One node: `output = op(inputs…)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Name (from the ONNX/tract graph) for error messages.
    pub name: String,
    /// Operation.
    pub op: Op,
    /// Operand tensors.
    pub inputs: Vec<TensorId>,
    /// Result tensor.
    pub output: TensorId,
}

/// A model input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphInput {
    /// Name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Accepted value range (values outside are refused).
    pub range: Bound,
    /// Fixed-point exponent of the integer input.
    pub scale_bits: i32,
    /// Tensor holding the input.
    pub tensor: TensorId,
}

/// A model output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphOutput {
    /// Name.
    pub name: String,
    /// Tensor.
    pub tensor: TensorId,
}

/// The integer IR of a model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Inputs.
    pub inputs: Vec<GraphInput>,
    /// Nodes in evaluation order.
    pub nodes: Vec<Node>,
    /// Outputs.
    pub outputs: Vec<GraphOutput>,
    /// Per-tensor information.
    pub tensors: Vec<TensorInfo>,
}

impl Graph {
    /// Info for a tensor.
    pub fn info(&self, t: TensorId) -> &TensorInfo {
        &self.tensors[t.0]
    }

    /// The output tensor named `name`.
    pub fn output(&self, name: &str) -> Option<TensorId> {
        self.outputs.iter().find(|o| o.name == name).map(|o| o.tensor)
    }

    /// The node producing `t`.
    pub fn producer(&self, t: TensorId) -> Option<&Node> {
        self.nodes.iter().find(|n| n.output == t)
    }

    /// Adds a tensor and returns its id.
    pub fn add_tensor(&mut self, shape: Vec<usize>, scale_bits: i32, konst: Option<Arc<IntTensor>>) -> TensorId {
        self.tensors.push(TensorInfo { shape, bound: Bound::new(0, 0), scale_bits, konst });
        TensorId(self.tensors.len() - 1)
    }

    /// Multiply-accumulate count of the linear ops (for cost estimates and reports).
    pub fn macs(&self) -> u64 {
        let mut total = 0u64;
        for n in &self.nodes {
            match &n.op {
                Op::EinSum(e) => total += e.iterations(),
                Op::Conv(c) => {
                    let out = &self.info(n.output).shape;
                    let k: usize = c.weights.shape[1..].iter().product();
                    total += (out.iter().product::<usize>() * k) as u64;
                }
                _ => {}
            }
        }
        total
    }
}
