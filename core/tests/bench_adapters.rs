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
            &[IntTensor::new(vec![h, w], image.pixels().iter().map(|&p| p as i64).collect()), IntTensor::new(vec![h, w], mask.bits().iter().map(|&b| b as i64).collect())],
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
    let b = setup.prove(&image, &mask, &Salt::from_hex("0x5a17").unwrap(), None, &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(b.public_inputs.len(), 3 + 744usize.div_ceil(248));
    assert_eq!(b.iris_code.len(), 744 / 8);
    assert!(b.mask_code.is_empty());
    let v = setup.verifier().verify(&b).unwrap();
    assert_eq!(v.iris_code, b.iris_code);
    // A flipped code bit is refused.
    let mut bad = b.clone();
    bad.iris_code[3] ^= 0x10;
    assert!(setup.verifier().verify(&bad).is_err());
}
