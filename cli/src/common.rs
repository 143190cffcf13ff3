//! Helpers shared by the subcommands: locating bundled models, trust stores, error lines.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zkiris::model::{IssuerKeys, DEV_ISSUER_KEY_ID};

/// Formats an error chain on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

/// The directory holding the bundled models: `$ZKIRIS_MODELS`, else `./models`, else the
/// `models/` directory of the source tree this binary was built from.
pub fn models_dir() -> PathBuf {
    if let Ok(d) = std::env::var("ZKIRIS_MODELS") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("models");
    if local.join("world-v3").exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Issuer trust options shared by commands that load models.
#[derive(clap::Args, Clone, Debug)]
pub struct TrustArgs {
    /// Trust an issuer public key (SEC1 hex, or a file holding it). Repeatable.
    #[arg(long = "issuer-key", value_name = "HEX|FILE")]
    pub issuer_keys: Vec<String>,
    /// Do not trust the bundled DEVELOPMENT issuer key (trusted by default for the demo models).
    #[arg(long)]
    pub no_dev_issuer: bool,
}

impl TrustArgs {
    /// Builds the trust store.
    pub fn keys(&self) -> Result<IssuerKeys> {
        let mut keys = if self.no_dev_issuer { IssuerKeys::new() } else { IssuerKeys::development() };
        for (i, k) in self.issuer_keys.iter().enumerate() {
            let hex = if Path::new(k).exists() { std::fs::read_to_string(k).with_context(|| format!("reading {k}"))? } else { k.clone() };
            keys.add_hex(&format!("issuer-{i}"), hex.trim())?;
        }
        if keys.trusts_development_key() {
            eprintln!("warning: trusting the DEVELOPMENT issuer key ({DEV_ISSUER_KEY_ID}); never do this in production (--no-dev-issuer)");
        }
        Ok(keys)
    }
}

/// Resolves `--model` given as a manifest path or a bundled model name.
pub fn manifest_path(model: &str) -> PathBuf {
    let p = PathBuf::from(model);
    if p.exists() {
        return p;
    }
    models_dir().join(model).join("manifest.json")
}
