//! Small test models built in code, with the same exact-integer ONNX formulation as the
//! shipped models (`Cast → Concat(zero row) → Gather(rows) → Gather(cols) → Einsum`).
//!
//! Circuits for these fit in `k ≤ 14`, so CI can prove and tamper with them quickly. Their
//! images use 4-bit pixels (range `0..=15`) so the range-check table stays small; everything
//! else — circular strided convolutions, re-centred edge patches, sign, coverage, non-zero and
//! fragile-bit rules — is exercised exactly as in the full-size models.

pub use crate::evm::prove::{prove_evm, verify_native_evm, EvmProofError};

/// The key cache's circuit-shape records (crate-private in the SDK), for the tests that
/// corrupt or replace them.
pub mod shape_cache {
    pub use crate::prover::keys::{cached_shape, shape_cache_path, store_shape};
}

use prost::Message;
use tract_onnx::pb;

use crate::image::{IrisImage, IrisMask};
use crate::model::issuer::{dev_issuer_key, DEV_ISSUER_KEY_ID};
use crate::model::manifest::{
    BitRule, CodeLayout, Component, EncoderSpec, InputDtype, InputRole, InputSpec, LivenessRule, Manifest, ModelRules, ModelSpec, Operand, OutputSpec, Ratio,
    Submission,
};
use crate::model::{IssuerKeys, Model, VerifiedModelFiles};

/// Which rule family a tiny model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TinyRules {
    /// World-v3 style: sign bits, mask = coverage ≥ 9/10.
    World,
    /// open-iris style: sign bits, mask = coverage ≥ 93/100 ∧ non-zero ∧ fragile refinement.
    Openiris,
    /// Probes that read single pixels, for feeding chosen codes through a model: with
    /// `k_rows = 1`, `k_cols = 5` and probe columns every 4 pixels, plane `f` reads pixel
    /// `(i, 4j − 2 + f)` (columns wrap): iris bit = pixel > 0, mask bit = mask pixel
    /// (see [`probe_pixel`]). World-v3 code layout.
    Probe,
}

/// The image pixel that code bit `(plane, i, j)` of a [`TinyRules::Probe`] model reads.
pub fn probe_pixel(spec: &TinySpec, plane: usize, i: usize, j: usize) -> (usize, usize) {
    let stride = spec.cols / spec.grid_cols;
    (i * spec.rows / spec.grid_rows, (stride * j + spec.cols + plane - 2) % spec.cols)
}

/// Shape of a tiny model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TinySpec {
    /// Image rows.
    pub rows: usize,
    /// Image columns.
    pub cols: usize,
    /// Probe rows.
    pub grid_rows: usize,
    /// Probe columns (image columns must be a multiple).
    pub grid_cols: usize,
    /// Kernel rows (odd).
    pub k_rows: usize,
    /// Kernel columns (odd).
    pub k_cols: usize,
    /// Rule family.
    pub rules: TinyRules,
    /// Minimum valid mask bits.
    pub min_valid_bits: u32,
    /// A liveness CNN on the image next to the encoder (see [`tiny_files`]), with this rule.
    pub liveness: Option<TinyLiveness>,
    /// With the liveness CNN: a second Gemm on its last ReLU's features gives an `embedding`
    /// output (`[1, grid rows · grid cols]`) whose sign bits are a fifth iris-code plane.
    pub embedding: bool,
    /// How the proof submits the codes (public inputs or MPC shares).
    pub submission: Submission,
}

/// The liveness rule of a tiny model with a CNN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TinyLiveness {
    /// Threshold τ on the integer score (scale 2^-24).
    pub threshold: i64,
    /// Whether τ is public input row 2.
    pub public: bool,
}

