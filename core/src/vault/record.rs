//! Enrollment records: the secret-holding [`EnrollmentRecord`] and the record file format
//! (its public listing is [`super::summary::RecordSummary`]).

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use super::error::{VaultError, VaultFile};
use super::format::{
    check_metadata, frame_finish, frame_start, get_metadata, metadata_len, parse_frame, put_metadata, Reader, MAGIC_RECORD, PREFIX_LEN, TRAILER_LEN,
};
use super::ids::{RecordId, VaultId, ID_LEN};
use super::keys::{self, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::summary::RecordSummary;
use crate::attest::{AttestError, DeviceId, EnrollmentSignature};
use crate::commitment::{Commitment, Salt};
use crate::image::{IrisImage, IrisMask};

/// Largest image (height × width) a record may hold: 16 Mi pixels.
pub const MAX_PIXELS: u64 = 1 << 24;

/// One enrollment: the image, mask and salt (secrets) with the signed commitment.
///
/// Secrets are zeroized on drop ([`IrisImage`], [`IrisMask`] and [`Salt`] each zeroize their
/// buffers) and `Debug` prints none of them. The vault hands records back only for proving;
/// bindings must not expose [`EnrollmentRecord::image`], [`EnrollmentRecord::mask`] or
/// [`EnrollmentRecord::salt`] to app code.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentRecord {
    image: IrisImage,
    mask: IrisMask,
    salt: Salt,
    commitment: Commitment,
    signature: EnrollmentSignature,
    device: DeviceId,
    created_unix: u64,
    metadata: BTreeMap<String, String>,
}

