//! Byte-level encoding of the vault files: the common frame, the index file (header, keyring
//! and encrypted record list) and the shared metadata codec.
//!
//! All integers are big-endian. The tables are in the [`crate::vault`] module documentation;
//! this module is their single implementation.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::{VaultError, VaultFile};
use super::ids::{RecordId, VaultId, ID_LEN};
use super::keys::{self, KdfCost, KdfParams, KDF_SALT_LEN, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::summary::RecordSummary;
use crate::attest::DeviceId;
use crate::commitment::Commitment;

/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Magic of the index file.
pub const MAGIC_INDEX: [u8; 8] = *b"ZKIRVIDX";
/// Magic of a record file.
pub const MAGIC_RECORD: [u8; 8] = *b"ZKIRVREC";
/// Bytes of the frame prefix: magic, version, length, prefix check.
pub const PREFIX_LEN: usize = 22;
/// Bytes of the SHA-256 trailer.
pub const TRAILER_LEN: usize = 32;
/// Smallest possible file: an empty body.
pub const MIN_FILE_LEN: usize = PREFIX_LEN + TRAILER_LEN;

/// Largest wrapped key accepted from a provider (platform wrappers add headers and tags).
pub const MAX_WRAPPED_KEY_LEN: usize = 1024;
/// Most metadata entries per record.
pub const MAX_METADATA_ENTRIES: usize = 256;
/// Longest metadata key in bytes (keys are 1 to 255 bytes of UTF-8).
pub const MAX_METADATA_KEY_LEN: usize = 255;
/// Longest metadata value in bytes.
pub const MAX_METADATA_VALUE_LEN: usize = u16::MAX as usize;

/// KDF kind byte: no key derivation (platform or raw key).
const KDF_NONE: u8 = 0;
/// KDF kind byte: Argon2id version 0x13.
const KDF_ARGON2ID: u8 = 1;

fn prefix_check(prefix: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(prefix);
    [h[0], h[1], h[2], h[3]]
}

/// Starts a framed file of `total_len` bytes: writes the 22-byte prefix into a buffer with
/// exactly `total_len` bytes of capacity (so it never reallocates and leaves no stray copies).
pub(crate) fn frame_start(magic: [u8; 8], total_len: usize) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(total_len));
    buf.extend_from_slice(&magic);
    buf.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    buf.extend_from_slice(&(total_len as u64).to_be_bytes());
    let check = prefix_check(&buf[..18]);
    buf.extend_from_slice(&check);
    buf
}

/// Appends the SHA-256 trailer.
pub(crate) fn frame_finish(buf: &mut Vec<u8>) {
    let h = Sha256::digest(&buf[..]);
    buf.extend_from_slice(&h);
}

/// Checks the frame of a file and returns its body (bytes `22 .. L-32`).
///
/// The checks run in an order that names the problem precisely: empty, shorter than a
/// prefix, damaged prefix, wrong file type, version, declared length, checksum.
pub(crate) fn parse_frame(bytes: &[u8], magic: [u8; 8], file: VaultFile) -> Result<&[u8], VaultError> {
    let actual = bytes.len() as u64;
    if bytes.is_empty() {
        return Err(VaultError::Empty { file });
    }
    if bytes.len() < PREFIX_LEN {
        return Err(VaultError::Truncated { file, expected: MIN_FILE_LEN as u64, actual });
    }
    if prefix_check(&bytes[..18]) != bytes[18..22] {
        return Err(VaultError::Tampered { file, detail: "header checksum mismatch" });
    }
    if bytes[..8] != magic {
        return Err(VaultError::Tampered { file, detail: "not a file of this type (wrong magic)" });
    }
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    if version == 0 {
        return Err(VaultError::Tampered { file, detail: "format version 0 does not exist" });
    }
    if version > FORMAT_VERSION {
        return Err(VaultError::UnsupportedVersion { file, found: version, supported: FORMAT_VERSION });
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[10..18]);
    let declared = u64::from_be_bytes(len);
    if declared < MIN_FILE_LEN as u64 {
        return Err(VaultError::Tampered { file, detail: "declared length is impossible" });
    }
    if actual < declared {
        return Err(VaultError::Truncated { file, expected: declared, actual });
    }
    if actual > declared {
        return Err(VaultError::Tampered { file, detail: "trailing bytes after the declared length" });
    }
    let body_end = bytes.len() - TRAILER_LEN;
    if Sha256::digest(&bytes[..body_end])[..] != bytes[body_end..] {
        return Err(VaultError::Tampered { file, detail: "checksum mismatch" });
    }
    Ok(&bytes[PREFIX_LEN..body_end])
}

