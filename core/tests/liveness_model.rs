//! The bundled reference PAD model `models/liveness-v1` (trained by `models/train_liveness.py`):
//! its manifest verifies and lowers to the integer IR, the bundled bona fide samples pass its
//! threshold τ, flat (texture-free) presentations do not, and the integer score stays close to
//! tract's float output. If the lowering's output scale changes, τ (stored in that integer scale)
//! no longer means the same logit and these tests fail: re-run the training script's spec step.

mod common;

use tract_onnx::prelude::*;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::onnx::{load, run_reference};
use zkiris::model::Model;

/// The logit scale the manifest's τ was computed for (see `OUTPUT_SCALE_BITS` in train_liveness.py).
const SCALE_BITS: i32 = 24;

fn model() -> Model {
    common::bundled_model("liveness-v1")
}

fn sample(name: &str) -> IrisImage {
    IrisImage::read_png(&common::models_dir().join("samples").join(name)).expect("bundled sample reads")
}

fn score(m: &Model, image: &IrisImage) -> i64 {
    let mask = IrisMask::all_valid(image.height(), image.width());
    m.encode(image, &mask).expect("liveness-v1 runs").liveness.expect("liveness-v1 has a liveness rule")
}

fn threshold(m: &Model) -> i64 {
    m.manifest().rules.liveness.as_ref().expect("liveness rule").threshold
}

fn float_score(m: &Model, image: &IrisImage) -> f64 {
    let onnx = std::fs::read(common::models_dir().join("liveness-v1").join(&m.manifest().onnx.file)).expect("onnx reads");
    let typed = load(&onnx, &m.manifest().rules.inputs).expect("tract loads liveness-v1");
    let x = tract_ndarray::Array2::from_shape_vec((image.height() as usize, image.width() as usize), image.pixels().to_vec()).expect("shape");
    run_reference(&typed, vec![x.into_tensor()]).expect("tract runs")[0][0]
}

#[test]
fn liveness_v1_output_is_a_logit_at_the_manifest_scale() {
    let m = model();
    let rule = m.manifest().rules.liveness.clone().expect("liveness rule");
    assert!(rule.public, "the threshold is a public input of the statement");
    let t = m.graph().output(&rule.output).expect("liveness output");
    assert_eq!(m.graph().info(t).shape, vec![1]);
    assert_eq!(m.graph().info(t).scale_bits, SCALE_BITS, "τ = {} was computed for logits at 2^-{SCALE_BITS}", rule.threshold);
}

#[test]
fn liveness_v1_accepts_the_bundled_bona_fide_samples() {
    let m = model();
    let tau = threshold(&m);
    for name in ["synth-eye_128x1024.png", "synth-eye-recapture_128x1024.png"] {
        let s = score(&m, &sample(name));
        // The samples pass with a wide margin (logit ≈ 5.3 and 5.8 against τ ≈ −1.27).
        assert!(s >= tau + (4 << SCALE_BITS), "{name}: score {s} is not clearly above τ = {tau}");
    }
}

#[test]
fn liveness_v1_rejects_flat_presentations() {
    let m = model();
    let tau = threshold(&m);
    for level in [0u8, 60, 128, 255] {
        let flat = IrisImage::new(128, 1024, vec![level; 128 * 1024]).expect("image");
        let s = score(&m, &flat);
        assert!(s < tau, "a uniform image of grey level {level} scores {s}, at or above τ = {tau}");
    }
}

#[test]
fn liveness_v1_integer_score_tracks_tract_float() {
    let m = model();
    let eye = sample("synth-eye_128x1024.png");
    let flat = IrisImage::new(128, 1024, vec![100; 128 * 1024]).expect("image");
    for image in [eye, flat] {
        let q = score(&m, &image) as f64 / (1u64 << SCALE_BITS) as f64;
        let f = float_score(&m, &image);
        assert!((q - f).abs() < 0.02, "quantized {q} vs float {f}");
    }
}
