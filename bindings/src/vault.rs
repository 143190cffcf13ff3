//! The encrypted enrollment vault, the app-implemented [`KeyProvider`], and enrollment data.

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};
use zkiris::attest::{DeviceId, DeviceKey, EnrollmentSignature};
use zkiris::commitment::{Commitment, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::vault as core;

use crate::blocking::off_thread;
use crate::error::{guard, KeyProviderError, ZkirisError};

/// Wraps and unwraps the vault's data keys under a key-encryption key the app holds: Android
/// Keystore, iOS Keychain or Secure Enclave. The key never has to leave the secure hardware;
/// only 32-byte data keys pass through.
///
/// Contract (the vault relies on it):
/// - `unwrap(wrap(k)) == k`;
/// - `unwrap` of bytes not produced by this key fails with `KeyProviderError.WrongKey`
///   (use authenticated encryption such as AES-GCM; never return garbage);
/// - `key_id` is stable, not secret, 1 to 255 bytes of UTF-8 (for example the keystore alias).
///   The vault stores it and refuses a provider whose id differs.
///
/// Errors: `KeyProviderError.WrongKey` for bytes this key did not wrap; `.Unavailable(reason)`
/// when the key cannot be used *now* (locked keystore, authentication needed or cancelled:
/// the app may retry); `.Invalidated(reason)` when it is gone for good (Android
/// `KeyPermanentlyInvalidatedException`, a deleted Keychain item): the vault then fails with
/// `ZkirisError.KeyInvalidated` and the app must re-enroll.
///
/// Secrets: `wrap` receives a data key in the clear as a byte array the implementation owns;
/// scrub it (`fill(0)` / `resetBytes`) once it is sealed, as the bundled providers do. The
/// Rust side keeps its own copies in zeroizing buffers.
///
/// Calls come from a worker thread running the vault operation (never the caller's thread)
/// and must be thread-safe.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    /// A stable, non-secret identifier of the key-encryption key.
    fn key_id(&self) -> String;
    /// Encrypts and authenticates a 32-byte data key (scrub `data_key` afterwards).
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyProviderError>;
    /// Decrypts a wrapped data key produced by `wrap`.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyProviderError>;
}

/// Adapts a foreign [`KeyProvider`] to the core trait.
struct ForeignKeyProvider(Arc<dyn KeyProvider>);

fn key_error(e: KeyProviderError) -> core::KeyError {
    match e {
        KeyProviderError::WrongKey => core::KeyError::WrongKey,
        KeyProviderError::Unavailable { reason } => core::KeyError::Unavailable(reason),
        KeyProviderError::Invalidated { reason } => core::KeyError::Invalidated(reason),
    }
}

impl core::KeyProvider for ForeignKeyProvider {
    fn key_id(&self) -> String {
        self.0.key_id()
    }

    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, core::KeyError> {
        self.0.wrap(dek.to_vec()).map_err(key_error)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, core::KeyError> {
        self.0.unwrap(wrapped.to_vec()).map(Zeroizing::new).map_err(key_error)
    }
}

fn foreign(provider: Arc<dyn KeyProvider>) -> Arc<dyn core::KeyProvider> {
    Arc::new(ForeignKeyProvider(provider))
}

/// Argon2id work factors of a passphrase-derived key. A new key needs at least 19 MiB and 2
/// passes (OWASP's floor, `kdfCostMinimum()`); below it creating or rotating fails with
/// `ZkirisError.KdfTooWeak`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct KdfCost {
    /// Memory in KiB (19,456 to 1 GiB).
    pub memory_kib: u32,
    /// Passes over memory (2 to 64).
    pub passes: u32,
    /// Lanes (1 to 16).
    pub lanes: u32,
}

impl From<KdfCost> for core::KdfCost {
    fn from(c: KdfCost) -> Self {
        core::KdfCost { m_cost_kib: c.memory_kib, t_cost: c.passes, p_cost: c.lanes }
    }
}

/// The default Argon2id cost for phones (64 MiB, 3 passes, 1 lane).
#[uniffi::export]
pub fn kdf_cost_mobile() -> KdfCost {
    let c = core::KdfCost::MOBILE;
    KdfCost { memory_kib: c.m_cost_kib, passes: c.t_cost, lanes: c.p_cost }
}

