//! The encrypted biometric vault: enrolled iris data kept on the person's own device.
//!
//! For each enrollment the vault stores the normalized image, the mask, the commitment salt,
//! the commitment, the enrollment device's signature and id, the creation time and free-form
//! metadata ([`EnrollmentRecord`]). It follows what ISO/IEC 24745 asks of biometric references:
//!
//! - **confidentiality**: every record is encrypted with XChaCha20-Poly1305 under its own
//!   random data key (DEK); DEKs are stored only wrapped by a key-encryption key (KEK) from a
//!   [`KeyProvider`] (a platform keystore, or [`PassphraseProvider`] with Argon2id);
//! - **integrity**: every file carries a SHA-256 checksum (accidental damage) and an AEAD tag
//!   whose associated data binds the file header (deliberate tampering); a record moved to
//!   another id or another vault does not decrypt. Errors are typed and name the damaged file;
//! - **renewability / revocability**: [`Vault::delete`] destroys the record's wrapped key first
//!   (crypto-shredding), then its ciphertext; [`Vault::rotate_kek`] re-wraps every data key
//!   under a new KEK without re-encrypting any image.
//!
//! # Usage
//!
//! ```no_run
//! # fn main() -> Result<(), zkiris::vault::VaultError> {
//! use std::sync::Arc;
//! use zkiris::vault::{KdfCost, PassphraseProvider, Vault, VaultOptions};
//!
//! let dir = std::path::Path::new("/data/app/zkiris-vault");
//! let provider = Arc::new(PassphraseProvider::generate(b"passphrase", KdfCost::MOBILE)?);
//! let vault = Vault::create(dir, provider, VaultOptions::default())?;
//! drop(vault);
//! let (vault, report) = Vault::open_with_passphrase(dir, b"passphrase", VaultOptions::default())?;
//! assert!(report.is_clean());
//! for summary in vault.list() {
//!     println!("{} {}", summary.id, summary.commitment);
//! }
//! # Ok(()) }
//! ```
//!
//! # Storage
//!
//! A vault is a directory:
//!
//! | file | content |
//! |---|---|
//! | `vault.idx` | the index: header, KEK description, wrapped index key, encrypted record list (with each record's wrapped DEK). Replacing it is the **commit point** of every change. |
//! | `<record id>.rec` | one encrypted record (32 lowercase hex digits + `.rec`) |
//! | `vault.lock` | empty; an exclusive `flock` on it serialises writers across processes |
//! | `.tmp.*` | temporary files of an interrupted write; removed on open |
//!
//! Every file is written atomically: temporary file in the same directory, write, `fsync`,
//! rename, `fsync` the directory (`fs`). An import writes the record file, then commits the
//! index. A delete commits the index without the record's wrapped key, then removes the
//! record file. A rotation commits one new index. So a crash at any point leaves the last
//! committed index, plus possibly a temporary file or an unreferenced record file; [`Vault::open`]
//! removes those and lists them in its [`RecoveryReport`].
//!
//! # File formats (version 1)
//!
//! All integers are big-endian. Every file, in every format version, starts with the same
//! 22-byte prefix and ends with a SHA-256 trailer, so a reader can always tell a damaged file,
//! a truncated one and one from a future version apart:
//!
//! | offset | bytes | field |
//! |---:|---:|---|
//! | 0 | 8 | magic: `ZKIRVIDX` (index) or `ZKIRVREC` (record) |
//! | 8 | 2 | format version (`1`); a larger value is refused with [`VaultError::UnsupportedVersion`] |
//! | 10 | 8 | total file length `L` |
//! | 18 | 4 | prefix check: the first 4 bytes of SHA-256(bytes 0..18) |
//! | 22 | `L`−54 | body (below) |
//! | `L`−32 | 32 | SHA-256(bytes 0..`L`−32) |
//!
//! **Record file** body:
//!
//! | offset | bytes | field |
//! |---:|---:|---|
//! | 22 | 16 | vault id |
//! | 38 | 16 | record id (must equal the file name) |
//! | 54 | 16 | data-key id (must equal the index entry's) |
//! | 70 | 24 | nonce (random for every write) |
//! | 94 | `n`+16 | XChaCha20-Poly1305(DEK, nonce, payload) ‖ tag; associated data = bytes 0..94 (magic, version, length, prefix check, vault id, record id, data-key id, nonce) |
//!
//! Record payload (`n` bytes, encrypted; `P` = height × width ≤ 2²⁴):
//!
//! | bytes | field |
//! |---:|---|
//! | 4 | height |
//! | 4 | width |
//! | `P` | image pixels, row-major |
//! | `P` | mask, row-major, each byte 0 or 1 |
//! | 32 | salt `r` (canonical BN254 element) |
//! | 32 | commitment `C` (canonical BN254 element) |
//! | 65 | device signature `r ‖ s ‖ v` over `C` ([`crate::attest`]) |
//! | 20 | device id |
//! | 8 | creation time, seconds since the Unix epoch |
//! | var | metadata |
//!
//! Metadata: `u16` count (≤ 256), then for each entry in strictly ascending key order:
//! `u16` key length (1..=255), key (UTF-8), `u16` value length, value (UTF-8).
//!
//! **Index file** body:
//!
//! | offset | bytes | field |
//! |---:|---:|---|
//! | 22 | 16 | vault id |
//! | 38 | 8 | generation (incremented by every commit) |
//! | 46 | 8 | vault creation time, seconds since the Unix epoch |
//! | 54 | 1 | KEK key id length `k` (1..=255) |
//! | 55 | `k` | KEK key id (UTF-8) |
//! | | 1 | key derivation: `0` none (platform or raw key), `1` Argon2id v0x13 |
//! | | 28 | only if Argon2id: memory KiB (`u32`), passes (`u32`), lanes (`u32`), salt (16) |
//! | | 2 | wrapped index-key length `w` (1..=1024) |
//! | | `w` | index data key wrapped by the KEK ([`KeyProvider::wrap`]) |
//! | | 24 | nonce |
//! | | `m`+16 | XChaCha20-Poly1305(index key, nonce, record list) ‖ tag; associated data = every byte before the ciphertext |
//!
//! Record list (`m` bytes, encrypted): `u32` count, then per record, in ascending id order:
//!
//! | bytes | field |
//! |---:|---|
//! | 16 | record id |
//! | 16 | data-key id |
//! | 2 | wrapped DEK length `w` (1..=1024) |
//! | `w` | the record's DEK wrapped by the KEK |
//! | 32 | commitment |
//! | 20 | device id |
//! | 8 | creation time |
//! | 4 | height |
//! | 4 | width |
//! | var | metadata (as above) |
//!
//! The built-in providers' wrapped keys are 73 bytes: `0x01 ‖ nonce (24) ‖
//! XChaCha20-Poly1305(KEK, nonce, DEK) ‖ tag`, with associated data
//! `"zkiris/vault/wrap/v1" ‖ key id` (`keys`).
//!
//! The SHA-256 checksums detect accidental damage and let the vault report
//! [`VaultError::Tampered`] precisely. Security against a deliberate attacker comes from the
//! AEAD tags: an attacker who also rewrites the checksum still cannot produce a file that
//! decrypts.
//!
//! # Concurrency
//!
//! [`Vault`] is `Send + Sync`: any number of threads may read while one writes. Writers in
//! other processes (or other `Vault` handles) are excluded by the lock file, held for the
//! duration of each change; a writer that finds it taken gets [`VaultError::Locked`] (so does
//! [`Vault::open`], which holds it while cleaning up). Before every change the vault re-reads
//! the index, so changes made by another handle are never overwritten.
//!
//! # Threat model
//!
//! Protected: a copy of the vault directory (backup, stolen storage, another app reading the
//! files) reveals no image, mask or salt; modified, swapped, truncated or replayed-across-ids
//! files are refused with typed errors; a deleted record cannot be decrypted from the current
//! files even with the KEK; an interrupted write never loses a committed record.
//!
//! Not protected: a compromised OS or app process (it sees decrypted records in memory and can
//! call the key provider); a weak passphrase (Argon2id only slows guessing); rollback of the
//! whole directory to an older copy (the vault exposes [`Vault::generation`] so an app can keep
//! the last value in hardware-backed storage and detect it); old file contents that flash
//! storage keeps after a rename or delete (a deleted record's old wrapped key may survive in
//! freed blocks until the KEK changes: rotate the KEK, and delete the old platform key, to make
//! revocation final).

