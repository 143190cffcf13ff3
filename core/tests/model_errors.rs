//! Every way a model can be bad gives a typed error naming what is wrong — never a panic.

mod common;

use common::*;
use prost::Message;
use tract_onnx::pb;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::manifest::{Manifest, ModelSpec, VerifiedModelFiles};
use zkiris::model::IssuerSigningKey;
use zkiris::model::{IssuerKeys, Model, ModelError};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(models_dir().join(rel)).unwrap()
}

fn world_v3_files() -> (Manifest, Vec<u8>) {
    (Manifest::from_json(&read("world-v3/manifest.json")).unwrap(), read("world-v3/model.onnx"))
}

#[test]
fn corrupt_or_truncated_onnx_is_a_typed_error() {
    let (m, onnx) = world_v3_files();
    for bytes in [onnx[..onnx.len() / 2].to_vec(), b"definitely not protobuf".to_vec(), vec![]] {
        let err = Model::lower_rules(&bytes, &m.rules).unwrap_err();
        assert!(matches!(err, ModelError::OnnxParse(_)), "{err:?}");
    }
}

#[test]
fn tampered_onnx_fails_the_signed_hash() {
    let (m, mut onnx) = world_v3_files();
    let n = onnx.len();
    onnx[n - 100] ^= 1; // a kernel weight byte
    let err = VerifiedModelFiles::from_bytes(m, onnx, &IssuerKeys::development()).unwrap_err();
    assert!(matches!(err, ModelError::OnnxHashMismatch { .. }), "{err:?}");
}

#[test]
fn tampered_manifest_fails_the_signature() {
    let (mut m, onnx) = world_v3_files();
    m.rules.min_valid_bits = 1; // loosen a rule without the issuer's key
    let err = VerifiedModelFiles::from_bytes(m, onnx.clone(), &IssuerKeys::development()).unwrap_err();
    assert!(matches!(err, ModelError::BadSignature(_)), "{err:?}");
    let (mut m, _) = world_v3_files();
    m.signature = "00".repeat(64);
    let err = VerifiedModelFiles::from_bytes(m, onnx, &IssuerKeys::development()).unwrap_err();
    assert!(matches!(err, ModelError::BadSignature(_)), "{err:?}");
}

#[test]
fn untrusted_issuer_is_refused() {
    let (m, onnx) = world_v3_files();
    let err = VerifiedModelFiles::from_bytes(m, onnx.clone(), &IssuerKeys::new()).unwrap_err();
    assert!(matches!(err, ModelError::UntrustedIssuer { .. }), "{err:?}");
    // A manifest correctly signed by some other issuer is not trusted by the dev store.
    let spec = ModelSpec::from_json(&read("world-v3/spec.json")).unwrap();
    let other = spec.sign(&onnx, "someone-else", &IssuerSigningKey::generate()).unwrap();
    let err = VerifiedModelFiles::from_bytes(other, onnx, &IssuerKeys::development()).unwrap_err();
    assert!(matches!(err, ModelError::UntrustedIssuer { .. }), "{err:?}");
}

#[test]
fn model_id_must_match_the_rules() {
    let (_, onnx) = world_v3_files();
    let spec = ModelSpec::from_json(&read("world-v3/spec.json")).unwrap();
    let key = zkiris::model::dev_issuer_key();
    let mut m = spec.sign(&onnx, "dev", &key).unwrap();
    m.model_id = "11".repeat(32);
    m.signature = key.sign(&m.signing_bytes()).to_hex();
    let err = VerifiedModelFiles::from_bytes(m, onnx, &IssuerKeys::development()).unwrap_err();
    assert!(matches!(err, ModelError::ModelIdMismatch { .. }), "{err:?}");
}

#[test]
fn wrong_input_shape_is_a_typed_error() {
    let model = bundled_model("world-v3");
    let image = IrisImage::new(128, 512, vec![0; 128 * 512]).unwrap();
    let mask = IrisMask::all_valid(128, 512);
    let err = model.encode(&image, &mask).unwrap_err();
    assert!(matches!(err, ModelError::InputShape { ref input, .. } if input == "image"), "{err:?}");
    let mask = IrisMask::all_valid(128, 1024);
    let err = model.encode(&image, &mask).unwrap_err();
    assert!(matches!(err, ModelError::InputShape { .. }), "{err:?}");
}