/// The weakest Argon2id cost a new passphrase key may use: 19 MiB, 2 passes, 1 lane (OWASP's
/// minimum; about 40 ms on a desktop core). For tests; apps use [`kdf_cost_mobile`].
#[uniffi::export]
pub fn kdf_cost_minimum() -> KdfCost {
    let c = core::KdfCost::MINIMUM;
    KdfCost { memory_kib: c.m_cost_kib, passes: c.t_cost, lanes: c.p_cost }
}

fn passphrase_provider(passphrase: &Zeroizing<Vec<u8>>, kdf: Option<KdfCost>) -> Result<Arc<dyn core::KeyProvider>, ZkirisError> {
    let cost: core::KdfCost = kdf.map(Into::into).unwrap_or(core::KdfCost::MOBILE);
    Ok(Arc::new(core::PassphraseProvider::generate(passphrase, cost)?))
}

/// A grayscale raster: a normalized iris image (pixels 0–255) or a validity mask (0 or 1),
/// row-major.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct IrisImageData {
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// `height × width` bytes, row-major.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for IrisImageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IrisImageData({}x{}, [REDACTED])", self.height, self.width)
    }
}

/// Decodes an 8-bit grayscale PNG into an image.
#[uniffi::export]
pub fn iris_image_from_png(png: Vec<u8>) -> Result<IrisImageData, ZkirisError> {
    guard(|| {
        let img = IrisImage::from_png_bytes(&png).map_err(|e| ZkirisError::invalid(e.to_string()))?;
        Ok(IrisImageData { height: img.height(), width: img.width(), pixels: img.pixels().to_vec() })
    })
}

/// Decodes a mask PNG (nonzero = valid) into a 0/1 mask.
#[uniffi::export]
pub fn iris_mask_from_png(png: Vec<u8>) -> Result<IrisImageData, ZkirisError> {
    guard(|| {
        let m = IrisMask::from_png_bytes(&png).map_err(|e| ZkirisError::invalid(e.to_string()))?;
        Ok(IrisImageData { height: m.height(), width: m.width(), pixels: m.bits().to_vec() })
    })
}

/// What an enrollment device (an Orb) hands to the phone: the image, mask and salt (secrets),
/// the commitment `C = Commit(image, mask, salt)` and the device's signature over `C`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrollment {
    /// The normalized iris image.
    pub image: IrisImageData,
    /// The validity mask (same shape, 0 or 1).
    pub mask: IrisImageData,
    /// The 32-byte commitment salt (big-endian field element).
    pub salt: Vec<u8>,
    /// The 32-byte commitment.
    pub commitment: Vec<u8>,
    /// The device's 65-byte signature `r ‖ s ‖ v` over the commitment.
    pub signature: Vec<u8>,
    /// The enrollment device's id (`0x` + 40 hex digits).
    pub device_id: String,
    /// Seconds since the Unix epoch (default: now).
    #[uniffi(default = None)]
    pub created_unix: Option<u64>,
    /// Free-form metadata (at most 256 entries).
    #[uniffi(default)]
    pub metadata: HashMap<String, String>,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("image", &self.image)
            .field("mask", &self.mask)
            .field("salt", &"[REDACTED]")
            .field("commitment", &hex::encode(&self.commitment))
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

fn parse_device(s: &str) -> Result<DeviceId, ZkirisError> {
    s.parse().map_err(|_| ZkirisError::invalid(format!("device id `{s}` must be 0x followed by 40 hex digits")))
}

fn bytes32(v: &[u8], what: &str) -> Result<[u8; 32], ZkirisError> {
    v.try_into().map_err(|_| ZkirisError::invalid(format!("{what} must be 32 bytes, got {}", v.len())))
}