mod error;
pub(crate) mod format;
pub(crate) mod fs;
mod ids;
pub(crate) mod keys;
mod record;
mod summary;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use zeroize::Zeroizing;

pub use error::{VaultError, VaultFile};
pub use fs::{Fs, StdFs};
pub use ids::{RecordId, RecordIdParseError, VaultId};
pub use keys::{KdfCost, KdfParams, KeyError, KeyProvider, PassphraseProvider, RawKeyProvider};
pub use record::{EnrollmentRecord, MAX_PIXELS};
pub use summary::RecordSummary;

use crate::attest::DeviceId;
use format::{IndexEntry, IndexHeader};
use ids::ID_LEN;
use keys::KEY_LEN;
use record::RecordBinding;

/// Name of the index file.
pub const INDEX_FILE: &str = "vault.idx";
/// Name of the lock file.
pub const LOCK_FILE: &str = "vault.lock";

/// Options for creating or opening a vault.
#[derive(Clone)]
#[non_exhaustive]
pub struct VaultOptions {
    /// The file operations to use (default: [`StdFs`]).
    pub fs: Arc<dyn Fs>,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self { fs: Arc::new(StdFs) }
    }
}

impl fmt::Debug for VaultOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultOptions").finish_non_exhaustive()
    }
}

impl VaultOptions {
    /// Uses `fs` for every file operation (tests inject faults this way).
    pub fn with_fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = fs;
        self
    }
}