/// A bounds-checked cursor. Every read returns `None` past the end; nothing panics.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Some(out)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
}

/// Encoded length of a metadata map (assumes [`check_metadata`] passed).
pub(crate) fn metadata_len(meta: &BTreeMap<String, String>) -> usize {
    2 + meta.iter().map(|(k, v)| 2 + k.len() + 2 + v.len()).sum::<usize>()
}

/// Checks the metadata limits.
pub(crate) fn check_metadata(meta: &BTreeMap<String, String>) -> Result<(), String> {
    if meta.len() > MAX_METADATA_ENTRIES {
        return Err(format!("{} metadata entries, at most {MAX_METADATA_ENTRIES} allowed", meta.len()));
    }
    for (k, v) in meta {
        if k.is_empty() || k.len() > MAX_METADATA_KEY_LEN {
            return Err(format!("metadata key of {} bytes; keys are 1 to {MAX_METADATA_KEY_LEN} bytes", k.len()));
        }
        if v.len() > MAX_METADATA_VALUE_LEN {
            return Err(format!("metadata value for `{k}` has {} bytes, at most {MAX_METADATA_VALUE_LEN}", v.len()));
        }
    }
    Ok(())
}

/// Writes metadata: `u16 count`, then per entry (keys ascending) `u16 key len, key, u16 value
/// len, value`.
pub(crate) fn put_metadata(buf: &mut Vec<u8>, meta: &BTreeMap<String, String>) {
    buf.extend_from_slice(&(meta.len() as u16).to_be_bytes());
    for (k, v) in meta {
        buf.extend_from_slice(&(k.len() as u16).to_be_bytes());
        buf.extend_from_slice(k.as_bytes());
        buf.extend_from_slice(&(v.len() as u16).to_be_bytes());
        buf.extend_from_slice(v.as_bytes());
    }
}

