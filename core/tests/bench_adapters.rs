//! ezkl's benchmark convolutions behind zkiris adapters (tests/bench-models/ezkl-adapters/,
//! made by make_ezkl_adapters.py): the model loads (tract's batch-less CHW Conv, a mask input
//! that only the commitment reads), quantizes close to tract's float output, and a real proof of
//! the small one verifies with an empty mask code. These are the workloads of
//! `scripts/bench-vs-ezkl`.

use std::path::PathBuf;
use std::sync::Arc;

use tract_onnx::prelude::*;
use zkiris::commitment::Salt;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::ir::IntTensor;
use zkiris::model::onnx::{load_unpinned, run_reference};
use zkiris::model::quant::QuantReport;
use zkiris::model::{exec, IssuerKeys, Model};
use zkiris::prover::{CancellationToken, NoProgress, ProvingSetup, SrsSource};

fn dir(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bench-models/ezkl-adapters").join(name)
}

fn load(name: &str) -> (Model, IrisImage, IrisMask) {
    let d = dir(name);
    let model = Model::load(&d.join("manifest.json"), &IssuerKeys::development()).unwrap();
    (model, IrisImage::read_png(&d.join("image.png")).unwrap(), IrisMask::read_png(&d.join("mask.png")).unwrap())
}

#[test]
fn adapters_quantize_close_to_the_float_convolution() {
    for name in ["ezkl-gabor_small", "ezkl-gabor_large"] {
        let (model, image, mask) = load(name);
        assert_eq!(model.graph().inputs.len(), 2, "{name}: the unread mask input is kept");
        let (h, w) = (image.height() as usize, image.width() as usize);
        let trace = exec::run(
            model.graph(),
            &[
                IntTensor::new(vec![h, w], image.pixels().iter().map(|&p| p as i64).collect()),
                IntTensor::new(vec![h, w], mask.bits().iter().map(|&b| b as i64).collect()),
            ],
        )
        .unwrap();
        let out = &model.graph().outputs[0];
        let typed = load_unpinned(&std::fs::read(dir(name).join("model.onnx")).unwrap()).unwrap();
        let img = tract_ndarray::ArrayD::from_shape_vec(vec![h, w], image.pixels().to_vec()).unwrap().into_tensor();
        let msk = tract_ndarray::ArrayD::from_shape_vec(vec![h, w], mask.bits().to_vec()).unwrap().into_tensor();
        let reference = run_reference(&typed, vec![img, msk]).unwrap();
        let r = QuantReport::compare(&out.name, &trace.get(out.tensor).data, model.graph().info(out.tensor).scale_bits, &reference[0]);
        eprintln!("{name}: {r:?}");
        // Weights at 2^-12 (the default QuantConfig): measured 0/744 flips (small) and 4/2928
        // (large, responses within ±1.4 of zero out of ±708); ezkl at 2^-13 flips 0 and 1.
        assert!(r.cosine > 0.99999, "{name}: {r:?}");
        assert!(r.sign_flips * 500 <= reference[0].len(), "{name}: more than 0.2 % sign flips: {r:?}");
    }
}