/// What [`Vault::open`] cleaned up to get back to the last committed state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Temporary files of interrupted writes that were removed.
    pub temp_files_removed: Vec<String>,
    /// Record files that no committed index entry references (an import that crashed before
    /// its commit, or a delete that crashed after it); they were removed. They cannot be
    /// decrypted: their data keys were never committed, or were destroyed.
    pub orphan_records_removed: Vec<RecordId>,
    /// Records the index lists whose file is missing (never caused by a crash; someone removed
    /// the file). They stay listed; reading them reports [`VaultError::Tampered`].
    pub missing_records: Vec<RecordId>,
}

impl RecoveryReport {
    /// True if nothing needed cleaning and nothing is missing.
    pub fn is_clean(&self) -> bool {
        self.temp_files_removed.is_empty() && self.orphan_records_removed.is_empty() && self.missing_records.is_empty()
    }
}

/// What [`Vault::check`] found: every record it read, authenticated and decrypted, and
/// every one that failed, by id.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Records that read, authenticate, decrypt and match their index entry.
    pub intact: Vec<RecordId>,
    /// Records that failed an integrity check, with the error reading them gave
    /// ([`VaultError::Tampered`], [`VaultError::Truncated`], [`VaultError::Empty`] or
    /// [`VaultError::UnsupportedVersion`]). Restore their files from a backup, or delete them
    /// and re-enroll.
    pub damaged: Vec<(RecordId, VaultError)>,
}

impl CheckReport {
    /// True if no record is damaged.
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
    }
}

/// Public facts about a vault, readable without a key ([`Vault::inspect`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultInfo {
    /// The vault id.
    pub vault_id: VaultId,
    /// Commit counter.
    pub generation: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix: u64,
    /// The KEK's key id.
    pub key_id: String,
    /// Argon2id parameters if the KEK comes from a passphrase.
    pub kdf: Option<KdfParams>,
}

/// The committed state as this handle last saw it.
struct State {
    header: IndexHeader,
    provider: Arc<dyn KeyProvider>,
    index_dek: Zeroizing<[u8; KEY_LEN]>,
    entries: BTreeMap<RecordId, IndexEntry>,
    /// SHA-256 trailer of the index file this state was read from or written as.
    checksum: [u8; 32],
}

/// An open vault. `Send + Sync`; share it with `Arc`.
pub struct Vault {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    state: RwLock<State>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.read_state();
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("vault_id", &s.header.vault_id)
            .field("key_id", &s.header.key_id)
            .field("generation", &s.header.generation)
            .field("records", &s.entries.len())
            .finish_non_exhaustive()
    }
}