impl TinySpec {
    /// The default tiny model: 16×64 image, 2×16 probes, 5×9 kernels.
    pub fn default_for(rules: TinyRules) -> Self {
        Self {
            rows: 16,
            cols: 64,
            grid_rows: 2,
            grid_cols: 16,
            k_rows: 5,
            k_cols: 9,
            rules,
            min_valid_bits: 8,
            liveness: None,
            embedding: false,
            submission: Submission::PublicCode,
        }
    }

    /// The default world-style tiny model plus the liveness CNN, with rule `liveness`.
    pub fn live(liveness: TinyLiveness) -> Self {
        Self { liveness: Some(liveness), ..Self::default_for(TinyRules::World) }
    }
}

fn kernels(spec: &TinySpec) -> Vec<Vec<i64>> {
    // Four deterministic zero-mean integer kernels (two "filters" × re/im), values in ±40.
    (0..4)
        .map(|f| {
            let mut k: Vec<i64> = (0..spec.k_rows * spec.k_cols)
                .map(|t| {
                    let (r, c) = ((t / spec.k_cols) as i64, (t % spec.k_cols) as i64);

                    (r * 31 + c * 17 + f as i64 * 53 + r * c * 7) % 81 - 40
                })
                .collect();
            let mean = k.iter().sum::<i64>() / k.len() as i64;
            k.iter_mut().for_each(|v| *v -= mean);
            k
        })
        .collect()
}

/// Row windows `(rtop, n, ktop)` per probe row (open-iris re-centring, `R_end = rows`).
pub fn row_windows(spec: &TinySpec) -> Vec<(usize, usize, usize)> {
    let p = spec.k_rows / 2;
    (0..spec.grid_rows)
        .map(|i| {
            let r = i * spec.rows / spec.grid_rows;
            let rtop = r.saturating_sub(p);
            let rbot = (r + p + 1).min(spec.rows);
            let n = rbot - rtop;
            (rtop, n, p - n / 2)
        })
        .collect()
}

fn i64_tensor(name: &str, dims: &[i64], data: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

fn i32_tensor(name: &str, dims: &[i64], data: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Int32 as i32,
        int32_data: data.iter().map(|&v| v as i32).collect(),
        ..Default::default()
    }
}