impl fmt::Debug for EnrollmentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentRecord")
            .field("image", &self.image)
            .field("mask", &self.mask)
            .field("salt", &self.salt)
            .field("commitment", &self.commitment)
            .field("device", &self.device)
            .field("created_unix", &self.created_unix)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl EnrollmentRecord {
    /// Assembles a record as an enrollment device hands it over. The creation time is now and
    /// the metadata empty; see [`EnrollmentRecord::with_created_unix`] and
    /// [`EnrollmentRecord::with_metadata`].
    ///
    /// Checks only the shapes; the signature and the commitment are checked by
    /// [`EnrollmentRecord::verify`] (which [`crate::vault::Vault::import`] calls).
    pub fn new(
        image: IrisImage,
        mask: IrisMask,
        salt: Salt,
        commitment: Commitment,
        signature: EnrollmentSignature,
        device: DeviceId,
    ) -> Result<Self, VaultError> {
        mask.check_matches(&image).map_err(|e| VaultError::InvalidRecord { reason: e.to_string() })?;
        let pixels = image.height() as u64 * image.width() as u64;
        if pixels == 0 || pixels > MAX_PIXELS {
            return Err(VaultError::InvalidRecord { reason: format!("image has {pixels} pixels; 1 to {MAX_PIXELS} allowed") });
        }
        Ok(Self { image, mask, salt, commitment, signature, device, created_unix: now_unix(), metadata: BTreeMap::new() })
    }

    /// Sets the creation time (seconds since the Unix epoch).
    pub fn with_created_unix(mut self, created_unix: u64) -> Self {
        self.created_unix = created_unix;
        self
    }

    /// Adds one metadata entry (limits are checked on import).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The normalized iris image (secret).
    pub fn image(&self) -> &IrisImage {
        &self.image
    }
    /// The validity mask (secret).
    pub fn mask(&self) -> &IrisMask {
        &self.mask
    }
    /// The commitment's blinding salt (secret).
    pub fn salt(&self) -> &Salt {
        &self.salt
    }
    /// The commitment `C = Commit(image, mask, salt)`.
    pub fn commitment(&self) -> &Commitment {
        &self.commitment
    }
    /// The enrollment device's signature over `C`.
    pub fn signature(&self) -> &EnrollmentSignature {
        &self.signature
    }
    /// The enrollment device's id.
    pub fn device(&self) -> DeviceId {
        self.device
    }
    /// Creation time, seconds since the Unix epoch.
    pub fn created_unix(&self) -> u64 {
        self.created_unix
    }
    /// Free-form metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The public summary of this record under `id`.
    pub fn summary(&self, id: RecordId) -> RecordSummary {
        RecordSummary {
            id,
            commitment: self.commitment,
            device: self.device,
            created_unix: self.created_unix,
            height: self.image.height(),
            width: self.image.width(),
            metadata: self.metadata.clone(),
        }
    }

    /// Checks the capture attestation before a record is accepted:
    /// 1. the metadata is within limits;
    /// 2. the signature over `C` recovers to a device in `trusted_devices`, and that device is
    ///    the one the record names;
    /// 3. `C` equals `Commit(image, mask, salt)` recomputed from the record's own data.
    ///
    /// Returns the signing device.
    pub fn verify(&self, trusted_devices: &[DeviceId]) -> Result<DeviceId, VaultError> {
        check_metadata(&self.metadata).map_err(|reason| VaultError::InvalidRecord { reason })?;
        let signer = self.signature.verify(&self.commitment.0, trusted_devices).map_err(|e| match e {
            AttestError::UntrustedDevice { found } => VaultError::UntrustedDevice { device: found },
            other => VaultError::BadSignature { reason: other.to_string() },
        })?;
        if signer != self.device {
            return Err(VaultError::DeviceMismatch { stated: self.device, signer });
        }
        self.verify_commitment()?;
        Ok(signer)
    }

    /// Recomputes `Commit(image, mask, salt)` ([`crate::commitment::commit`]) and checks that
    /// it is the signed commitment.
    pub fn verify_commitment(&self) -> Result<(), VaultError> {
        let computed = crate::commitment::commit(&self.image, &self.mask, &self.salt)?;
        if computed != self.commitment {
            return Err(VaultError::CommitmentMismatch { signed: self.commitment, computed });
        }
        Ok(())
    }

    fn plaintext_len(&self) -> usize {
        let n = self.image.pixels().len();
        4 + 4 + 2 * n + 32 + 32 + 65 + 20 + 8 + metadata_len(&self.metadata)
    }

    fn put_plaintext(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.image.height().to_be_bytes());
        buf.extend_from_slice(&self.image.width().to_be_bytes());
        buf.extend_from_slice(self.image.pixels());
        buf.extend_from_slice(self.mask.bits());
        buf.extend_from_slice(self.salt.as_bytes());
        buf.extend_from_slice(&self.commitment.0);
        buf.extend_from_slice(&self.signature.0);
        buf.extend_from_slice(&self.device.0);
        buf.extend_from_slice(&self.created_unix.to_be_bytes());
        put_metadata(buf, &self.metadata);
    }

    /// Decodes the decrypted record payload (canonical form only).
    pub(crate) fn decode_plaintext(plain: &[u8]) -> Result<Self, &'static str> {
        const SHORT: &str = "record payload truncated";
        let mut r = Reader::new(plain);
        let height = r.u32().ok_or(SHORT)?;
        let width = r.u32().ok_or(SHORT)?;
        let n = height as u64 * width as u64;
        if n == 0 || n > MAX_PIXELS {
            return Err("image size out of range");
        }
        let n = n as usize;
        if r.remaining() < 2 * n {
            return Err(SHORT);
        }
        let image = IrisImage::new(height, width, r.take(n).ok_or(SHORT)?.to_vec()).map_err(|_| "bad image")?;
        let mask = IrisMask::new(height, width, r.take(n).ok_or(SHORT)?.to_vec()).map_err(|_| "mask is not 0/1")?;
        let salt_bytes = Zeroizing::new(r.array::<32>().ok_or(SHORT)?);
        let salt = Salt::from_bytes(*salt_bytes).map_err(|_| "salt not canonical")?;
        let commitment = Commitment::from_bytes(r.array().ok_or(SHORT)?).map_err(|_| "commitment not canonical")?;
        let signature = EnrollmentSignature(r.array().ok_or(SHORT)?);
        let device = DeviceId(r.array().ok_or(SHORT)?);
        let created_unix = r.u64().ok_or(SHORT)?;
        let metadata = get_metadata(&mut r)?;
        if r.remaining() != 0 {
            return Err("trailing bytes after the record payload");
        }
        Ok(Self { image, mask, salt, commitment, signature, device, created_unix, metadata })
    }
}

/// Bytes of a record file before the ciphertext (= the associated data).
pub(crate) const RECORD_AAD_LEN: usize = PREFIX_LEN + 3 * ID_LEN + NONCE_LEN;

