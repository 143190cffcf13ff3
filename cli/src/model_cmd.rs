//! `zkiris models`, `zkiris model sign|keygen` and `zkiris encode`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use zkiris::model::manifest::ModelSpec;
use zkiris::model::Model;
use zkiris::model::{dev_issuer_key, IssuerSigningKey, DEV_ISSUER_KEY_ID};

use crate::common::{manifest_path, models_dir, TrustArgs};

/// Arguments of `zkiris models`.
#[derive(Args)]
pub struct ModelsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Issuer subcommands.
#[derive(Subcommand)]
pub enum ModelCommand {
    /// Sign a model spec (spec.json + ONNX) into a manifest.
    Sign {
        /// The spec written by models/make_models.py.
        #[arg(long)]
        spec: PathBuf,
        /// Issuer key: `dev` (INSECURE development key) or a file holding a hex secret key.
        #[arg(long)]
        key: String,
        /// Key id recorded in the manifest (defaults to the dev id for `dev`).
        #[arg(long)]
        key_id: Option<String>,
        /// Output path (default: manifest.json next to the spec).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a new issuer key pair (secret to `<out>`, public key to `<out>.pub`).
    Keygen {
        /// Path of the secret key file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Arguments of `zkiris encode`.
#[derive(Args)]
pub struct EncodeArgs {
    /// Model manifest path or bundled model name.
    #[arg(long)]
    pub model: String,
    /// 8-bit grayscale PNG of the normalized iris.
    #[arg(long)]
    pub image: PathBuf,
    /// Mask PNG (nonzero = valid). Without it every pixel is valid.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Runs `zkiris models`.
pub fn models(a: ModelsArgs) -> Result<ExitCode> {
    let keys = a.trust.keys()?;
    let dir = models_dir();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("manifest.json")))
        .filter(|p| p.exists())
        .collect();
    entries.sort();
    let mut rows = Vec::new();
    for path in entries {
        let row = match Model::load(&path, &keys) {
            Ok(m) => {
                let man = m.manifest();
                json!({"name": man.name, "version": man.version, "model_id": man.model_id, "issuer": man.issuer.key_id,
                       "signature": "valid", "macs": m.macs(), "manifest": path.display().to_string()})
            }
            Err(e) => json!({"manifest": path.display().to_string(), "signature": format!("INVALID: {e}")}),
        };
        rows.push(row);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &rows {
            println!(
                "{:<16} {:<8} {}  issuer={} signature={}",
                r["name"].as_str().unwrap_or("?"),
                r["version"].as_str().unwrap_or("?"),
                r["model_id"].as_str().unwrap_or("-"),
                r["issuer"].as_str().unwrap_or("-"),
                r["signature"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn issuer_key(spec: &str) -> Result<(IssuerSigningKey, Option<&'static str>)> {
    if spec == "dev" {
        eprintln!("warning: signing with the DEVELOPMENT issuer key ({DEV_ISSUER_KEY_ID}); its secret is public");
        return Ok((dev_issuer_key(), Some(DEV_ISSUER_KEY_ID)));
    }
    let text = std::fs::read_to_string(spec).with_context(|| format!("reading issuer key {spec}"))?;
    Ok((IssuerSigningKey::from_hex(text.trim())?, None))
}

/// Runs `zkiris model …`.
pub fn model(c: ModelCommand) -> Result<ExitCode> {
    match c {
        ModelCommand::Sign { spec, key, key_id, out } => {
            let spec_bytes = std::fs::read(&spec).with_context(|| format!("reading {}", spec.display()))?;
            let s = ModelSpec::from_json(&spec_bytes)?;
            let dir = spec.parent().map(PathBuf::from).unwrap_or_default();
            let onnx = std::fs::read(dir.join(&s.onnx)).with_context(|| format!("reading {}", dir.join(&s.onnx).display()))?;
            let (k, default_id) = issuer_key(&key)?;
            let id = match (key_id, default_id) {
                (Some(id), _) => id,
                (None, Some(d)) => d.to_string(),
                (None, None) => bail!("--key-id is required with a key file"),
            };
            let manifest = s.sign(&onnx, &id, &k)?;
            let out = out.unwrap_or_else(|| dir.join("manifest.json"));
            std::fs::write(&out, manifest.to_json_pretty() + "\n").with_context(|| format!("writing {}", out.display()))?;
            println!("{} {} model_id={} -> {}", manifest.name, manifest.version, manifest.model_id, out.display());
        }
        ModelCommand::Keygen { out } => {
            let k = IssuerSigningKey::generate();
            std::fs::write(&out, format!("{}\n", k.secret_hex().as_str())).with_context(|| format!("writing {}", out.display()))?;
            let pubpath = PathBuf::from(format!("{}.pub", out.display()));
            std::fs::write(&pubpath, format!("{}\n", k.public_key_hex()))?;
            println!("secret key: {} (keep it secret)\npublic key: {} = {}", out.display(), pubpath.display(), k.public_key_hex());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `zkiris encode`.
pub fn encode(a: EncodeArgs) -> Result<ExitCode> {
    let keys = a.trust.keys()?;
    let model = Model::load(&manifest_path(&a.model), &keys)?;
    let image = zkiris::image::IrisImage::read_png(&a.image)?;
    let mask = match &a.mask {
        Some(p) => zkiris::image::IrisMask::read_png(p)?,
        None => zkiris::image::IrisMask::all_valid(image.height(), image.width()),
    };
    let enc = model.encode(&image, &mask)?;
    let template = model.template(&enc)?;
    if a.json {
        println!("{}", template.to_json());
    } else {
        println!("model      {} {} ({})", model.manifest().name, model.manifest().version, model.id_hex());
        println!("valid bits {} of 16384 (minimum {})", template.valid_bits, model.manifest().rules.min_valid_bits);
        println!("iris code  {}…", &template.iris_codes[..48]);
        println!("mask code  {}…", &template.mask_codes[..48]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `zkiris match`.
#[derive(Args)]
pub struct MatchArgs {
    /// First template (JSON written by `zkiris encode --json`).
    pub a: PathBuf,
    /// Second template.
    pub b: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `zkiris match`: open-iris's default Hamming distance matcher (±15 shifts, half split).
pub fn match_templates(a: MatchArgs) -> Result<ExitCode> {
    use zkiris::iriscode::{HammingDistanceMatcher, IrisTemplate};
    let load = |p: &PathBuf| -> Result<IrisTemplate> {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        IrisTemplate::from_json(&text).with_context(|| format!("parsing {}", p.display()))
    };
    let (ta, tb) = (load(&a.a)?, load(&a.b)?);
    if ta.code_layout != tb.code_layout {
        bail!("templates use different code layouts ({:?} vs {:?})", ta.code_layout, tb.code_layout);
    }
    let r = HammingDistanceMatcher::default().run(&ta.decode()?, &tb.decode()?);
    if a.json {
        println!("{}", json!({"distance": r.distance, "shift": r.shift, "same_model": ta.model_id == tb.model_id}));
    } else {
        println!("{:.6} (best shift {:+})", r.distance, r.shift);
    }
    Ok(ExitCode::SUCCESS)
}