/// Reads metadata, insisting on the canonical form (limits, UTF-8, strictly ascending keys).
pub(crate) fn get_metadata(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, &'static str> {
    let n = r.u16().ok_or("metadata truncated")? as usize;
    if n > MAX_METADATA_ENTRIES {
        return Err("too many metadata entries");
    }
    let mut out = BTreeMap::new();
    let mut last: Option<String> = None;
    for _ in 0..n {
        let kl = r.u16().ok_or("metadata truncated")? as usize;
        if kl == 0 || kl > MAX_METADATA_KEY_LEN {
            return Err("metadata key length out of range");
        }
        let k = std::str::from_utf8(r.take(kl).ok_or("metadata truncated")?).map_err(|_| "metadata key not UTF-8")?;
        let vl = r.u16().ok_or("metadata truncated")? as usize;
        let v = std::str::from_utf8(r.take(vl).ok_or("metadata truncated")?).map_err(|_| "metadata value not UTF-8")?;
        if last.as_deref().is_some_and(|l| l >= k) {
            return Err("metadata keys not strictly ascending");
        }
        last = Some(k.to_string());
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The plaintext part of the index header, readable without a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexHeader {
    pub vault_id: VaultId,
    pub generation: u64,
    pub created_unix: u64,
    pub key_id: String,
    pub kdf: Option<KdfParams>,
    pub wrapped_dek: Vec<u8>,
}

impl IndexHeader {
    /// Bytes from the start of the file to the end of the nonce (= the AAD).
    fn aad_len(&self) -> usize {
        PREFIX_LEN
            + ID_LEN
            + 8
            + 8
            + 1
            + self.key_id.len()
            + 1
            + if self.kdf.is_some() { 12 + KDF_SALT_LEN } else { 0 }
            + 2
            + self.wrapped_dek.len()
            + NONCE_LEN
    }
}

/// One record's entry in the index: its summary and its wrapped data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub summary: RecordSummary,
    pub dek_id: [u8; ID_LEN],
    pub wrapped_dek: Vec<u8>,
}

/// Checks a key id's length rule.
pub(crate) fn check_key_id(key_id: &str) -> Result<(), VaultError> {
    if key_id.is_empty() || key_id.len() > 255 {
        return Err(VaultError::InvalidKeyId { len: key_id.len() });
    }
    Ok(())
}

/// Checks a wrapped key's length rule.
pub(crate) fn check_wrapped_len(len: usize) -> Result<(), VaultError> {
    if len == 0 || len > MAX_WRAPPED_KEY_LEN {
        return Err(VaultError::KeyProvider(keys::KeyError::Malformed("wrapped key must be 1 to 1024 bytes")));
    }
    Ok(())
}

fn entries_len(entries: &[IndexEntry]) -> usize {
    4 + entries.iter().map(|e| ID_LEN + ID_LEN + 2 + e.wrapped_dek.len() + 32 + 20 + 8 + 4 + 4 + metadata_len(&e.summary.metadata)).sum::<usize>()
}

/// Encodes and encrypts the index file. `entries` must be sorted by record id.
pub(crate) fn encode_index(header: &IndexHeader, entries: &[IndexEntry], dek: &[u8; KEY_LEN]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    check_key_id(&header.key_id)?;
    check_wrapped_len(header.wrapped_dek.len())?;
    let aad_len = header.aad_len();
    let body_len = entries_len(entries);
    let total = aad_len + body_len + TAG_LEN + TRAILER_LEN;
    let mut nonce = [0u8; NONCE_LEN];
    keys::fill_random(&mut nonce)?;

    let mut buf = frame_start(MAGIC_INDEX, total);
    buf.extend_from_slice(&header.vault_id.0);
    buf.extend_from_slice(&header.generation.to_be_bytes());
    buf.extend_from_slice(&header.created_unix.to_be_bytes());
    buf.push(header.key_id.len() as u8);
    buf.extend_from_slice(header.key_id.as_bytes());
    match &header.kdf {
        None => buf.push(KDF_NONE),
        Some(p) => {
            buf.push(KDF_ARGON2ID);
            buf.extend_from_slice(&p.cost.m_cost_kib.to_be_bytes());
            buf.extend_from_slice(&p.cost.t_cost.to_be_bytes());
            buf.extend_from_slice(&p.cost.p_cost.to_be_bytes());
            buf.extend_from_slice(&p.salt);
        }
    }
    buf.extend_from_slice(&(header.wrapped_dek.len() as u16).to_be_bytes());
    buf.extend_from_slice(&header.wrapped_dek);
    buf.extend_from_slice(&nonce);
    debug_assert_eq!(buf.len(), aad_len);

    buf.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in entries {
        let s = &e.summary;
        buf.extend_from_slice(&s.id.0);
        buf.extend_from_slice(&e.dek_id);
        buf.extend_from_slice(&(e.wrapped_dek.len() as u16).to_be_bytes());
        buf.extend_from_slice(&e.wrapped_dek);
        buf.extend_from_slice(&s.commitment.0);
        buf.extend_from_slice(&s.device.0);
        buf.extend_from_slice(&s.created_unix.to_be_bytes());
        buf.extend_from_slice(&s.height.to_be_bytes());
        buf.extend_from_slice(&s.width.to_be_bytes());
        put_metadata(&mut buf, &s.metadata);
    }
    debug_assert_eq!(buf.len(), aad_len + body_len);
    let tag = {
        let (aad, body) = buf.split_at_mut(aad_len);
        keys::seal_in_place(dek, &nonce, aad, body)?
    };
    buf.extend_from_slice(&tag);
    frame_finish(&mut buf);
    debug_assert_eq!(buf.len(), total);
    Ok(buf)
}

/// A parsed (not yet decrypted) index file.
pub(crate) struct ParsedIndex<'a> {
    pub header: IndexHeader,
    pub nonce: [u8; NONCE_LEN],
    /// Bytes `0 .. end of nonce`: the associated data.
    pub aad: &'a [u8],
    /// The encrypted entry list (without the tag).
    pub ciphertext: &'a [u8],
    pub tag: [u8; TAG_LEN],
    /// The file's SHA-256 trailer: identifies this exact index version.
    pub checksum: [u8; TRAILER_LEN],
}

const IDX: VaultFile = VaultFile::Index;

fn tampered(detail: &'static str) -> VaultError {
    VaultError::Tampered { file: IDX, detail }
}