#[test]
fn gabor_small_adapter_proves_and_verifies_with_an_empty_mask_code() {
    let (model, image, mask) = load("ezkl-gabor_small");
    let cache = tempfile::tempdir().unwrap();
    let setup = ProvingSetup::prepare(Arc::new(model), &SrsSource::Development, Some(cache.path()), &NoProgress, &CancellationToken::new()).unwrap();
    // A 32×256 image: the single-limb range table keeps it at k = 13 (the pair table would need k = 17).
    assert!(!setup.plan().shape.paired_limbs);
    assert_eq!(setup.srs().k(), 13);
    let b = setup
        .prove(&image, &mask, &Salt::from_hex("0x5a17").unwrap(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new())
        .unwrap();
    assert_eq!(b.public_inputs.len(), 4 + 744usize.div_ceil(248));
    assert_eq!(b.iris_code.len(), 744 / 8);
    assert!(b.mask_code.is_empty());
    let v = setup.verifier().verify(&b).unwrap();
    assert_eq!(v.iris_code, b.iris_code);
    // A flipped code bit is refused.
    let mut bad = b.clone();
    bad.iris_code[3] ^= 0x10;
    assert!(setup.verifier().verify(&bad).is_err());
}

/// Runs tract's float model and the integer executor on an adapter's sample; the report of
/// every named output.
fn quant_reports(name: &str, outputs: &[&str]) -> Vec<QuantReport> {
    let (model, image, mask) = load(name);
    let enc = model.encode(&image, &mask).unwrap();
    let (h, w) = (image.height() as usize, image.width() as usize);
    let typed = load_unpinned(&std::fs::read(dir(name).join("model.onnx")).unwrap()).unwrap();
    let img = tract_ndarray::ArrayD::from_shape_vec(vec![h, w], image.pixels().to_vec()).unwrap().into_tensor();
    let msk = tract_ndarray::ArrayD::from_shape_vec(vec![h, w], mask.bits().to_vec()).unwrap().into_tensor();
    let reference = run_reference(&typed, vec![img, msk]).unwrap();
    outputs
        .iter()
        .map(|o| {
            let k = model.graph().outputs.iter().position(|x| x.name == *o).unwrap();
            let out = &model.graph().outputs[k];
            QuantReport::compare(o, &enc.trace().get(out.tensor).data, model.graph().info(out.tensor).scale_bits, &reference[k])
        })
        .collect()
}

#[test]
fn cnn_embed_adapter_quantizes_close_to_the_float_model() {
    // ezkl's cnn_embed graph and float weights (make_ezkl_adapters.py): iris code = the sign bits
    // of the 256-value embedding, liveness ≥ τ on the second Gemm.
    let r = quant_reports("ezkl-cnn_embed", &["embedding", "liveness"]);
    for q in &r {
        eprintln!("{q:?}");
    }
    let (emb, live) = (&r[0], &r[1]);
    // Measured: embedding max abs err 7.8e-3 (of ±2.97), cosine 0.999992, 0 / 256 sign flips;
    // liveness err 2.9e-3 (ezkl at its default scale: 4.1e-3, cosine 0.999998).
    assert!(emb.cosine > 0.99999 && emb.max_abs_err < 0.01, "{emb:?}");
    assert!(emb.sign_flips <= 1, "{emb:?}");
    assert!(live.max_abs_err < 0.01, "{live:?}");
    let (model, image, mask) = load("ezkl-cnn_embed");
    let enc = model.encode(&image, &mask).unwrap();
    assert_eq!(enc.bits.iris.len(), 256);
    let rule = model.manifest().rules.liveness.clone().unwrap();
    assert!(rule.public && enc.liveness.unwrap() >= rule.threshold, "the sample passes its liveness rule");
}

#[test]
fn cnn_embed_adapter_plan() {
    // Too large for a CI proof: the plan's size only (the README reports the measured proof).
    let (model, _, _) = load("ezkl-cnn_embed");
    let plan = zkiris::circuit::StatementPlan::new(&model).unwrap();
    let cnn = &plan.cnn;
    eprintln!(
        "rows {} k {} convs {} relus {} requants {} denses {:?} instances {}",
        plan.rows,
        plan.min_k(),
        plan.convs.len(),
        cnn.relus.len(),
        cnn.requants.len(),
        cnn.denses.iter().map(|d| (d.blocks.len(), d.blocks.iter().map(|b| b.rows(plan.shape.dense_width)).sum::<usize>())).collect::<Vec<_>>(),
        plan.instances
    );
    // The first conv on the image by the convolution identity; conv2, the embedding and the
    // liveness Gemm as dense layers over the shared ReLU outputs (each planned once), batched
    // 16 outputs per block (1.95M multiply-adds): conv2 one block per position (372), the
    // embedding 16 blocks, the liveness Gemm one. That is what brings the model to k = 17
    // (the direct layout needs 572k rows, k = 20).
    assert_eq!(plan.convs.len(), 1);
    assert_eq!((cnn.relus.len(), cnn.denses.len()), (2, 3));
    assert_eq!(plan.shape.dense_width, 16);
    assert_eq!(cnn.denses.iter().map(|d| d.blocks.len()).collect::<Vec<_>>(), vec![372, 16, 1]);
    assert_eq!(plan.min_k(), 17);
    assert_eq!(plan.iris_pack.bits.len(), 256);
    assert!(plan.mask_pack.bits.is_empty());
    assert_eq!(plan.instances, 4 + 256usize.div_ceil(248));
}