fn random_id() -> Result<[u8; ID_LEN], VaultError> {
    let mut id = [0u8; ID_LEN];
    keys::fill_random(&mut id)?;
    Ok(id)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Holds the cross-process writer lock for as long as it lives.
struct WriterLock {
    _lock: fd_lock::RwLock<std::fs::File>,
}

impl WriterLock {
    fn acquire(dir: &Path) -> Result<Self, VaultError> {
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| VaultError::io(&path, e))?;
        let mut lock = fd_lock::RwLock::new(file);
        match lock.try_write() {
            // The guard only unlocks on drop; closing the file releases the flock as well, so
            // keep the lock (and its file) alive and forget the guard.
            Ok(guard) => std::mem::forget(guard),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(VaultError::Locked { dir: dir.to_path_buf() }),
            Err(e) => return Err(VaultError::io(&path, e)),
        }
        Ok(Self { _lock: lock })
    }
}

/// Unwraps a data key with `provider`, insisting on 32 bytes.
fn unwrap_key(provider: &dyn KeyProvider, wrapped: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let raw = provider.unwrap(wrapped)?;
    keys::to_key(&raw).ok_or(KeyError::Malformed("the provider returned a key that is not 32 bytes"))
}

/// Wraps `dek` with `provider` and checks the result fits the format.
fn wrap_key(provider: &dyn KeyProvider, dek: &[u8; KEY_LEN]) -> Result<Vec<u8>, VaultError> {
    let wrapped = provider.wrap(dek.as_slice())?;
    format::check_wrapped_len(wrapped.len())?;
    Ok(wrapped)
}

impl Vault {
    /// Creates an empty vault in `dir` (created if missing), locked by `provider`'s KEK.
    pub fn create(dir: impl AsRef<Path>, provider: Arc<dyn KeyProvider>, opts: VaultOptions) -> Result<Vault, VaultError> {
        let dir = dir.as_ref().to_path_buf();
        let fs = opts.fs;
        fs.create_dir_all(&dir).map_err(|e| VaultError::io(&dir, e))?;
        let key_id = provider.key_id();
        format::check_key_id(&key_id)?;
        let _lock = WriterLock::acquire(&dir)?;
        if Self::list_dir(&*fs, &dir)?.iter().any(|n| n == INDEX_FILE) {
            return Err(VaultError::AlreadyExists { dir });
        }
        let index_dek = keys::random_key()?;
        let header = IndexHeader {
            vault_id: VaultId(random_id()?),
            // The first commit below makes it 1.
            generation: 0,
            created_unix: now_unix(),
            key_id,
            kdf: provider.kdf_params(),
            wrapped_dek: wrap_key(&*provider, &index_dek)?,
        };
        let mut state = State { header, provider, index_dek, entries: BTreeMap::new(), checksum: [0; 32] };
        Self::commit_index(&*fs, &dir, &mut state)?;
        Ok(Vault { dir, fs, state: RwLock::new(state) })
    }

    /// Opens the vault in `dir` with `provider`, first cleaning up after any interrupted write
    /// (see [`RecoveryReport`]).
    pub fn open(dir: impl AsRef<Path>, provider: Arc<dyn KeyProvider>, opts: VaultOptions) -> Result<(Vault, RecoveryReport), VaultError> {
        let dir = dir.as_ref().to_path_buf();
        let fs = opts.fs;
        if !Self::list_dir(&*fs, &dir)?.iter().any(|n| n == INDEX_FILE) {
            return Err(VaultError::NotAVault { dir });
        }
        let _lock = WriterLock::acquire(&dir)?;
        let mut report = RecoveryReport::default();
        for name in Self::list_dir(&*fs, &dir)? {
            if name.starts_with(fs::TEMP_PREFIX) {
                fs::remove_durably(&*fs, &dir, &name)?;
                report.temp_files_removed.push(name);
            }
        }
        let state = Self::load(&*fs, &dir, provider)?;
        let files = Self::list_dir(&*fs, &dir)?;
        let on_disk: Vec<RecordId> = files.iter().filter_map(|n| RecordId::from_file_name(n)).collect();
        for id in &on_disk {
            if !state.entries.contains_key(id) {
                fs::remove_durably(&*fs, &dir, &id.file_name())?;
                report.orphan_records_removed.push(*id);
            }
        }
        report.missing_records = state.entries.keys().filter(|id| !on_disk.contains(id)).copied().collect();
        Ok((Vault { dir, fs, state: RwLock::new(state) }, report))
    }

