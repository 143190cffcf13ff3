//! Loading ONNX bytes with tract into a decluttered, fully typed graph.
//!
//! tract's decluttering rewrites ops (Relu becomes `Max` with 0, Gemm becomes `EinSum` plus
//! `Add`, Flatten folds into a reshape) — [`super::lower`] handles the decluttered form.

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::error::ModelError;
use super::manifest::InputSpec;

/// A decluttered tract model with fixed input shapes.
pub type TypedGraph = TypedModel;

fn tract_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::OnnxParse(format!("{e:#}"))
}

/// Parses ONNX bytes, pins the inputs to the manifest's shapes, and declutters.
///
/// Truncated or corrupt bytes give [`ModelError::OnnxParse`]; an input the manifest does not
/// declare (or vice versa) gives [`ModelError::ManifestMismatch`].
pub fn load(onnx: &[u8], inputs: &[InputSpec]) -> Result<TypedGraph, ModelError> {
    let mut reader = std::io::Cursor::new(onnx);
    let mut model = tract_onnx::onnx().model_for_read(&mut reader).map_err(tract_err)?;
    let declared = model.input_outlets().map_err(tract_err)?.len();
    if declared != inputs.len() {
        return Err(ModelError::ManifestMismatch(format!("ONNX has {declared} inputs, manifest declares {}", inputs.len())));
    }
    for (i, spec) in inputs.iter().enumerate() {
        let outlet = model.input_outlets().map_err(tract_err)?[i];
        let name = model.node(outlet.node).name.clone();
        if name != spec.name {
            return Err(ModelError::ManifestMismatch(format!("ONNX input {i} is {name:?}, manifest says {:?}", spec.name)));
        }
        let fact = model.input_fact(i).map_err(tract_err)?.clone();
        let dt = fact.datum_type.concretize().unwrap_or(u8::datum_type());
        model.set_input_fact(i, InferenceFact::dt_shape(dt, spec.shape.iter().map(|&d| d as i64).collect::<Vec<_>>())).map_err(tract_err)?;
    }
    let typed = model.into_typed().map_err(tract_err)?;
    typed.into_decluttered().map_err(tract_err)
}

/// Parses ONNX bytes without a manifest (inputs keep the shapes the file declares).
#[cfg(feature = "testkit")]
pub fn load_unpinned(onnx: &[u8]) -> Result<TypedGraph, ModelError> {
    let mut reader = std::io::Cursor::new(onnx);
    let model = tract_onnx::onnx().model_for_read(&mut reader).map_err(tract_err)?;
    model.into_typed().map_err(tract_err)?.into_decluttered().map_err(tract_err)
}

/// Runs the tract model on f32 (or integer) inputs and returns its outputs as f64 — the float
/// reference the quantisation error is measured against (tests and research tools).
#[cfg(feature = "testkit")]
pub fn run_reference(model: &TypedGraph, inputs: Vec<Tensor>) -> Result<Vec<Vec<f64>>, ModelError> {
    let plan = model.clone().into_runnable().map_err(tract_err)?;
    let out = plan.run(inputs.into_iter().map(|t| t.into()).collect()).map_err(tract_err)?;
    out.iter()
        .map(|t| {
            let t = t.cast_to::<f64>().map_err(tract_err)?;
            Ok(t.to_plain_array_view::<f64>().map_err(tract_err)?.iter().copied().collect())
        })
        .collect()
}
