//! Models: signed manifests, ONNX loading with tract, and the exact integer IR.
//!
//! `manifest` (what the issuer signs) → `onnx` (tract load + declutter) → `lower` (tract
//! graph → `ir::Graph`) → `bounds` (proven value ranges) → `exec` (native integer executor,
//! the twin of the circuit). Those five stages, and `quant`, are crate-private: an SDK user
//! loads a [`Model`] and calls [`Model::encode`]. The `testkit` feature (integration tests,
//! examples) makes them public and hidden from the docs.

/// Declares the model's internal modules: crate-private, except with the `testkit` feature
/// (integration tests, examples, research tools), which makes them public (and hidden from
/// the docs). An SDK user never needs them: [`Model`] and [`Encoding`] are the API.
macro_rules! internal_mods {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])* #[cfg(feature = "testkit")] #[doc(hidden)] pub mod $name;
        $(#[$m])* #[cfg(not(feature = "testkit"))] pub(crate) mod $name;
    )*};
}

/// Like [`internal_mods`], for an inherent method: `pub` with `testkit`, else `pub(crate)`.
macro_rules! internal_fn {
    ($(#[$m:meta])* fn $($rest:tt)*) => {
        $(#[$m])* #[cfg(feature = "testkit")] #[doc(hidden)] pub fn $($rest)*
        $(#[$m])* #[cfg(not(feature = "testkit"))] pub(crate) fn $($rest)*
    };
}

internal_mods! {
    /// Proven value ranges of every tensor.
    bounds;
    /// The native integer executor (the circuit's twin).
    exec;
    /// The exact integer IR.
    ir;
    /// tract graph → IR.
    lower;
    /// ONNX loading with tract.
    onnx;
    /// Float → fixed-point quantisation of the lowered graph.
    quant;
}
pub(crate) mod error;
pub(crate) mod issuer;
pub mod manifest;

pub use error::ModelError;
#[cfg(any(test, feature = "dev-keys"))]
pub use issuer::dev_issuer_key;
pub use issuer::{IssuerKeys, IssuerRef, IssuerSignature, IssuerSigningKey, DEV_ISSUER_KEY_ID};
pub use manifest::{Manifest, ModelRules, VerifiedModelFiles};

use std::path::Path;

use crate::encoder::{self, EncodedBits, Outputs};
use crate::image::{IrisImage, IrisMask};
use ir::{Bound, Graph, IntTensor};
use manifest::InputRole;

/// A verified, lowered model: the manifest the issuer signed and the exact integer IR of its
/// ONNX graph. Only constructed through signature verification.
#[derive(Clone, Debug)]
pub struct Model {
    manifest: Manifest,
    graph: Graph,
    id: [u8; 32],
}

/// The result of running a model natively on one enrollment.
#[derive(Clone, Debug)]
pub struct Encoding {
    /// Every tensor value of the run (the circuit's witness source).
    pub(crate) trace: exec::Trace,
    /// The encoded code and mask bits.
    pub bits: EncodedBits,
    /// Liveness score, if the model has a liveness rule.
    pub liveness: Option<i64>,
}

impl Encoding {
    /// Every tensor value of the run (tests and examples; the crate reads the field).
    #[cfg(feature = "testkit")]
    #[doc(hidden)]
    pub fn trace(&self) -> &exec::Trace {
        &self.trace
    }

    /// The iris code as the canonical [`crate::iriscode::IrisCode`].
    pub fn iris_code(&self) -> Result<crate::iriscode::IrisCode, ModelError> {
        crate::iriscode::IrisCode::from_plane_major(&self.bits.iris, &self.bits.mask)
            .map_err(|e| ModelError::ManifestMismatch(format!("encoder output is not a 4x16x256 code: {e}")))
    }
}

impl Model {
    /// The serialized template (`{"model_id","iris_codes","mask_codes","valid_bits"}`) of an encoding.
    pub fn template(&self, enc: &Encoding) -> Result<crate::iriscode::IrisTemplate, ModelError> {
        Ok(crate::iriscode::IrisTemplate::new(self.id, &enc.iris_code()?, self.manifest.rules.code_layout))
    }

    /// The serialized iris and mask codes of an encoding: the model's bit planes in its
    /// `code_layout` order, packed MSB first — the bytes `zkiris encode --json` prints, a
    /// public-code proof carries (`ProofBundle::iris_code`, `mask_code`) and an mpc-shares
    /// proof secret-shares. Zeroized on drop (a code is biometric data).
    pub fn serialized_codes(&self, enc: &Encoding) -> (zeroize::Zeroizing<Vec<u8>>, zeroize::Zeroizing<Vec<u8>>) {
        let rules = &self.manifest.rules;
        let [rows, cols] = rules.encoder.grid;
        let ser = |planes: usize, bits: &[u8]| zeroize::Zeroizing::new(crate::iriscode::serialize::serialize_bits(rules.code_layout, planes, rows, cols, bits));
        (ser(rules.encoder.iris.len(), &enc.bits.iris), ser(rules.encoder.mask.len(), &enc.bits.mask))
    }

    /// Loads `manifest.json` and its ONNX, verifies them against `trusted`, and lowers the graph.
    pub fn load(manifest_path: &Path, trusted: &IssuerKeys) -> Result<Self, ModelError> {
        Self::from_verified(VerifiedModelFiles::load(manifest_path, trusted)?)
    }

    /// Lowers verified model files.
    pub fn from_verified(files: VerifiedModelFiles) -> Result<Self, ModelError> {
        let VerifiedModelFiles { manifest, onnx } = files;
        let id = manifest.model_id_bytes()?;
        let graph = Self::lower_rules(&onnx, &manifest.rules)?;
        Ok(Self { manifest, graph, id })
    }

    internal_fn! {
        /// Loads ONNX bytes and lowers them under `rules` (no signature involved: used by the
        /// issuer tooling before signing, and by `from_verified`).
        fn lower_rules(onnx_bytes: &[u8], rules: &ModelRules) -> Result<Graph, ModelError> {
            let typed = onnx::load(onnx_bytes, &rules.inputs)?;
            let bindings: Vec<lower::InputBinding> = rules
                .inputs
                .iter()
                .map(|i| lower::InputBinding { name: i.name.clone(), range: Bound::new(i.range[0] as i128, i.range[1] as i128), scale_bits: 0 })
                .collect();
            let mut names: Vec<String> = rules.outputs.iter().map(|o| o.name.clone()).collect();
            if let Some(l) = &rules.liveness {
                if !names.contains(&l.output) {
                    names.push(l.output.clone());
                }
            }
            let graph = lower::lower(&typed, &bindings, &names, quant::QuantConfig::default())?;
            for o in &rules.outputs {
                let t = graph.output(&o.name).ok_or_else(|| ModelError::ManifestMismatch(format!("no output {:?}", o.name)))?;
                let shape = &graph.info(t).shape;
                if shape != &o.shape {
                    return Err(ModelError::ManifestMismatch(format!("output {:?} has shape {shape:?}, manifest says {:?}", o.name, o.shape)));
                }
            }
            Ok(graph)
        }
    }

    /// The signed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    internal_fn! {
        /// The integer IR.
        fn graph(&self) -> &Graph {
            &self.graph
        }
    }

    /// Multiply-accumulates of one native run (the model's size).
    pub fn macs(&self) -> u64 {
        self.graph.macs()
    }

    /// The 32-byte model id.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// The model id as lowercase hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// The image shape `(rows, cols)` the model expects.
    pub fn image_shape(&self) -> Option<(u32, u32)> {
        self.manifest.rules.inputs.iter().find(|i| i.role == InputRole::Image).map(|i| (i.shape[0] as u32, i.shape[1] as u32))
    }

    internal_fn! {
        /// Builds the executor inputs (in ONNX order) from an image and mask.
        fn inputs_for(&self, image: &IrisImage, mask: &IrisMask) -> Result<Vec<IntTensor>, ModelError> {
            if mask.height() != image.height() || mask.width() != image.width() {
                return Err(ModelError::InputShape {
                    input: "mask".into(),
                    expected: vec![image.height() as usize, image.width() as usize],
                    actual: vec![mask.height() as usize, mask.width() as usize],
                });
            }
            self.manifest
                .rules
                .inputs
                .iter()
                .map(|spec| {
                    let (h, w, data): (usize, usize, &[u8]) = match spec.role {
                        InputRole::Image => (image.height() as usize, image.width() as usize, image.pixels()),
                        InputRole::Mask => (mask.height() as usize, mask.width() as usize, mask.bits()),
                    };
                    if spec.shape != [h, w] {
                        return Err(ModelError::InputShape { input: spec.name.clone(), expected: spec.shape.clone(), actual: vec![h, w] });
                    }
                    Ok(IntTensor::new(vec![h, w], data.iter().map(|&v| v as i64).collect()))
                })
                .collect()
        }
    }

    /// Runs the model natively and applies the encoder rules.
    pub fn encode(&self, image: &IrisImage, mask: &IrisMask) -> Result<Encoding, ModelError> {
        let inputs = self.inputs_for(image, mask)?;
        let trace = exec::run(&self.graph, &inputs)?;
        let bits = encoder::encode(&self.manifest.rules.encoder, &Outputs::from_trace(&self.graph, &trace))?;
        let liveness = match &self.manifest.rules.liveness {
            None => None,
            Some(rule) => {
                let t = self.graph.output(&rule.output).ok_or_else(|| ModelError::ManifestMismatch(format!("no liveness output {:?}", rule.output)))?;
                let v = trace.get(t);
                if v.len() != 1 {
                    return Err(ModelError::ManifestMismatch(format!("liveness output {:?} must be a single value", rule.output)));
                }
                Some(v.data[0])
            }
        };
        Ok(Encoding { trace, bits, liveness })
    }
}