    /// Opens a passphrase-locked vault: reads the Argon2id parameters from the header, derives
    /// the KEK and opens.
    pub fn open_with_passphrase(dir: impl AsRef<Path>, passphrase: &[u8], opts: VaultOptions) -> Result<(Vault, RecoveryReport), VaultError> {
        let info = Self::inspect_with(dir.as_ref(), &*opts.fs)?;
        let params = info.kdf.ok_or_else(|| VaultError::KeyIdMismatch { vault: info.key_id.clone(), provider: "a passphrase".into() })?;
        let provider = Arc::new(PassphraseProvider::new(passphrase, params)?);
        Self::open(dir, provider, opts)
    }

    /// Reads the public header of the vault in `dir` (no key needed, no lock taken).
    pub fn inspect(dir: impl AsRef<Path>) -> Result<VaultInfo, VaultError> {
        Self::inspect_with(dir.as_ref(), &StdFs)
    }

    fn inspect_with(dir: &Path, fs: &dyn Fs) -> Result<VaultInfo, VaultError> {
        let bytes = Self::read_index_file(fs, dir)?;
        let h = format::parse_index(&bytes)?.header;
        Ok(VaultInfo { vault_id: h.vault_id, generation: h.generation, created_unix: h.created_unix, key_id: h.key_id, kdf: h.kdf })
    }

    /// Checks `record` ([`EnrollmentRecord::verify`]: device signature against
    /// `trusted_devices`, commitment recomputed from image, mask and salt) and stores it.
    ///
    /// The record file is written first, then the index commits it; a crash in between leaves
    /// an unreferenced file that the next [`Vault::open`] removes.
    pub fn import(&self, record: EnrollmentRecord, trusted_devices: &[DeviceId]) -> Result<RecordId, VaultError> {
        record.verify(trusted_devices)?;
        let mut state = self.write_state();
        let _lock = WriterLock::acquire(&self.dir)?;
        self.refresh(&mut state)?;
        if let Some(existing) = state.entries.values().find(|e| e.summary.commitment == *record.commitment()) {
            return Err(VaultError::Duplicate { existing: existing.summary.id });
        }
        let mut id = RecordId(random_id()?);
        while state.entries.contains_key(&id) {
            id = RecordId(random_id()?);
        }
        let dek = keys::random_key()?;
        let binding = RecordBinding { vault_id: state.header.vault_id, record_id: id, dek_id: random_id()? };
        let wrapped_dek = wrap_key(&*state.provider, &dek)?;
        let file = record::encode_record_file(&record, &binding, &dek)?;
        fs::atomic_write(&*self.fs, &self.dir, &id.file_name(), &file)?;
        drop(file);

        let entry = IndexEntry { summary: record.summary(id), dek_id: binding.dek_id, wrapped_dek };
        let mut next = Self::clone_state(&state);
        next.entries.insert(id, entry);
        Self::commit_index(&*self.fs, &self.dir, &mut next)?;
        *state = next;
        Ok(id)
    }