impl Enrollment {
    /// Converts into the core record, moving the secret buffers into zeroizing storage.
    fn into_record(mut self) -> Result<core::EnrollmentRecord, ZkirisError> {
        let salt_bytes = bytes32(&self.salt, "salt").map(Zeroizing::new);
        self.salt.zeroize();
        let salt = Salt::from_bytes(*salt_bytes?).map_err(|e| ZkirisError::invalid(e.to_string()))?;
        let commitment = Commitment::from_bytes(bytes32(&self.commitment, "commitment")?).map_err(|e| ZkirisError::invalid(e.to_string()))?;
        let signature = EnrollmentSignature::from_slice(&self.signature).map_err(|e| ZkirisError::invalid(e.to_string()))?;
        let device = parse_device(&self.device_id)?;
        let image = IrisImage::new(self.image.height, self.image.width, std::mem::take(&mut self.image.pixels))
            .map_err(|e| ZkirisError::invalid(format!("image: {e}")))?;
        let mask =
            IrisMask::new(self.mask.height, self.mask.width, std::mem::take(&mut self.mask.pixels)).map_err(|e| ZkirisError::invalid(format!("mask: {e}")))?;
        let mut record = core::EnrollmentRecord::new(image, mask, salt, commitment, signature, device)?;
        if let Some(t) = self.created_unix {
            record = record.with_created_unix(t);
        }
        for (k, v) in std::mem::take(&mut self.metadata) {
            record = record.with_metadata(k, v);
        }
        Ok(record)
    }
}

/// An enrollment device's signing key, to act as an enrollment device in tests, demos and
/// enrollment-station apps: it commits to an image and mask and signs the commitment.
#[derive(Debug, uniffi::Object)]
pub struct EnrollmentDevice {
    key: DeviceKey,
}

#[uniffi::export]
impl EnrollmentDevice {
    /// A device from its 32-byte secp256k1 secret key.
    #[uniffi::constructor]
    pub fn from_secret_key(secret_key: Vec<u8>) -> Result<Arc<Self>, ZkirisError> {
        guard(|| {
            let secret = Zeroizing::new(bytes32(&secret_key, "secret key")?);
            let key = DeviceKey::from_bytes(&secret).map_err(|e| ZkirisError::invalid(e.to_string()))?;
            Ok(Arc::new(Self { key }))
        })
    }

    /// The device id (`0x` + 40 hex digits, an Ethereum-style address).
    pub fn device_id(&self) -> String {
        self.key.id().to_string()
    }

    /// Commits to `image` and `mask` with a fresh random salt and signs the commitment. Runs
    /// off the caller's thread (Kotlin `suspend`, Swift `async`): the Poseidon commitment of a
    /// 128×1024 image takes about 0.1 s on a desktop core, longer on a phone.
    pub async fn enroll(self: Arc<Self>, image: IrisImageData, mask: IrisImageData) -> Result<Enrollment, ZkirisError> {
        off_thread("device-enroll", move || {
            let img = IrisImage::new(image.height, image.width, image.pixels.clone()).map_err(|e| ZkirisError::invalid(format!("image: {e}")))?;
            let msk = IrisMask::new(mask.height, mask.width, mask.pixels.clone()).map_err(|e| ZkirisError::invalid(format!("mask: {e}")))?;
            msk.check_matches(&img).map_err(|e| ZkirisError::invalid(e.to_string()))?;
            let salt = Salt::random();
            let commitment = zkiris::commitment::commit(&img, &msk, &salt).map_err(|e| ZkirisError::invalid(e.to_string()))?;
            let signature = self.key.sign_commitment(&commitment.0);
            Ok(Enrollment {
                image,
                mask,
                salt: salt.as_bytes().to_vec(),
                commitment: commitment.0.to_vec(),
                signature: signature.0.to_vec(),
                device_id: self.device_id(),
                created_unix: None,
                metadata: HashMap::new(),
            })
        })
        .await
    }
}

/// What the vault lists about a record: no biometric secrets.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RecordSummary {
    /// Record id (32 hex digits).
    pub id: String,
    /// The 32-byte enrollment commitment.
    pub commitment: Vec<u8>,
    /// The enrollment device.
    pub device_id: String,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix: u64,
    /// Image rows.
    pub height: u32,
    /// Image columns.
    pub width: u32,
    /// Free-form metadata.
    pub metadata: HashMap<String, String>,
}

impl From<core::RecordSummary> for RecordSummary {
    fn from(s: core::RecordSummary) -> Self {
        Self {
            id: s.id.to_string(),
            commitment: s.commitment.0.to_vec(),
            device_id: s.device.to_string(),
            created_unix: s.created_unix,
            height: s.height,
            width: s.width,
            metadata: s.metadata.into_iter().collect(),
        }
    }
}

