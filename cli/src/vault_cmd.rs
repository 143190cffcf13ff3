//! `zkiris vault init|enroll|list|check|delete|rotate`: the encrypted enrollment vault from
//! the command line.
//!
//! Passphrases are read from the terminal without echo, or for scripts from
//! `ZKIRIS_VAULT_PASSPHRASE` (and `ZKIRIS_VAULT_NEW_PASSPHRASE` for the new passphrase of
//! `init` and `rotate`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use zeroize::Zeroizing;
use zkiris::attest::{dev_device_key, DeviceKey};
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::vault::{EnrollmentRecord, KdfCost, PassphraseProvider, RecordId, RecoveryReport, Vault, VaultOptions};

/// Environment variable holding the vault passphrase (for scripts).
pub const PASSPHRASE_ENV: &str = "ZKIRIS_VAULT_PASSPHRASE";
/// Environment variable holding the new passphrase for `rotate` (and `init`).
pub const NEW_PASSPHRASE_ENV: &str = "ZKIRIS_VAULT_NEW_PASSPHRASE";

/// Argon2id work factors for a new passphrase.
#[derive(Args, Clone, Copy, Debug)]
pub struct KdfArgs {
    /// Argon2id memory in KiB.
    #[arg(long, default_value_t = KdfCost::MOBILE.m_cost_kib)]
    kdf_memory_kib: u32,
    /// Argon2id passes.
    #[arg(long, default_value_t = KdfCost::MOBILE.t_cost)]
    kdf_passes: u32,
    /// Argon2id lanes.
    #[arg(long, default_value_t = KdfCost::MOBILE.p_cost)]
    kdf_lanes: u32,
}

impl KdfArgs {
    fn cost(&self) -> KdfCost {
        KdfCost { m_cost_kib: self.kdf_memory_kib, t_cost: self.kdf_passes, p_cost: self.kdf_lanes }
    }
}