/// The identifiers a record file is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordBinding {
    pub vault_id: VaultId,
    pub record_id: RecordId,
    pub dek_id: [u8; ID_LEN],
}

/// Encrypts a record into its file bytes. The plaintext exists only inside the returned
/// buffer's allocation while it is being encrypted in place.
pub(crate) fn encode_record_file(record: &EnrollmentRecord, binding: &RecordBinding, dek: &[u8; KEY_LEN]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let body_len = record.plaintext_len();
    let total = RECORD_AAD_LEN + body_len + TAG_LEN + TRAILER_LEN;
    let mut nonce = [0u8; NONCE_LEN];
    keys::fill_random(&mut nonce)?;
    let mut buf = frame_start(MAGIC_RECORD, total);
    buf.extend_from_slice(&binding.vault_id.0);
    buf.extend_from_slice(&binding.record_id.0);
    buf.extend_from_slice(&binding.dek_id);
    buf.extend_from_slice(&nonce);
    record.put_plaintext(&mut buf);
    debug_assert_eq!(buf.len(), RECORD_AAD_LEN + body_len);
    let tag = {
        let (aad, body) = buf.split_at_mut(RECORD_AAD_LEN);
        keys::seal_in_place(dek, &nonce, aad, body)?
    };
    buf.extend_from_slice(&tag);
    frame_finish(&mut buf);
    debug_assert_eq!(buf.len(), total);
    Ok(buf)
}

/// A parsed (not yet decrypted) record file.
pub(crate) struct ParsedRecord<'a> {
    pub binding: RecordBinding,
    nonce: [u8; NONCE_LEN],
    aad: &'a [u8],
    ciphertext: &'a [u8],
    tag: [u8; TAG_LEN],
}

/// Parses a record file's frame and header. `file` names it in errors.
pub(crate) fn parse_record_file(bytes: &[u8], file: VaultFile) -> Result<ParsedRecord<'_>, VaultError> {
    let body = parse_frame(bytes, MAGIC_RECORD, file)?;
    let short = || VaultError::Tampered { file, detail: "record header runs past the end of the file" };
    let mut r = Reader::new(body);
    let vault_id = VaultId(r.array().ok_or_else(short)?);
    let record_id = RecordId(r.array().ok_or_else(short)?);
    let dek_id = r.array().ok_or_else(short)?;
    let nonce = r.array().ok_or_else(short)?;
    if r.remaining() < TAG_LEN {
        return Err(short());
    }
    let ciphertext = r.take(r.remaining() - TAG_LEN).ok_or_else(short)?;
    let tag = r.array().ok_or_else(short)?;
    Ok(ParsedRecord { binding: RecordBinding { vault_id, record_id, dek_id }, nonce, aad: &bytes[..RECORD_AAD_LEN], ciphertext, tag })
}

/// Checks that a parsed record belongs where it was found, then decrypts and decodes it.
pub(crate) fn decrypt_record(p: &ParsedRecord<'_>, expected: &RecordBinding, dek: &[u8; KEY_LEN]) -> Result<EnrollmentRecord, VaultError> {
    let file = VaultFile::Record(expected.record_id);
    let tampered = |detail| VaultError::Tampered { file, detail };
    if p.binding.vault_id != expected.vault_id {
        return Err(tampered("the file belongs to another vault"));
    }
    if p.binding.record_id != expected.record_id {
        return Err(tampered("the file belongs to another record"));
    }
    if p.binding.dek_id != expected.dek_id {
        return Err(tampered("the file was encrypted under another data key"));
    }
    let mut plain = Zeroizing::new(p.ciphertext.to_vec());
    keys::open_in_place(dek, &p.nonce, p.aad, &mut plain, &p.tag).map_err(|_| tampered("authentication tag does not verify"))?;
    EnrollmentRecord::decode_plaintext(&plain).map_err(tampered)
}