    /// Reads and decrypts one record. The result holds biometric secrets: pass it to the
    /// prover and drop it.
    pub fn get(&self, id: &RecordId) -> Result<EnrollmentRecord, VaultError> {
        let (entry, provider, vault_id, checksum) = {
            let s = self.read_state();
            let entry = s.entries.get(id).cloned().ok_or(VaultError::NotFound { record: *id })?;
            (entry, s.provider.clone(), s.header.vault_id, s.checksum)
        };
        let file = VaultFile::Record(*id);
        let path = self.dir.join(id.file_name());
        let bytes = match self.fs.read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Deleted meanwhile (by this or another handle) if the index has changed since.
                let changed = Self::read_index_file(&*self.fs, &self.dir)
                    .ok()
                    .and_then(|b| format::parse_index(&b).ok().map(|p| p.checksum != checksum))
                    .unwrap_or(false);
                return Err(if changed {
                    VaultError::NotFound { record: *id }
                } else {
                    VaultError::Tampered { file, detail: "the index lists it but its file is missing" }
                });
            }
            Err(e) => return Err(VaultError::io(path, e)),
        };
        let parsed = record::parse_record_file(&bytes, file)?;
        let dek = unwrap_key(&*provider, &entry.wrapped_dek).map_err(|e| match e {
            KeyError::WrongKey | KeyError::Malformed(_) => VaultError::Tampered { file, detail: "its wrapped data key does not authenticate" },
            other => other.into(),
        })?;
        let expected = RecordBinding { vault_id, record_id: *id, dek_id: entry.dek_id };
        let rec = record::decrypt_record(&parsed, &expected, &dek)?;
        if rec.summary(*id) != entry.summary {
            return Err(VaultError::Tampered { file, detail: "the record does not match its index entry" });
        }
        Ok(rec)
    }

    /// Reads, authenticates and decrypts every record the index lists, and reports the
    /// damaged ones by id ([`CheckReport`]); [`Vault::list`] reads only the index, so without
    /// this a damaged record shows only when it is used. Nothing is changed or removed.
    ///
    /// A damaged record does not stop the check. Failures that are not about one record's
    /// integrity (the key provider unavailable, an I/O error other than a missing file) stop it
    /// with that error: they say nothing about the records.
    pub fn check(&self) -> Result<CheckReport, VaultError> {
        let ids: Vec<RecordId> = self.read_state().entries.keys().copied().collect();
        let mut report = CheckReport::default();
        for id in ids {
            match self.get(&id) {
                Ok(record) => {
                    drop(record);
                    report.intact.push(id);
                }
                // Deleted by another handle since the list was taken: nothing to check.
                Err(VaultError::NotFound { .. }) => {}
                Err(e @ (VaultError::Tampered { .. } | VaultError::Truncated { .. } | VaultError::Empty { .. } | VaultError::UnsupportedVersion { .. })) => {
                    report.damaged.push((id, e))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// The records in the vault (no secrets), oldest first.
    pub fn list(&self) -> Vec<RecordSummary> {
        let mut out: Vec<RecordSummary> = self.read_state().entries.values().map(|e| e.summary.clone()).collect();
        out.sort_by_key(|s| (s.created_unix, s.id));
        out
    }

    /// Deletes a record: commits an index without its wrapped data key (crypto-shredding),
    /// then removes its file. If removing the file fails, the record is still deleted (nothing
    /// can decrypt it) and the next [`Vault::open`] removes the file.
    pub fn delete(&self, id: &RecordId) -> Result<(), VaultError> {
        let mut state = self.write_state();
        let _lock = WriterLock::acquire(&self.dir)?;
        self.refresh(&mut state)?;
        if !state.entries.contains_key(id) {
            return Err(VaultError::NotFound { record: *id });
        }
        let mut next = Self::clone_state(&state);
        next.entries.remove(id);
        Self::commit_index(&*self.fs, &self.dir, &mut next)?;
        *state = next;
        // Committed: the data key is gone. Removing the ciphertext is clean-up.
        let _ = fs::remove_durably(&*self.fs, &self.dir, &id.file_name());
        Ok(())
    }

    /// Re-wraps every data key (and a fresh index key) under `new_provider`'s KEK and commits
    /// them in one atomic index write. Images are not re-encrypted. A crash leaves either the
    /// old KEK in force or the new one, never a mix.
    ///
    /// The new provider is tested (wrap then unwrap) before anything is written. Delete an old
    /// platform key only after this returns `Ok`.
    pub fn rotate_kek(&self, new_provider: Arc<dyn KeyProvider>) -> Result<(), VaultError> {
        let new_key_id = new_provider.key_id();
        format::check_key_id(&new_key_id)?;
        let mut state = self.write_state();
        let _lock = WriterLock::acquire(&self.dir)?;
        self.refresh(&mut state)?;
        if new_key_id == state.header.key_id {
            return Err(VaultError::KeyIdMismatch { vault: state.header.key_id.clone(), provider: new_key_id });
        }
        let mut next = Self::clone_state(&state);
        for (id, entry) in next.entries.iter_mut() {
            let dek = unwrap_key(&*state.provider, &entry.wrapped_dek).map_err(|e| match e {
                KeyError::WrongKey | KeyError::Malformed(_) => {
                    VaultError::Tampered { file: VaultFile::Record(*id), detail: "its wrapped data key does not authenticate" }
                }
                other => other.into(),
            })?;
            entry.wrapped_dek = wrap_key(&*new_provider, &dek)?;
        }
        let index_dek = keys::random_key()?;
        let wrapped_index = wrap_key(&*new_provider, &index_dek)?;
        if *unwrap_key(&*new_provider, &wrapped_index)? != *index_dek {
            return Err(VaultError::KeyProvider(KeyError::Malformed("the new provider does not round-trip keys")));
        }
        next.header.key_id = new_key_id;
        next.header.kdf = new_provider.kdf_params();
        next.header.wrapped_dek = wrapped_index;
        next.index_dek = index_dek;
        next.provider = new_provider;
        Self::commit_index(&*self.fs, &self.dir, &mut next)?;
        *state = next;
        Ok(())
    }

    /// The vault id.
    pub fn id(&self) -> VaultId {
        self.read_state().header.vault_id
    }

    /// The current KEK's key id.
    pub fn key_id(&self) -> String {
        self.read_state().header.key_id.clone()
    }

    /// The commit counter: it grows with every import, delete and rotation. Store it in
    /// tamper-resistant storage to detect a rollback of the whole directory.
    pub fn generation(&self) -> u64 {
        self.read_state().header.generation
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    // ---- internals ----

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated: every mutation
        // builds a new state and swaps it in whole.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn clone_state(s: &State) -> State {
        State { header: s.header.clone(), provider: s.provider.clone(), index_dek: s.index_dek.clone(), entries: s.entries.clone(), checksum: s.checksum }
    }

    fn list_dir(fs: &dyn Fs, dir: &Path) -> Result<Vec<String>, VaultError> {
        match fs.list_files(dir) {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(VaultError::NotAVault { dir: dir.to_path_buf() }),
            Err(e) => Err(VaultError::io(dir, e)),
        }
    }

    fn read_index_file(fs: &dyn Fs, dir: &Path) -> Result<Vec<u8>, VaultError> {
        let path = dir.join(INDEX_FILE);
        fs.read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => VaultError::NotAVault { dir: dir.to_path_buf() },
            _ => VaultError::io(path, e),
        })
    }

    /// Reads, authenticates and decrypts the committed index.
    fn load(fs: &dyn Fs, dir: &Path, provider: Arc<dyn KeyProvider>) -> Result<State, VaultError> {
        let bytes = Self::read_index_file(fs, dir)?;
        let parsed = format::parse_index(&bytes)?;
        let provider_id = provider.key_id();
        if provider_id != parsed.header.key_id {
            return Err(VaultError::KeyIdMismatch { vault: parsed.header.key_id.clone(), provider: provider_id });
        }
        let index_dek = unwrap_key(&*provider, &parsed.header.wrapped_dek).map_err(|e| match e {
            KeyError::Malformed(_) => VaultError::WrongKey,
            other => other.into(),
        })?;
        let entries = format::decrypt_index(&parsed, &index_dek)?;
        Ok(State { header: parsed.header, provider, index_dek, entries: entries.into_iter().map(|e| (e.summary.id, e)).collect(), checksum: parsed.checksum })
    }

    /// Re-reads the index if another handle committed since this one last looked.
    fn refresh(&self, state: &mut State) -> Result<(), VaultError> {
        let bytes = Self::read_index_file(&*self.fs, &self.dir)?;
        let parsed = format::parse_index(&bytes)?;
        if parsed.checksum != state.checksum {
            *state = Self::load(&*self.fs, &self.dir, state.provider.clone())?;
        }
        Ok(())
    }

    /// Writes `state` as the next index generation (the commit point).
    fn commit_index(fs: &dyn Fs, dir: &Path, state: &mut State) -> Result<(), VaultError> {
        state.header.generation =
            state.header.generation.checked_add(1).ok_or(VaultError::Tampered { file: VaultFile::Index, detail: "generation counter exhausted" })?;
        let entries: Vec<IndexEntry> = state.entries.values().cloned().collect();
        let bytes = format::encode_index(&state.header, &entries, &state.index_dek)?;
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&bytes[bytes.len() - 32..]);
        fs::atomic_write(fs, dir, INDEX_FILE, &bytes)?;
        state.checksum = checksum;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