/// Parses the index frame and plaintext header. Needs no key.
pub(crate) fn parse_index(bytes: &[u8]) -> Result<ParsedIndex<'_>, VaultError> {
    let body = parse_frame(bytes, MAGIC_INDEX, IDX)?;
    let mut r = Reader::new(body);
    let short = || tampered("header fields run past the end of the file");
    let vault_id = VaultId(r.array().ok_or_else(short)?);
    let generation = r.u64().ok_or_else(short)?;
    let created_unix = r.u64().ok_or_else(short)?;
    let kl = r.u8().ok_or_else(short)? as usize;
    if kl == 0 {
        return Err(tampered("empty key id"));
    }
    let key_id = std::str::from_utf8(r.take(kl).ok_or_else(short)?).map_err(|_| tampered("key id is not UTF-8"))?.to_string();
    let kdf = match r.u8().ok_or_else(short)? {
        KDF_NONE => None,
        KDF_ARGON2ID => {
            let cost = KdfCost { m_cost_kib: r.u32().ok_or_else(short)?, t_cost: r.u32().ok_or_else(short)?, p_cost: r.u32().ok_or_else(short)? };
            cost.validate().map_err(|_| tampered("key-derivation cost out of range"))?;
            Some(KdfParams { cost, salt: r.array().ok_or_else(short)? })
        }
        _ => return Err(tampered("unknown key-derivation kind")),
    };
    let wl = r.u16().ok_or_else(short)? as usize;
    if wl == 0 || wl > MAX_WRAPPED_KEY_LEN {
        return Err(tampered("wrapped key length out of range"));
    }
    let wrapped_dek = r.take(wl).ok_or_else(short)?.to_vec();
    let nonce: [u8; NONCE_LEN] = r.array().ok_or_else(short)?;
    let aad_len = PREFIX_LEN + r.pos();
    if r.remaining() < TAG_LEN {
        return Err(short());
    }
    let ct_len = r.remaining() - TAG_LEN;
    let ciphertext = r.take(ct_len).ok_or_else(short)?;
    let tag: [u8; TAG_LEN] = r.array().ok_or_else(short)?;
    let mut checksum = [0u8; TRAILER_LEN];
    checksum.copy_from_slice(&bytes[bytes.len() - TRAILER_LEN..]);
    Ok(ParsedIndex {
        header: IndexHeader { vault_id, generation, created_unix, key_id, kdf, wrapped_dek },
        nonce,
        aad: &bytes[..aad_len],
        ciphertext,
        tag,
        checksum,
    })
}

/// Decrypts the entry list of a parsed index with the index data key.
pub(crate) fn decrypt_index(p: &ParsedIndex<'_>, dek: &[u8; KEY_LEN]) -> Result<Vec<IndexEntry>, VaultError> {
    let mut plain = Zeroizing::new(p.ciphertext.to_vec());
    keys::open_in_place(dek, &p.nonce, p.aad, &mut plain, &p.tag).map_err(|_| tampered("authentication tag does not verify"))?;
    decode_entries(&plain).map_err(tampered)
}