#[test]
fn manifest_onnx_mismatch_is_a_typed_error() {
    let (m, onnx) = world_v3_files();
    let mut rules = m.rules.clone();
    rules.outputs[0].shape = vec![4, 16, 128];
    assert!(matches!(Model::lower_rules(&onnx, &rules).unwrap_err(), ModelError::ManifestMismatch(_)));
    let mut rules = m.rules.clone();
    rules.inputs[0].name = "picture".into();
    assert!(matches!(Model::lower_rules(&onnx, &rules).unwrap_err(), ModelError::ManifestMismatch(_)));
}

/// A minimal ONNX graph `y = op(x)` built with tract's protobuf types (no Python needed).
fn unary_model(op: &str) -> Vec<u8> {
    let dims = |d: &[i64]| pb::TypeProto {
        denotation: String::new(),
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: Some(pb::TensorShapeProto {
                dim: d
                    .iter()
                    .map(|&v| pb::tensor_shape_proto::Dimension {
                        denotation: String::new(),
                        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)),
                    })
                    .collect(),
            }),
        })),
    };
    let vi = |n: &str| pb::ValueInfoProto { name: n.into(), r#type: Some(dims(&[1, 4])), doc_string: String::new() };
    let node = pb::NodeProto { input: vec!["x".into()], output: vec!["y".into()], name: "the_bad_node".into(), op_type: op.into(), ..Default::default() };
    let graph = pb::GraphProto { node: vec![node], name: "g".into(), input: vec![vi("x")], output: vec![vi("y")], ..Default::default() };
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

#[test]
fn unsupported_op_names_the_node_and_op() {
    let typed = zkiris::model::onnx::load_unpinned(&unary_model("Sigmoid")).unwrap();
    let b = zkiris::model::lower::InputBinding { name: "x".into(), range: zkiris::model::ir::Bound::new(0, 255), scale_bits: 8 };
    let err = zkiris::model::lower::lower(&typed, &[b], &[], Default::default()).unwrap_err();
    match err {
        ModelError::UnsupportedOp { node, op } => {
            assert_eq!(node, "the_bad_node");
            assert!(op.to_lowercase().contains("sigmoid"), "{op}");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
    // ...while a supported op (Relu → Max with 0) lowers.
    let typed = zkiris::model::onnx::load_unpinned(&unary_model("Relu")).unwrap();
    let b = zkiris::model::lower::InputBinding { name: "x".into(), range: zkiris::model::ir::Bound::new(-255, 255), scale_bits: 8 };
    let g = zkiris::model::lower::lower(&typed, &[b], &[], Default::default()).unwrap();
    assert!(g.nodes.iter().any(|n| n.op.name() == "Max"));
}

#[test]
fn image_outside_the_input_range_is_refused() {
    // The tiny test model takes 4-bit pixels (range 0..=15): a byte image is refused with the
    // input's name and the offending value, before anything is proven.
    let spec = zkiris::testkit::TinySpec::default_for(zkiris::testkit::TinyRules::World);
    let model = zkiris::testkit::tiny_model(&spec);
    let (image, mask) = zkiris::testkit::tiny_sample(&spec, 1);
    let mut px = image.pixels().to_vec();
    px[5] = 200;
    let bad = IrisImage::new(image.height(), image.width(), px).unwrap();
    match model.encode(&bad, &mask) {
        Err(ModelError::InputRange { input, index, value, hi, .. }) => {
            assert_eq!((input.as_str(), index, value, hi), ("image", 5, 200, 15));
        }
        other => panic!("expected InputRange, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_model_whose_values_could_overflow_is_refused_naming_the_tensor() {
    // ezkl's gabor_small Conv fed by an input declared up to 2^55: the responses could exceed
    // the 60-bit bound, so lowering refuses the model at load instead of wrapping.
    use zkiris::model::ir::Bound;
    use zkiris::model::lower::{lower, InputBinding};
    use zkiris::model::quant::QuantConfig;
    let onnx = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bench-models/ezkl/gabor_small.onnx")).unwrap();
    let typed = zkiris::model::onnx::load_unpinned(&onnx).unwrap();
    let name = typed.node(typed.input_outlets().unwrap()[0].node).name.clone();
    let binding = InputBinding { name, range: Bound::new(0, 1 << 55), scale_bits: 0 };
    match lower(&typed, &[binding], &[], QuantConfig::default()) {
        Err(ModelError::BoundOverflow { tensor, bits, limit }) => {
            assert!(tensor.contains("gabor"), "names the tensor: {tensor}");
            assert!(bits > limit, "{bits} > {limit}");
        }
        other => panic!("expected BoundOverflow, got {:?}", other.map(|g| g.nodes.len())),
    }
}