/// What opening the vault cleaned up after an interrupted write.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct RecoveryReport {
    /// Temporary files removed.
    pub temp_files_removed: u32,
    /// Uncommitted or deleted record files removed (ids).
    pub orphan_records_removed: Vec<String>,
    /// Records listed in the index whose file is missing (reading them reports `Tampered`).
    pub missing_records: Vec<String>,
}

impl From<core::RecoveryReport> for RecoveryReport {
    fn from(r: core::RecoveryReport) -> Self {
        Self {
            temp_files_removed: r.temp_files_removed.len() as u32,
            orphan_records_removed: r.orphan_records_removed.iter().map(ToString::to_string).collect(),
            missing_records: r.missing_records.iter().map(ToString::to_string).collect(),
        }
    }
}

pub(crate) fn parse_record_id(s: &str) -> Result<core::RecordId, ZkirisError> {
    s.parse().map_err(|e: core::RecordIdParseError| ZkirisError::invalid(e.to_string()))
}

/// A record [`Vault::check`] found damaged.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DamagedRecord {
    /// Record id (32 hex digits).
    pub record_id: String,
    /// What failed (which check, or that the file is missing or truncated).
    pub detail: String,
}

/// What [`Vault::check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct VaultCheckReport {
    /// Records that read, authenticate, decrypt and match their index entry.
    pub intact: Vec<String>,
    /// Records that failed, by id: restore their files from a backup, or `delete` them and
    /// re-enroll. They stay listed until then.
    pub damaged: Vec<DamagedRecord>,
}

/// An open encrypted vault of enrollments (a directory in the app's private storage,
/// excluded from backups: see bindings/README.md).
///
/// Thread-safe. Records are encrypted with XChaCha20-Poly1305 under per-record data keys,
/// which the [`KeyProvider`] wraps. Every change is an atomic file replacement.
///
/// Every call that derives a key, touches the files or calls the key provider is `async`
/// (Kotlin `suspend`, Swift `async`) and runs on a worker thread, never the caller's: opening
/// (Argon2id), creating, `enroll`, `delete`, `rotate`, `check`. `list`, `id`, `keyId`,
/// `generation` and `recoveryReport` read memory only.
#[derive(Debug, uniffi::Object)]
pub struct Vault {
    inner: core::Vault,
    recovery: RecoveryReport,
}

impl Vault {
    /// The core vault (for the prover).
    pub(crate) fn core(&self) -> &core::Vault {
        &self.inner
    }
}

#[uniffi::export]
impl Vault {
    /// Creates an empty vault in `dir` (created if missing), locked by `key_provider`.
    #[uniffi::constructor]
    pub async fn create(dir: String, key_provider: Arc<dyn KeyProvider>) -> Result<Arc<Self>, ZkirisError> {
        off_thread("vault-create", move || {
            let inner = core::Vault::create(&dir, foreign(key_provider), core::VaultOptions::default())?;
            Ok(Arc::new(Self { inner, recovery: RecoveryReport::default() }))
        })
        .await
    }

    /// Opens the vault in `dir` with `key_provider`, cleaning up after interrupted writes
    /// (see [`Vault::recovery_report`]).
    #[uniffi::constructor]
    pub async fn open(dir: String, key_provider: Arc<dyn KeyProvider>) -> Result<Arc<Self>, ZkirisError> {
        off_thread("vault-open", move || {
            let (inner, report) = core::Vault::open(&dir, foreign(key_provider), core::VaultOptions::default())?;
            Ok(Arc::new(Self { inner, recovery: report.into() }))
        })
        .await
    }

    /// Creates an empty vault locked by a passphrase (the built-in provider: Argon2id, cost
    /// `kdf`, default [`kdf_cost_mobile`]; below [`kdf_cost_minimum`] it fails with
    /// `KdfTooWeak` and writes nothing). `passphrase` is bytes (UTF-8 of what the user typed)
    /// so that the caller can scrub its copy: the Kotlin and Swift layers' `CharArray` /
    /// `[UInt8]` overloads do; Rust zeroizes its own.
    #[uniffi::constructor(default(kdf = None))]
    pub async fn create_with_passphrase(dir: String, passphrase: Vec<u8>, kdf: Option<KdfCost>) -> Result<Arc<Self>, ZkirisError> {
        let passphrase = Zeroizing::new(passphrase);
        off_thread("vault-create", move || {
            let provider = passphrase_provider(&passphrase, kdf)?;
            let inner = core::Vault::create(&dir, provider, core::VaultOptions::default())?;
            Ok(Arc::new(Self { inner, recovery: RecoveryReport::default() }))
        })
        .await
    }