/// Decodes the decrypted entry list (canonical form only).
pub(crate) fn decode_entries(plain: &[u8]) -> Result<Vec<IndexEntry>, &'static str> {
    let mut r = Reader::new(plain);
    const SHORT: &str = "record list truncated";
    let n = r.u32().ok_or(SHORT)? as usize;
    // Each entry takes at least 107 bytes, which bounds the allocation by the input size.
    let mut out = Vec::with_capacity(n.min(r.remaining() / 107));
    for _ in 0..n {
        let id = RecordId(r.array().ok_or(SHORT)?);
        if out.last().is_some_and(|e: &IndexEntry| e.summary.id >= id) {
            return Err("record ids not strictly ascending");
        }
        let dek_id = r.array().ok_or(SHORT)?;
        let wl = r.u16().ok_or(SHORT)? as usize;
        if wl == 0 || wl > MAX_WRAPPED_KEY_LEN {
            return Err("wrapped key length out of range");
        }
        let wrapped_dek = r.take(wl).ok_or(SHORT)?.to_vec();
        let commitment = Commitment::from_bytes(r.array().ok_or(SHORT)?).map_err(|_| "commitment not canonical")?;
        let device = DeviceId(r.array().ok_or(SHORT)?);
        let created_unix = r.u64().ok_or(SHORT)?;
        let height = r.u32().ok_or(SHORT)?;
        let width = r.u32().ok_or(SHORT)?;
        let metadata = get_metadata(&mut r)?;
        out.push(IndexEntry { summary: RecordSummary { id, commitment, device, created_unix, height, width, metadata }, dek_id, wrapped_dek });
    }
    if r.remaining() != 0 {
        return Err("trailing bytes after the record list");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_entries() -> Vec<IndexEntry> {
        let mut meta = BTreeMap::new();
        meta.insert("eye".to_string(), "left".to_string());
        meta.insert("orb".to_string(), "demo ✓".to_string());
        (1..=3u8)
            .map(|i| IndexEntry {
                summary: RecordSummary {
                    id: RecordId([i; ID_LEN]),
                    commitment: Commitment([i; 32]),
                    device: DeviceId([i; 20]),
                    created_unix: 1_700_000_000 + i as u64,
                    height: 128,
                    width: 1024,
                    metadata: meta.clone(),
                },
                dek_id: [i + 10; ID_LEN],
                wrapped_dek: vec![i; 73],
            })
            .collect()
    }

    fn header(kdf: Option<KdfParams>) -> IndexHeader {
        IndexHeader { vault_id: VaultId([9; ID_LEN]), generation: 42, created_unix: 1_700_000_000, key_id: "test-key".into(), kdf, wrapped_dek: vec![5; 73] }
    }

    #[test]
    fn index_round_trip() {
        let dek = [3u8; KEY_LEN];
        for kdf in [None, Some(KdfParams { cost: KdfCost::MINIMUM, salt: [4; KDF_SALT_LEN] })] {
            let h = header(kdf);
            let entries = sample_entries();
            let bytes = encode_index(&h, &entries, &dek).unwrap();
            let p = parse_index(&bytes).unwrap();
            assert_eq!(p.header, h);
            assert_eq!(decrypt_index(&p, &dek).unwrap(), entries);
            assert!(matches!(decrypt_index(&p, &[4u8; KEY_LEN]), Err(VaultError::Tampered { .. })));
        }
    }

    #[test]
    fn frame_errors_are_precise() {
        let bytes = encode_index(&header(None), &sample_entries(), &[3u8; KEY_LEN]).unwrap();
        assert!(matches!(parse_index(&[]), Err(VaultError::Empty { file: VaultFile::Index })));
        for cut in 1..bytes.len() {
            match parse_index(&bytes[..cut]) {
                Err(VaultError::Truncated { actual, .. }) => assert_eq!(actual, cut as u64),
                Err(e) => panic!("cut at {cut}: {e}"),
                Ok(_) => panic!("cut at {cut} parsed"),
            }
        }
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] ^= 0x01;
            assert!(matches!(parse_index(&t), Err(VaultError::Tampered { .. })), "flip at {i}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(matches!(parse_index(&longer), Err(VaultError::Tampered { .. })));
    }

    #[test]
    fn future_version_is_refused() {
        let mut f = frame_start(MAGIC_INDEX, MIN_FILE_LEN);
        f[9] = 2;
        let check = prefix_check(&f[..18]);
        f[18..22].copy_from_slice(&check);
        frame_finish(&mut f);
        assert!(matches!(parse_index(&f), Err(VaultError::UnsupportedVersion { found: 2, supported: 1, file: VaultFile::Index })));
    }

    #[test]
    fn metadata_is_canonical() {
        let mut buf = Vec::new();
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), "2".to_string());
        m.insert("a".to_string(), "1".to_string());
        put_metadata(&mut buf, &m);
        assert_eq!(buf.len(), metadata_len(&m));
        assert_eq!(get_metadata(&mut Reader::new(&buf)).unwrap(), m);
        // Swap the two entries: keys no longer ascending.
        let swapped = [&buf[..2], &buf[8..14], &buf[2..8]].concat();
        assert_eq!(get_metadata(&mut Reader::new(&swapped)), Err("metadata keys not strictly ascending"));
        let mut too_many = BTreeMap::new();
        for i in 0..=MAX_METADATA_ENTRIES {
            too_many.insert(format!("{i}"), String::new());
        }
        assert!(check_metadata(&too_many).is_err());
    }
}