fn f32_tensor(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

fn ints_attr(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: pb::attribute_proto::AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

/// Deterministic float weights in `[-scale, scale]`.
fn weights(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// The liveness CNN of a tiny model, the same op set as `models/liveness-v1` at small size:
/// `Cast → Reshape → AveragePool 2×2 → Conv 3×3/2 (4, bias) → Relu → Conv 3×3/2 (4, bias) →
/// Relu → AveragePool (global) → Flatten → Gemm 4→1 → Reshape [1]`, float weights.
fn tiny_cnn(spec: &TinySpec, nodes: &mut Vec<pb::NodeProto>, inits: &mut Vec<pb::TensorProto>) {
    let (r, c) = (spec.rows as i64, spec.cols as i64);
    let (h2, w2) = (r / 2, c / 2);
    let (h3, w3) = ((h2 + 1) / 2, (w2 + 1) / 2);
    let (h4, w4) = ((h3 + 1) / 2, (w3 + 1) / 2);
    inits.push(i64_tensor("live_shape", &[4], &[1, 1, r, c]));
    inits.push(f32_tensor("live_w1", &[4, 1, 3, 3], &weights(1, 36, 0.05)));
    inits.push(f32_tensor("live_b1", &[4], &weights(2, 4, 0.2)));
    inits.push(f32_tensor("live_w2", &[4, 4, 3, 3], &weights(3, 144, 0.3)));
    inits.push(f32_tensor("live_b2", &[4], &weights(4, 4, 0.1)));
    inits.push(f32_tensor("live_w3", &[1, 4], &weights(5, 4, 1.0)));
    inits.push(f32_tensor("live_b3", &[1], &[0.25]));
    inits.push(i64_tensor("live_out_shape", &[1], &[1]));
    let conv_attrs = || vec![ints_attr("kernel_shape", &[3, 3]), ints_attr("strides", &[2, 2]), ints_attr("pads", &[1, 1, 1, 1])];
    nodes.push(node("Cast", "live_cast", &["image"], &["live_f"], vec![int_attr("to", pb::tensor_proto::DataType::Float as i64)]));
    nodes.push(node("Reshape", "live_nchw", &["live_f", "live_shape"], &["live_x"], vec![]));
    nodes.push(node("AveragePool", "live_pool", &["live_x"], &["live_p"], vec![ints_attr("kernel_shape", &[2, 2]), ints_attr("strides", &[2, 2])]));
    nodes.push(node("Conv", "live_conv1", &["live_p", "live_w1", "live_b1"], &["live_c1"], conv_attrs()));
    nodes.push(node("Relu", "live_relu1", &["live_c1"], &["live_r1"], vec![]));
    nodes.push(node("Conv", "live_conv2", &["live_r1", "live_w2", "live_b2"], &["live_c2"], conv_attrs()));
    nodes.push(node("Relu", "live_relu2", &["live_c2"], &["live_r2"], vec![]));
    nodes.push(node("AveragePool", "live_gap", &["live_r2"], &["live_g"], vec![ints_attr("kernel_shape", &[h4, w4])]));
    nodes.push(node("Flatten", "live_flat", &["live_g"], &["live_v"], vec![]));
    nodes.push(node("Gemm", "live_fc", &["live_v", "live_w3", "live_b3"], &["live_fc_out"], vec![int_attr("transB", 1)]));
    nodes.push(node("Reshape", "live_out", &["live_fc_out", "live_out_shape"], &["liveness"], vec![]));
    if spec.embedding {
        let n = (spec.grid_rows * spec.grid_cols) as i64;
        let features = 4 * h4 * w4;
        inits.push(f32_tensor("emb_w", &[n, features], &weights(6, (n * features) as usize, 0.5)));
        inits.push(f32_tensor("emb_b", &[n], &weights(7, n as usize, 0.05)));
        nodes.push(node("Flatten", "emb_flat", &["live_r2"], &["emb_v"], vec![]));
        nodes.push(node("Gemm", "emb_fc", &["emb_v", "emb_w", "emb_b"], &["embedding"], vec![int_attr("transB", 1)]));
    }
}

fn value_info(name: &str, dt: pb::tensor_proto::DataType, dims: &[i64]) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: dt as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&v| pb::tensor_shape_proto::Dimension {
                            denotation: String::new(),
                            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)),
                        })
                        .collect(),
                }),
            })),
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn int_attr(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: pb::attribute_proto::AttributeType::Int as i32, i: v, ..Default::default() }
}

fn str_attr(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: pb::attribute_proto::AttributeType::String as i32, s: v.as_bytes().to_vec(), ..Default::default() }
}

