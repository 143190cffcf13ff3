//! Scores normalized iris images with a liveness model the way zkiris proves it: the ONNX graph
//! lowered to the exact integer IR and run by the native executor (the circuit's twin), next to
//! tract's float output of the same ONNX. `models/train_liveness.py evaluate` turns the output into
//! APCER / BPCER for the float and the quantized model (see `models/liveness-v1/README.md`).
//!
//! ```text
//! cargo run -p zkiris --example liveness_eval -- MODEL INPUT... [--out FILE] [--describe]
//!   MODEL   a signed manifest.json (verified against the development issuer key, then
//!           `Model::load` + `Model::encode`, the SDK path), or an unsigned spec.json (lowered with
//!           `Model::lower_rules`, the check `zkiris model sign` runs, and run with `exec::run`)
//!   INPUT   an .npy of uint8 images [N, rows, cols] (or [rows, cols]), or an 8-bit grayscale PNG
//! ```
//!
//! `--describe` also prints the lowered integer graph (op, shape, scale, proven bound) to stderr.
//! A model input with the mask role (e.g. a bundled iris-code + liveness model) is fed an
//! all-valid mask. Prints (or writes to FILE) one JSON object:
//! `{"model", "output", "scale_bits", "threshold", "items": [{"source", "index", "score",
//! "tract_float", "passes"}], "quant": QuantReport}`, where `score` is the integer liveness
//! output (real value `score / 2^scale_bits`) and `passes` is `score >= threshold`.

use std::error::Error;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde_json::json;
use tract_onnx::prelude::*;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::exec;
use zkiris::model::ir::{Graph, IntTensor};
use zkiris::model::manifest::{InputRole, ModelRules, ModelSpec};
use zkiris::model::quant::QuantReport;
use zkiris::model::{IssuerKeys, Model};

type Res<T> = Result<T, Box<dyn Error>>;

/// One image to score, with where it came from.
struct Item {
    source: String,
    index: usize,
    image: IrisImage,
}

/// The model in one of its two forms.
enum Loaded {
    /// Signed and verified: scored through `Model::encode`.
    Signed(Box<Model>),
    /// Unsigned spec: scored through the lowered graph.
    Spec(Box<SpecModel>),
}

/// An unsigned spec and its lowered graph.
struct SpecModel {
    graph: Graph,
    rules: ModelRules,
}

impl Loaded {
    fn graph(&self) -> &Graph {
        match self {
            Loaded::Signed(m) => m.graph(),
            Loaded::Spec(s) => &s.graph,
        }
    }

    fn rules(&self) -> &ModelRules {
        match self {
            Loaded::Signed(m) => &m.manifest().rules,
            Loaded::Spec(s) => &s.rules,
        }
    }
}

fn load_model(path: &Path) -> Res<(Loaded, Vec<u8>, String)> {
    let text = std::fs::read(path)?;
    let value: serde_json::Value = serde_json::from_slice(&text)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if value.get("schema").is_some() {
        let model = Model::load(path, &IssuerKeys::development())?;
        let onnx = std::fs::read(dir.join(&model.manifest().onnx.file))?;
        let name = model.manifest().name.clone();
        Ok((Loaded::Signed(Box::new(model)), onnx, name))
    } else {
        let spec = ModelSpec::from_json(&text)?;
        let onnx = std::fs::read(dir.join(&spec.onnx))?;
        let graph = Model::lower_rules(&onnx, &spec.rules)?;
        Ok((Loaded::Spec(Box::new(SpecModel { graph, rules: spec.rules.clone() })), onnx, spec.name))
    }
}

fn read_items(path: &Path) -> Res<Vec<Item>> {
    let source = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    if path.extension().and_then(|e| e.to_str()) == Some("png") {
        return Ok(vec![Item { source, index: 0, image: IrisImage::read_png(path)? }]);
    }
    let npy = npyz::NpyFile::new(BufReader::new(File::open(path)?))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() != npyz::Order::C {
        return Err(format!("{source}: Fortran-order arrays are not supported; save with np.save of a C-contiguous array").into());
    }
    let (n, rows, cols) = match shape.as_slice() {
        [r, c] => (1, *r, *c),
        [n, r, c] => (*n, *r, *c),
        _ => return Err(format!("{source}: expected shape [N, rows, cols] or [rows, cols], got {shape:?}").into()),
    };
    let data: Vec<u8> = npy.into_vec()?;
    let px = rows * cols;
    (0..n)
        .map(|i| Ok(Item { source: source.clone(), index: i, image: IrisImage::new(rows as u32, cols as u32, data[i * px..(i + 1) * px].to_vec())? }))
        .collect()
}

