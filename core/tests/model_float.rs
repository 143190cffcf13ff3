//! Float-weight models lower to fixed point; the error against tract's float output is
//! measured and must stay small. Uses ezkl's benchmark models, vendored in
//! `tests/bench-models/ezkl/`.

mod common;

use std::path::PathBuf;

use tract_onnx::prelude::*;
use zkiris::model::exec;
use zkiris::model::ir::{Bound, IntTensor};
use zkiris::model::lower::{lower, InputBinding};
use zkiris::model::onnx::{load_unpinned, run_reference};
use zkiris::model::quant::{QuantConfig, QuantReport};

fn bench_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bench-models/ezkl")
}

fn run_float_model(name: &str, quant: QuantConfig) -> Vec<QuantReport> {
    let onnx = std::fs::read(bench_dir().join(format!("{name}.onnx"))).unwrap();
    let (shape, input) = common::npz_array_npy(&bench_dir().join(format!("{name}.input.npy")));
    // Inputs are multiples of 1/1024 in [0, 1]: exact at 10 fractional bits.
    let ints: Vec<i64> = input.iter().map(|&v| (v as f64 * 1024.0).round() as i64).collect();
    assert!(input.iter().zip(&ints).all(|(&f, &q)| (f as f64 * 1024.0 - q as f64).abs() < 1e-6));
    let typed = load_unpinned(&onnx).unwrap();
    let binding = InputBinding { name: typed.node(typed.input_outlets().unwrap()[0].node).name.clone(), range: Bound::new(0, 1024), scale_bits: 10 };
    let graph = lower(&typed, &[binding], &[], quant).unwrap();
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let trace = exec::run(&graph, &[IntTensor::new(dims.clone(), ints)]).unwrap();
    let reference = run_reference(&typed, vec![tract_ndarray::ArrayD::from_shape_vec(dims, input).unwrap().into_tensor()]).unwrap();
    graph.outputs.iter().zip(&reference).map(|(o, r)| QuantReport::compare(&o.name, &trace.get(o.tensor).data, graph.info(o.tensor).scale_bits, r)).collect()
}

#[test]
fn gabor_small_quantizes_within_a_small_error() {
    let reps = run_float_model("gabor_small", QuantConfig { weight_bits: 13, act_bits: 13 });
    let r = &reps[0];
    eprintln!("{r:?}");
    assert!(r.max_abs_err < 2e-3, "{r:?}");
    assert!(r.cosine > 0.99999, "{r:?}");
    assert_eq!(r.sign_flips, 0, "{r:?}");
}

#[test]
fn cnn_embed_lowers_conv_relu_gemm_with_small_error() {
    let reps = run_float_model("cnn_embed", QuantConfig { weight_bits: 13, act_bits: 13 });
    for r in &reps {
        eprintln!("{r:?}");
        assert!(r.cosine > 0.9999, "{r:?}");
        assert!(r.max_abs_err < 0.01, "{r:?}");
    }
}