/// Builds the ONNX bytes and rules of a tiny model (with the liveness CNN of `tiny_cnn` and its
/// rule when `spec.liveness` is set).
pub fn tiny_files(spec: &TinySpec) -> (Vec<u8>, ModelRules) {
    let (r, c) = (spec.rows as i64, spec.cols as i64);
    let windows = row_windows(spec);
    let kr = spec.k_rows;
    let kc = spec.k_cols;
    let stride = spec.cols / spec.grid_cols;
    let p_cols = kc / 2;
    let mut row_idx = Vec::new();
    for &(rtop, n, ktop) in &windows {
        for a in 0..kr {
            row_idx.push(if a >= ktop && a < ktop + n { (rtop + a - ktop) as i64 } else { r });
        }
    }
    let mut col_idx = Vec::new();
    for j in 0..spec.grid_cols {
        for k in 0..kc {
            col_idx.push(((stride * j) as i64 - p_cols as i64 + k as i64).rem_euclid(c));
        }
    }
    let ks = match spec.rules {
        // One-hot taps: channel f reads tap f.
        TinyRules::Probe => (0..4).map(|f| (0..kr * kc).map(|t| i64::from(t == f)).collect()).collect(),
        _ => kernels(spec),
    };
    // W[r, k, f] for the response; |K| for the occlusion (openiris) / ones (world).
    let mut w_resp = vec![0i64; kr * kc * 4];
    let mut w_mask = vec![0i64; kr * kc * 4];
    let mask_channels = match spec.rules {
        TinyRules::World => 2,
        TinyRules::Openiris | TinyRules::Probe => 4,
    };
    for a in 0..kr {
        for k in 0..kc {
            for f in 0..4 {
                w_resp[(a * kc + k) * 4 + f] = ks[f][a * kc + k];
                let m = match spec.rules {
                    TinyRules::World => i64::from(f < 2),
                    TinyRules::Openiris | TinyRules::Probe => ks[f][a * kc + k].abs(),
                };
                w_mask[(a * kc + k) * 4 + f] = m;
            }
        }
    }
    let w_mask: Vec<i64> = (0..kr * kc).flat_map(|t| (0..mask_channels).map(move |f| (t, f))).map(|(t, f)| w_mask[t * 4 + f]).collect();
    let (g_r, g_c) = (spec.grid_rows as i64, spec.grid_cols as i64);
    let inits = vec![
        i32_tensor("zero_row", &[1, c], &vec![0; spec.cols]),
        i64_tensor("row_idx", &[g_r, kr as i64], &row_idx),
        i64_tensor("col_idx", &[g_c, kc as i64], &col_idx),
        i32_tensor("w_resp", &[kr as i64, kc as i64, 4], &w_resp),
        i32_tensor("w_mask", &[kr as i64, kc as i64, mask_channels as i64], &w_mask),
    ];
    let mut nodes = Vec::new();
    for (inp, w, out) in [("image", "w_resp", "response"), ("mask", "w_mask", "coverage")] {
        nodes.push(node("Cast", &format!("{inp}_cast"), &[inp], &[&format!("{inp}_i")], vec![int_attr("to", pb::tensor_proto::DataType::Int32 as i64)]));
        nodes.push(node("Concat", &format!("{inp}_concat"), &[&format!("{inp}_i"), "zero_row"], &[&format!("{inp}_a")], vec![int_attr("axis", 0)]));
        nodes.push(node("Gather", &format!("{inp}_rows"), &[&format!("{inp}_a"), "row_idx"], &[&format!("{inp}_s")], vec![int_attr("axis", 0)]));
        nodes.push(node("Gather", &format!("{inp}_cols"), &[&format!("{inp}_s"), "col_idx"], &[&format!("{inp}_p")], vec![int_attr("axis", 2)]));
        nodes.push(node("Einsum", &format!("{out}_einsum"), &[&format!("{inp}_p"), w], &[out], vec![str_attr("equation", "irjk,rkf->fij")]));
    }
    let u8t = pb::tensor_proto::DataType::Uint8;
    let i32t = pb::tensor_proto::DataType::Int32;
    let mut inits = inits;
    let mut output = vec![value_info("response", i32t, &[4, g_r, g_c]), value_info("coverage", i32t, &[mask_channels as i64, g_r, g_c])];
    if spec.liveness.is_some() {
        tiny_cnn(spec, &mut nodes, &mut inits);
        output.push(value_info("liveness", pb::tensor_proto::DataType::Float, &[1]));
        if spec.embedding {
            output.push(value_info("embedding", pb::tensor_proto::DataType::Float, &[1, g_r * g_c]));
        }
    }
    let graph = pb::GraphProto {
        node: nodes,
        name: "tiny".into(),
        initializer: inits,
        input: vec![value_info("image", u8t, &[r, c]), value_info("mask", u8t, &[r, c])],
        output,
        ..Default::default()
    };
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    };
    let onnx = model.encode_to_vec();

    let n_per_row: Vec<i64> = windows.iter().map(|&(_, n, _)| (n * kc) as i64).collect();
    let pos = |ch| BitRule::Positive { output: "response".into(), channel: ch };
    let (mask_rules, layout): (Vec<BitRule>, CodeLayout) = match spec.rules {
        TinyRules::Probe => (
            (0..4)
                .map(|f| BitRule::AtLeast {
                    num: Operand::Output { output: "coverage".into(), channel: f },
                    den: Operand::PerRow(vec![1; spec.grid_rows]),
                    ratio: Ratio { num: 9, den: 10 },
                })
                .collect(),
            CodeLayout::WorldV3,
        ),
        TinyRules::World => (
            (0..4)
                .map(|f| BitRule::AtLeast {
                    num: Operand::Output { output: "coverage".into(), channel: f / 2 },
                    den: Operand::PerRow(n_per_row.clone()),
                    ratio: Ratio { num: 9, den: 10 },
                })
                .collect(),
            CodeLayout::WorldV3,
        ),
        TinyRules::Openiris => {
            let sumsq: Vec<u64> = ks.iter().map(|k| k.iter().map(|v| (v * v) as u64).sum()).collect();
            let abs_per_row = |f: usize| -> Vec<i64> {
                windows.iter().map(|&(_, n, ktop)| (ktop..ktop + n).map(|a| (0..kc).map(|k| ks[f][a * kc + k].abs()).sum::<i64>()).sum()).collect()
            };
            (
                (0..4)
                    .map(|p| {
                        let filt = p / 2;
                        BitRule::All(vec![
                            BitRule::AtLeast {
                                num: Operand::Output { output: "coverage".into(), channel: p },
                                den: Operand::PerRow(abs_per_row(p)),
                                ratio: Ratio { num: 93, den: 100 },
                            },
                            BitRule::NonZeroPair { output: "response".into(), re: 2 * filt, im: 2 * filt + 1 },
                            BitRule::Fragile {
                                output: "response".into(),
                                re: 2 * filt,
                                im: 2 * filt + 1,
                                component: if p % 2 == 0 { Component::Re } else { Component::Im },
                                kernel_sumsq: [sumsq[2 * filt], sumsq[2 * filt + 1]],
                                patch_size: n_per_row.iter().map(|&v| v as u64).collect(),
                                radius_lo_sq: Ratio { num: 1, den: 100_000_000 },
                                radius_hi_sq: Ratio { num: 121, den: 1600 },
                                cos2: Ratio { num: 4_262_342_194, den: 1 << 32 },
                            },
                        ])
                    })
                    .collect(),
                CodeLayout::Openiris,
            )
        }
    };
    let embed = spec.embedding && spec.liveness.is_some();
    let rules = ModelRules {
        inputs: vec![
            InputSpec { name: "image".into(), role: InputRole::Image, shape: vec![spec.rows, spec.cols], dtype: InputDtype::U8, range: [0, 15] },
            InputSpec { name: "mask".into(), role: InputRole::Mask, shape: vec![spec.rows, spec.cols], dtype: InputDtype::U8, range: [0, 1] },
        ],
        outputs: [
            OutputSpec { name: "response".into(), shape: vec![4, spec.grid_rows, spec.grid_cols] },
            OutputSpec { name: "coverage".into(), shape: vec![mask_channels, spec.grid_rows, spec.grid_cols] },
        ]
        .into_iter()
        .chain(spec.liveness.map(|_| OutputSpec { name: "liveness".into(), shape: vec![1] }))
        .chain(embed.then(|| OutputSpec { name: "embedding".into(), shape: vec![1, spec.grid_rows * spec.grid_cols] }))
        .collect(),
        encoder: EncoderSpec {
            grid: [spec.grid_rows, spec.grid_cols],
            iris: (0..4).map(pos).chain(embed.then(|| BitRule::Positive { output: "embedding".into(), channel: 0 })).collect(),
            mask: mask_rules,
        },
        code_layout: layout,
        min_valid_bits: spec.min_valid_bits,
        liveness: spec.liveness.map(|l| LivenessRule { output: "liveness".into(), threshold: l.threshold, public: l.public }),
        submission: spec.submission,
    };
    (onnx, rules)
}