fn main() -> Res<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let out_file = match args.iter().position(|a| a == "--out") {
        Some(i) if i + 1 < args.len() => {
            let f = PathBuf::from(args.remove(i + 1));
            args.remove(i);
            Some(f)
        }
        Some(_) => return Err("--out needs a file name".into()),
        None => None,
    };
    let describe = args.iter().any(|a| a == "--describe");
    args.retain(|a| a != "--describe");
    if args.len() < 2 {
        return Err("usage: liveness_eval MODEL(manifest.json|spec.json) INPUT(.npy|.png)... [--out FILE] [--describe]".into());
    }
    let (model, onnx, name) = load_model(Path::new(&args[0]))?;
    let rules = model.rules().clone();
    let rule = rules.liveness.clone().ok_or("the model has no liveness rule")?;
    let graph = model.graph();
    let out_t = graph.output(&rule.output).ok_or_else(|| format!("the lowered graph has no output {:?}", rule.output))?;
    let scale_bits = graph.info(out_t).scale_bits;
    if describe {
        for node in &graph.nodes {
            let info = graph.info(node.output);
            if info.konst.is_none() {
                eprintln!(
                    "{:<28} {:<10} {:?} scale 2^-{} bound [{}, {}] ({} bits)",
                    node.name,
                    node.op.name(),
                    info.shape,
                    info.scale_bits,
                    info.bound.lo,
                    info.bound.hi,
                    info.bound.magnitude_bits()
                );
            }
        }
        eprintln!("multiply-accumulates: {}", graph.macs());
    }

    // tract's float reference of the same ONNX, planned once.
    let typed = zkiris::model::onnx::load(&onnx, &rules.inputs)?;
    let outlets = typed.output_outlets()?.to_vec();
    let float_pos = outlets
        .iter()
        .position(|o| typed.outlet_label(*o).map(|l| l == rule.output).unwrap_or(false) || typed.node(o.node).name == rule.output)
        .ok_or_else(|| format!("tract graph has no output {:?}", rule.output))?;
    let plan = typed.clone().into_runnable()?;

    let mut items_json = Vec::new();
    let (mut ints, mut floats) = (Vec::new(), Vec::new());
    for path in &args[1..] {
        for item in read_items(Path::new(path))? {
            let (h, w) = (item.image.height(), item.image.width());
            let mask = IrisMask::all_valid(h, w);
            let score = match &model {
                Loaded::Signed(m) => m.encode(&item.image, &mask)?.liveness.ok_or("no liveness score")?,
                Loaded::Spec(spec_model) => {
                    let inputs: Vec<IntTensor> = spec_model
                        .rules
                        .inputs
                        .iter()
                        .map(|spec| {
                            let data: Vec<i64> = match spec.role {
                                InputRole::Image => item.image.pixels().iter().map(|&v| v as i64).collect(),
                                InputRole::Mask => mask.bits().iter().map(|&v| v as i64).collect(),
                            };
                            IntTensor::new(vec![h as usize, w as usize], data)
                        })
                        .collect();
                    let trace = exec::run(&spec_model.graph, &inputs)?;
                    let v = trace.get(out_t);
                    if v.len() != 1 {
                        return Err(format!("output {:?} has {} values, expected 1", rule.output, v.len()).into());
                    }
                    v.data[0]
                }
            };
            let tract_inputs: TVec<TValue> = rules
                .inputs
                .iter()
                .map(|spec| {
                    let data: Vec<u8> = match spec.role {
                        InputRole::Image => item.image.pixels().to_vec(),
                        InputRole::Mask => mask.bits().to_vec(),
                    };
                    Ok(tract_ndarray::Array2::from_shape_vec((h as usize, w as usize), data)?.into_tensor().into())
                })
                .collect::<Res<_>>()?;
            let out = plan.run(tract_inputs)?;
            let f = out[float_pos].cast_to::<f64>()?.to_plain_array_view::<f64>()?.iter().copied().next().ok_or("empty float output")?;
            ints.push(score);
            floats.push(f);
            items_json.push(json!({"source": item.source, "index": item.index, "score": score, "tract_float": f, "passes": score >= rule.threshold}));
        }
    }
    let report = QuantReport::compare(&rule.output, &ints, scale_bits, &floats);
    eprintln!(
        "{name}: {} images, output {:?} at 2^-{scale_bits}, threshold {}; quantized vs tract float: max |err| {:.3e}, mean {:.3e}",
        ints.len(),
        rule.output,
        rule.threshold,
        report.max_abs_err,
        report.mean_abs_err
    );
    let doc = json!({"model": name, "output": rule.output, "scale_bits": scale_bits, "threshold": rule.threshold, "items": items_json, "quant": report});
    let text = serde_json::to_string(&doc)?;
    match out_file {
        Some(f) => std::fs::write(f, text)?,
        None => println!("{text}"),
    }
    Ok(())
}