/// Vault subcommands.
#[derive(Subcommand, Debug)]
pub enum VaultCommand {
    /// Create an empty vault locked with a new passphrase.
    Init {
        /// Vault directory (created if missing).
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Act as an enrollment device: commit to an image and mask, sign the commitment, and
    /// import the record.
    Enroll {
        /// Vault directory.
        #[arg(long)]
        dir: PathBuf,
        /// 8-bit grayscale PNG of the normalized iris.
        #[arg(long)]
        image: PathBuf,
        /// Mask PNG (nonzero = valid).
        #[arg(long)]
        mask: PathBuf,
        /// Device signing key: `dev` (the INSECURE development device), a 32-byte hex secret,
        /// or a file holding one.
        #[arg(long, default_value = "dev", value_name = "dev|HEX|FILE")]
        device_key: String,
        /// Commitment salt as hex (default: random).
        #[arg(long, value_name = "HEX")]
        salt: Option<String>,
        /// Metadata entry. Repeatable.
        #[arg(long = "meta", value_name = "KEY=VALUE")]
        meta: Vec<String>,
    },
    /// List the records (no secrets).
    List {
        /// Vault directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read, authenticate and decrypt every record and report the damaged ones by id (`list`
    /// reads only the index). Changes nothing. Exit status 0 if every record is intact, 1 if
    /// any is damaged, 2 if the check could not run (wrong passphrase, no vault, ...).
    Check {
        /// Vault directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a record: its data key is destroyed first, then its ciphertext.
    Delete {
        /// Vault directory.
        #[arg(long)]
        dir: PathBuf,
        /// Record id (32 hex digits, as printed by `list`).
        #[arg(long)]
        record: String,
    },
    /// Re-lock the vault with a new passphrase (data keys are re-wrapped; images are not
    /// re-encrypted).
    Rotate {
        /// Vault directory.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

/// Runs a vault subcommand: exit status 0, or 1 when `check` found damaged records.
pub fn run(cmd: VaultCommand) -> Result<ExitCode> {
    let done = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cmd {
        VaultCommand::Init { dir, kdf } => done(init(&dir, kdf.cost())),
        VaultCommand::Enroll { dir, image, mask, device_key, salt, meta } => done(enroll(&dir, &image, &mask, &device_key, salt.as_deref(), &meta)),
        VaultCommand::List { dir, json } => done(list(&dir, json)),
        VaultCommand::Check { dir, json } => check(&dir, json),
        VaultCommand::Delete { dir, record } => done(delete(&dir, &record)),
        VaultCommand::Rotate { dir, kdf } => done(rotate(&dir, kdf.cost())),
    }
}

fn init(dir: &Path, cost: KdfCost) -> Result<()> {
    cost.validate()?;
    let pass = new_passphrase(PASSPHRASE_ENV)?;
    let provider = Arc::new(PassphraseProvider::generate(pass.as_bytes(), cost)?);
    let vault = Vault::create(dir, provider, VaultOptions::default()).with_context(|| format!("creating a vault in {}", dir.display()))?;
    println!("created vault {} in {}", vault.id(), dir.display());
    Ok(())
}

pub(crate) fn open(dir: &Path) -> Result<Vault> {
    let info = Vault::inspect(dir).with_context(|| format!("reading the vault in {}", dir.display()))?;
    if info.kdf.is_none() {
        bail!("the vault in {} is locked with platform key `{}`, not a passphrase", dir.display(), info.key_id);
    }
    let pass = passphrase(PASSPHRASE_ENV, "Vault passphrase: ")?;
    let (vault, report) =
        Vault::open_with_passphrase(dir, pass.as_bytes(), VaultOptions::default()).with_context(|| format!("opening the vault in {}", dir.display()))?;
    print_recovery(&report);
    Ok(vault)
}

fn print_recovery(r: &RecoveryReport) {
    if !r.temp_files_removed.is_empty() || !r.orphan_records_removed.is_empty() {
        eprintln!(
            "recovered from an interrupted write: removed {} temporary file(s) and {} uncommitted record file(s)",
            r.temp_files_removed.len(),
            r.orphan_records_removed.len()
        );
    }
    for id in &r.missing_records {
        eprintln!("warning: record {id} is listed but its file is missing");
    }
}

fn device_key(spec: &str) -> Result<DeviceKey> {
    if spec == "dev" {
        eprintln!(
            "warning: signing with the INSECURE development enrollment device key (its secret is public); \
             never trust device {} in production",
            dev_device_key().id()
        );
        return Ok(dev_device_key());
    }
    let text = if Path::new(spec).is_file() {
        Zeroizing::new(std::fs::read_to_string(spec).with_context(|| format!("reading device key {spec}"))?)
    } else {
        Zeroizing::new(spec.to_string())
    };
    DeviceKey::from_hex(text.trim()).context("--device-key must be `dev`, 64 hex digits, or a file holding them")
}

fn parse_meta(meta: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for m in meta {
        let Some((k, v)) = m.split_once('=') else {
            bail!("--meta `{m}` must be KEY=VALUE");
        };
        if out.insert(k.to_string(), v.to_string()).is_some() {
            bail!("--meta key `{k}` given twice");
        }
    }
    Ok(out)
}

fn enroll(dir: &Path, image: &Path, mask: &Path, key: &str, salt: Option<&str>, meta: &[String]) -> Result<()> {
    let meta = parse_meta(meta)?;
    let key = device_key(key)?;
    let image = IrisImage::read_png(image)?;
    let mask = IrisMask::read_png(mask)?;
    mask.check_matches(&image)?;
    let salt = match salt {
        Some(hex) => Salt::from_hex(hex).context("--salt")?,
        None => Salt::random(),
    };
    // What the enrollment device does: commit, then sign the commitment.
    let commitment = commit(&image, &mask, &salt)?;
    let signature = key.sign_commitment(&commitment.0);
    let mut record = EnrollmentRecord::new(image, mask, salt, commitment, signature, key.id())?;
    for (k, v) in meta {
        record = record.with_metadata(k, v);
    }
    let vault = open(dir)?;
    let id = vault.import(record, &[key.id()])?;
    println!("record     {id}");
    println!("commitment {commitment}");
    println!("device     {}", key.id());
    Ok(())
}

fn list(dir: &Path, as_json: bool) -> Result<()> {
    let vault = open(dir)?;
    let records = vault.list();
    if as_json {
        let rows: Vec<_> = records
            .iter()
            .map(|s| {
                json!({
                    "id": s.id.to_string(),
                    "commitment": s.commitment.to_string(),
                    "device": s.device.to_string(),
                    "created_unix": s.created_unix,
                    "height": s.height,
                    "width": s.width,
                    "metadata": s.metadata,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "vault": vault.id().to_string(), "records": rows }))?);
        return Ok(());
    }
    if records.is_empty() {
        println!("no records");
        return Ok(());
    }
    for s in records {
        let meta: Vec<String> = s.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("{}  {}x{}  created {}  device {}  commitment {}  {}", s.id, s.height, s.width, s.created_unix, s.device, s.commitment, meta.join(" "));
    }
    Ok(())
}

fn check(dir: &Path, as_json: bool) -> Result<ExitCode> {
    let vault = open(dir)?;
    let report = vault.check().with_context(|| format!("checking the vault in {}", dir.display()))?;
    if as_json {
        let damaged: Vec<_> = report.damaged.iter().map(|(id, e)| json!({ "id": id.to_string(), "error": e.to_string() })).collect();
        let intact: Vec<String> = report.intact.iter().map(ToString::to_string).collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "vault": vault.id().to_string(), "intact": intact, "damaged": damaged }))?);
    } else {
        for (id, e) in &report.damaged {
            println!("DAMAGED  {id}  {e}");
        }
        println!("{} record(s) intact, {} damaged", report.intact.len(), report.damaged.len());
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn delete(dir: &Path, record: &str) -> Result<()> {
    let id: RecordId = record.parse()?;
    let vault = open(dir)?;
    vault.delete(&id)?;
    println!("deleted record {id}");
    Ok(())
}

fn rotate(dir: &Path, cost: KdfCost) -> Result<()> {
    cost.validate()?;
    let vault = open(dir)?;
    let pass = new_passphrase(NEW_PASSPHRASE_ENV)?;
    let provider = Arc::new(PassphraseProvider::generate(pass.as_bytes(), cost)?);
    vault.rotate_kek(provider)?;
    println!("vault {} is now locked with the new passphrase ({} record(s) re-wrapped)", vault.id(), vault.list().len());
    Ok(())
}

/// A passphrase from `env` or the terminal.
fn passphrase(env: &str, prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p));
    }
    let p = tty::read_hidden(prompt).with_context(|| format!("reading the passphrase (or set {env})"))?;
    if p.is_empty() {
        bail!("empty passphrase");
    }
    Ok(p)
}