/// A tiny model's ONNX bytes and its manifest signed by the development issuer.
pub fn tiny_signed(spec: &TinySpec) -> (Vec<u8>, Manifest) {
    let (onnx, rules) = tiny_files(spec);
    let live = if spec.liveness.is_some() { "-live" } else { "" };
    let embed = if spec.embedding && spec.liveness.is_some() { "-embed" } else { "" };
    let mpc = if spec.submission == Submission::MpcShares { "-mpc" } else { "" };
    let name = format!("tiny-{:?}-{}x{}{live}{embed}{mpc}", spec.rules, spec.rows, spec.cols).to_lowercase();
    let s = ModelSpec { name, version: "0.0.1".into(), description: "TEST ONLY tiny model".into(), onnx: "model.onnx".into(), rules };
    let manifest: Manifest = s.sign(&onnx, DEV_ISSUER_KEY_ID, &dev_issuer_key()).expect("tiny model lowers");
    (onnx, manifest)
}

/// A signed (development issuer) tiny model.
pub fn tiny_model(spec: &TinySpec) -> Model {
    let (onnx, manifest) = tiny_signed(spec);
    Model::from_verified(VerifiedModelFiles::from_bytes(manifest, onnx, &IssuerKeys::development()).expect("dev-signed")).expect("tiny model")
}