// The documented layout (module docs of `crate::vault`) fixes these numbers.
const _: () = assert!(RECORD_AAD_LEN == 94);
const _: () = assert!(super::format::MIN_FILE_LEN == 54);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attest::dev_device_key;

    /// A small synthetic record (the signature is over the stated commitment, which is not
    /// recomputed here).
    pub(crate) fn sample_record(seed: u8) -> EnrollmentRecord {
        let (h, w) = (4u32, 8u32);
        let px: Vec<u8> = (0..h * w).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed)).collect();
        let bits: Vec<u8> = (0..h * w).map(|i| !(i + seed as u32).is_multiple_of(3) as u8).collect();
        let key = dev_device_key();
        let mut c = [0u8; 32];
        c[31] = seed;
        let commitment = Commitment(c);
        EnrollmentRecord::new(
            IrisImage::new(h, w, px).unwrap(),
            IrisMask::new(h, w, bits).unwrap(),
            Salt::from_bytes([seed; 32].map(|b| b & 0x0f)).unwrap(),
            commitment,
            key.sign_commitment(&commitment.0),
            key.id(),
        )
        .unwrap()
        .with_created_unix(1_700_000_000)
        .with_metadata("eye", "left")
    }

    #[test]
    fn record_file_round_trip_and_binding() {
        let rec = sample_record(1);
        let b = RecordBinding { vault_id: VaultId([1; 16]), record_id: RecordId([2; 16]), dek_id: [3; 16] };
        let dek = [4u8; KEY_LEN];
        let bytes = encode_record_file(&rec, &b, &dek).unwrap();
        let file = VaultFile::Record(b.record_id);
        let p = parse_record_file(&bytes, file).unwrap();
        assert_eq!(decrypt_record(&p, &b, &dek).unwrap(), rec);
        for other in
            [RecordBinding { vault_id: VaultId([9; 16]), ..b }, RecordBinding { record_id: RecordId([9; 16]), ..b }, RecordBinding { dek_id: [9; 16], ..b }]
        {
            assert!(matches!(decrypt_record(&p, &other, &dek), Err(VaultError::Tampered { .. })));
        }
        assert!(matches!(decrypt_record(&p, &b, &[5u8; KEY_LEN]), Err(VaultError::Tampered { .. })));
        let dbg = format!("{rec:?}");
        assert!(dbg.contains("REDACTED") && !dbg.contains(&format!("{:?}", rec.image().pixels())));
    }

    /// Even when the checksums are recomputed and the caller expects exactly what the edited
    /// header says, the associated data makes decryption fail.
    #[test]
    fn header_fields_are_bound_by_the_aead() {
        use sha2::Digest;
        let rec = sample_record(1);
        let b = RecordBinding { vault_id: VaultId([1; 16]), record_id: RecordId([2; 16]), dek_id: [3; 16] };
        let dek = [4u8; KEY_LEN];
        let bytes = encode_record_file(&rec, &b, &dek).unwrap();
        // vault id, record id, data-key id, nonce.
        for off in [22, 38, 54, 70] {
            let mut t = bytes.to_vec();
            t[off] ^= 1;
            let end = t.len() - TRAILER_LEN;
            let trailer = sha2::Sha256::digest(&t[..end]);
            t[end..].copy_from_slice(&trailer);
            let p = parse_record_file(&t, VaultFile::Record(b.record_id)).unwrap();
            let claimed = p.binding;
            assert_eq!(claimed == b, off == 70);
            match decrypt_record(&p, &claimed, &dek) {
                Err(VaultError::Tampered { detail, .. }) => assert_eq!(detail, "authentication tag does not verify"),
                other => panic!("offset {off}: {other:?}"),
            }
        }
    }

    #[test]
    fn record_ids_and_file_names() {
        let id = RecordId([0xab; 16]);
        assert_eq!(RecordId::from_file_name(&id.file_name()), Some(id));
        assert_eq!(id.to_string().parse::<RecordId>().unwrap(), id);
        assert_eq!(RecordId::from_file_name("ABABABABABABABABABABABABABABABAB.rec"), None);
        assert_eq!(RecordId::from_file_name("abab.rec"), None);
        assert_eq!(RecordId::from_file_name(".tmp.x.rec"), None);
        assert!("zz".parse::<RecordId>().is_err());
    }

    #[test]
    fn rejects_shape_mismatch() {
        let r = sample_record(1);
        let e = EnrollmentRecord::new(r.image().clone(), IrisMask::all_valid(2, 2), r.salt().clone(), *r.commitment(), *r.signature(), r.device());
        assert!(matches!(e, Err(VaultError::InvalidRecord { .. })));
    }
}