/// A new passphrase from `env`, or typed twice on the terminal.
fn new_passphrase(env: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(env) {
        if p.is_empty() {
            bail!("{env} is empty");
        }
        return Ok(Zeroizing::new(p));
    }
    let a = passphrase(env, "New vault passphrase: ")?;
    let b = passphrase(env, "Repeat the new passphrase: ")?;
    if *a != *b {
        bail!("the passphrases differ");
    }
    Ok(a)
}

/// Reading a line from the controlling terminal with echo turned off.
mod tty {
    use std::io::{self, BufRead, Write};

    use zeroize::Zeroizing;

    #[cfg(unix)]
    pub fn read_hidden(prompt: &str) -> io::Result<Zeroizing<String>> {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};

        let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
        let saved = tcgetattr(&tty)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ECHONL);
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        tcsetattr(&tty, OptionalActions::Flush, &quiet)?;
        /// Restores the terminal even if reading fails.
        struct Restore<'a>(&'a std::fs::File, rustix::termios::Termios);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let _ = tcsetattr(self.0, OptionalActions::Flush, &self.1);
            }
        }
        let _restore = Restore(&tty, saved);
        let mut line = Zeroizing::new(String::with_capacity(1024));
        io::BufReader::new(&tty).read_line(&mut line)?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_string());
        Ok(trimmed)
    }

    #[cfg(not(unix))]
    pub fn read_hidden(_prompt: &str) -> io::Result<Zeroizing<String>> {
        Err(io::Error::other("no hidden terminal input on this platform; set the passphrase environment variable"))
    }
}