/// Writes a tiny model as an app downloads it (`model.onnx`, `manifest.json`) and a sample
/// (`image.png`, `mask.png`) into `dir`; returns the manifest path.
pub fn write_tiny(spec: &TinySpec, seed: u64, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let (onnx, manifest) = tiny_signed(spec);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("model.onnx"), onnx)?;
    std::fs::write(dir.join("manifest.json"), manifest.to_json_pretty())?;
    let (image, mask) = tiny_sample(spec, seed);
    std::fs::write(dir.join("image.png"), image.to_png_bytes())?;
    std::fs::write(dir.join("mask.png"), mask.to_png_bytes())?;
    Ok(dir.join("manifest.json"))
}

/// A deterministic iris-like tiny image (4-bit pixels) and mask with an occluded band.
pub fn tiny_sample(spec: &TinySpec, seed: u64) -> (IrisImage, IrisMask) {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let n = spec.rows * spec.cols;
    let px: Vec<u8> = (0..n)
        .map(|i| {
            let (r, c) = (i / spec.cols, i % spec.cols);
            let fibre = ((c * 7 + r * 3) % 11) as u32;
            ((fibre + next() % 6) % 16) as u8
        })
        .collect();
    let mask: Vec<u8> = (0..n).map(|i| u8::from(!(i / spec.cols == 0 && (i % spec.cols) < spec.cols / 3))).collect();
    (IrisImage::new(spec.rows as u32, spec.cols as u32, px).expect("shape"), IrisMask::new(spec.rows as u32, spec.cols as u32, mask).expect("binary"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_models_lower_and_encode() {
        for rules in [TinyRules::World, TinyRules::Openiris] {
            let spec = TinySpec::default_for(rules);
            let m = tiny_model(&spec);
            let (i, k) = tiny_sample(&spec, 1);
            let e = m.encode(&i, &k).unwrap();
            assert_eq!(e.bits.iris.len(), 4 * spec.grid_rows * spec.grid_cols);
            let ones = e.bits.iris.iter().filter(|&&b| b == 1).count();
            assert!(ones > 10 && ones < e.bits.iris.len() - 10, "iris bits should be mixed: {ones}");
            let valid = e.bits.valid_bits();
            assert!(valid > 0, "{rules:?}: some mask bits valid");
        }
    }
}
