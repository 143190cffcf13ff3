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

/// Whether [`write_atomically`] may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail if the file exists (checked atomically when the file is put in place).
    Refuse,
    /// Replace it.
    Replace,
}

/// Fails when `path` exists and `overwrite` refuses it: the cheap early check before any work.
pub fn check_writable(path: &Path, overwrite: Overwrite, what: &str) -> Result<()> {
    if overwrite == Overwrite::Refuse && path.symlink_metadata().is_ok() {
        anyhow::bail!("{what} {} already exists; pass --force to replace it", path.display());
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (created with
/// mode 0600 on Unix, then given `mode`), fsync, rename (or, with [`Overwrite::Refuse`], a
/// hard link that fails if `path` exists), fsync of the directory. On any failure nothing is
/// left behind: neither `path` nor the temporary file.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32, overwrite: Overwrite) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let written = (|| -> std::io::Result<()> {
        // tempfile creates the file with mode 0600 and deletes it when dropped unpersisted.
        let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        tmp.write_all(bytes)?;
        tmp.flush()?;
        tmp.as_file().sync_all()?;
        match overwrite {
            Overwrite::Refuse => tmp.persist_noclobber(path).map_err(|e| e.error)?,
            Overwrite::Replace => tmp.persist(path).map_err(|e| e.error)?,
        };
        // Make the rename durable.
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(anyhow::anyhow!("{} already exists; pass --force to replace it", path.display())),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// Reads a file, naming it in the error.
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// `0x` and the hex of 32 big-endian bytes.
pub fn hex32(b: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(b))
}