    /// Opens a passphrase-locked vault (`passphrase`: bytes, see `createWithPassphrase`).
    #[uniffi::constructor]
    pub async fn open_with_passphrase(dir: String, passphrase: Vec<u8>) -> Result<Arc<Self>, ZkirisError> {
        let passphrase = Zeroizing::new(passphrase);
        off_thread("vault-open", move || {
            let (inner, report) = core::Vault::open_with_passphrase(&dir, &passphrase, core::VaultOptions::default())?;
            Ok(Arc::new(Self { inner, recovery: report.into() }))
        })
        .await
    }

    /// Checks an enrollment (the device signature against `trusted_devices`, and the
    /// commitment recomputed from image, mask and salt) and stores it encrypted. Returns the
    /// new record id.
    pub async fn enroll(self: Arc<Self>, enrollment: Enrollment, trusted_devices: Vec<String>) -> Result<String, ZkirisError> {
        off_thread("vault-enroll", move || {
            let trusted: Vec<DeviceId> = trusted_devices.iter().map(|d| parse_device(d)).collect::<Result<_, _>>()?;
            let record = enrollment.into_record()?;
            Ok(self.inner.import(record, &trusted)?.to_string())
        })
        .await
    }

    /// The records, oldest first (no secrets; from the index in memory: a damaged record
    /// file shows only in [`Vault::check`] or when the record is used).
    pub fn list(&self) -> Vec<RecordSummary> {
        self.inner.list().into_iter().map(Into::into).collect()
    }

    /// Reads, authenticates and decrypts every record and reports the damaged ones by id.
    /// Changes nothing. Fails (instead of blaming the records) when the key provider is
    /// unavailable or invalidated, or on an I/O error other than a missing file.
    pub async fn check(self: Arc<Self>) -> Result<VaultCheckReport, ZkirisError> {
        off_thread("vault-check", move || {
            let report = self.inner.check()?;
            Ok(VaultCheckReport {
                intact: report.intact.iter().map(ToString::to_string).collect(),
                damaged: report.damaged.iter().map(|(id, e)| DamagedRecord { record_id: id.to_string(), detail: e.to_string() }).collect(),
            })
        })
        .await
    }

    /// Deletes a record: its data key is destroyed first (crypto-shredding), then its file.
    pub async fn delete(self: Arc<Self>, record_id: String) -> Result<(), ZkirisError> {
        off_thread("vault-delete", move || Ok(self.inner.delete(&parse_record_id(&record_id)?)?)).await
    }

    /// Re-wraps every data key under `new_key_provider` in one atomic commit (images are not
    /// re-encrypted). Delete the old platform key only after this returns.
    pub async fn rotate(self: Arc<Self>, new_key_provider: Arc<dyn KeyProvider>) -> Result<(), ZkirisError> {
        off_thread("vault-rotate", move || Ok(self.inner.rotate_kek(foreign(new_key_provider))?)).await
    }

    /// Re-locks the vault with a new passphrase (bytes, see `createWithPassphrase`; cost at
    /// least [`kdf_cost_minimum`], or `KdfTooWeak` and nothing changes).
    #[uniffi::method(default(kdf = None))]
    pub async fn rotate_to_passphrase(self: Arc<Self>, passphrase: Vec<u8>, kdf: Option<KdfCost>) -> Result<(), ZkirisError> {
        let passphrase = Zeroizing::new(passphrase);
        off_thread("vault-rotate", move || Ok(self.inner.rotate_kek(passphrase_provider(&passphrase, kdf)?)?)).await
    }

    /// The vault id (32 hex digits).
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The key id of the current key-encryption key.
    pub fn key_id(&self) -> String {
        self.inner.key_id()
    }

    /// The commit counter: it grows with every change. Keep the last value in
    /// tamper-resistant storage to detect a rollback of the whole directory.
    pub fn generation(&self) -> u64 {
        self.inner.generation()
    }

    /// What opening this vault cleaned up.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.recovery.clone()
    }
}
