//! Share envelopes: party `p`'s share, encrypted to `p`'s public key with HPKE, bound to the
//! proof's statement and to the public share commitment `S_p`.
//!
//! # Encryption
//!
//! HPKE (RFC 9180), base mode, with the suite
//!
//! | | algorithm | HPKE id |
//! |---|---|---|
//! | KEM | X-Wing (ML-KEM-768 + X25519) | `0x647a` ([`KEM_ID`]) |
//! | KDF | HKDF-SHA256 | `0x0001` ([`KDF_ID`]) |
//! | AEAD | ChaCha20-Poly1305 | `0x0003` ([`AEAD_ID`]) |
//!
//! - `info` = `"zkiris/share-envelope/v1"` ([`DOMAIN`]);
//! - associated data ([`StatementId::associated_data`], 153 bytes):
//!
//!   | bytes | field |
//!   |---|---|
//!   | 24 | `"zkiris/share-envelope/v1"` |
//!   | 1 | party `p` (1, 2 or 3) |
//!   | 32 | model id |
//!   | 32 | enrollment commitment `C`, big-endian |
//!   | 32 | submission binding, big-endian |
//!   | 32 | share commitment `S_p`, big-endian |
//!
//!   `(model id, C, binding)` is the statement id ([`StatementId`]): an envelope opens only
//!   together with the proof it came with, for the party it was made for;
//! - plaintext: the share's coefficients, chunk by chunk, each chunk's ring element as its four
//!   coefficients `c0, c1, c2, c3` (of `1, x, x², x³`), each a big-endian `u16` — `8·n` bytes
//!   for `n` chunks, in the order of [`Share::coefficients`].
//!
//! # Envelope bytes (format version [`ENVELOPE_VERSION`])
//!
//! Every integer is big-endian.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `ZKIRSHE\0` ([`ENVELOPE_MAGIC`]) |
//! | 8 | 2 | format version, 1 |
//! | 10 | 2 | HPKE KEM id, `0x647a` |
//! | 12 | 2 | HPKE KDF id, `0x0001` |
//! | 14 | 2 | HPKE AEAD id, `0x0003` |
//! | 16 | 1 | party `p` |
//! | 17 | 4 | `n`, the number of chunks (1 ..= [`MAX_CHUNKS`]) |
//! | 21 | 1120 | the HPKE encapsulated key (X-Wing ciphertext) |
//! | 1141 | `8·n + 16` | the AEAD ciphertext, then its 16-byte tag |
//!
//! A reader refuses a file with another magic, another version or another suite, an invalid
//! party, a size other than `1157 + 8·n`; every header field is authenticated (the party and
//! the version through the associated data, the suite through HPKE's key schedule, `n`
//! through the ciphertext's length).
//!
//! # Opening
//!
//! [`ShareEnvelope::open`] checks the party, decrypts, then recomputes `S_p` over the
//! decrypted share and refuses a share that does not match the public `S_p`: the share a party
//! accepts is the one the proof is about. A wrong key, a changed byte of the ciphertext or a
//! different statement or `S_p` all give the same [`EnvelopeError::Decryption`], on purpose:
//! the error says nothing about which (no oracle).

use halo2_proofs::halo2curves::bn256::Fr;
use hpke::aead::{AeadTag, ChaCha20Poly1305};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::XWing;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use super::keys::{PartyPublicKey, PartySecretKey};
use super::ring::GrElement;
use super::shares::{Party, Share};
use crate::public::{fr_to_be, PublicInputs};

/// Magic of an envelope.
pub const ENVELOPE_MAGIC: &[u8; 8] = b"ZKIRSHE\0";
/// Current envelope format version.
pub const ENVELOPE_VERSION: u16 = 1;
/// HPKE `info`, and the first bytes of the associated data.
pub const DOMAIN: &[u8; 24] = b"zkiris/share-envelope/v1";
/// HPKE KEM id: X-Wing.
pub const KEM_ID: u16 = <XWing as Kem>::KEM_ID;
/// HPKE KDF id: HKDF-SHA256.
pub const KDF_ID: u16 = <HkdfSha256 as hpke::kdf::Kdf>::KDF_ID;
/// HPKE AEAD id: ChaCha20-Poly1305.
pub const AEAD_ID: u16 = <ChaCha20Poly1305 as hpke::aead::Aead>::AEAD_ID;
/// Bytes before the encapsulated key.
pub const HEADER_LEN: usize = 21;
/// Bytes of the X-Wing encapsulated key.
pub const ENCAPPED_KEY_LEN: usize = 1120;
/// Bytes of the AEAD tag.
pub const TAG_LEN: usize = 16;
/// Largest number of chunks an envelope may hold (a 16,384-bit code has 4,096).
pub const MAX_CHUNKS: u32 = 1 << 20;
/// Plaintext bytes per chunk (four `u16` coefficients).
pub const BYTES_PER_CHUNK: usize = 8;
/// Length of the associated data.
pub const AAD_LEN: usize = DOMAIN.len() + 1 + 4 * 32;

/// Errors sealing, reading or opening share envelopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not a share envelope.
    #[error("not a zkiris share envelope (bad magic)")]
    BadMagic,
    /// Written by a newer zkiris.
    #[error("share envelope format {found} is not supported (this SDK reads version {supported}); update zkiris")]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// An HPKE suite this SDK does not know.
    #[error("share envelope uses HPKE suite KEM 0x{kem:04x}, KDF 0x{kdf:04x}, AEAD 0x{aead:04x}; this SDK opens only X-Wing (0x647a), HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003)")]
    UnsupportedSuite {
        /// KEM id.
        kem: u16,
        /// KDF id.
        kdf: u16,
        /// AEAD id.
        aead: u16,
    },
    /// The party byte is not 1, 2 or 3.
    #[error("share envelope names party {0}; parties are 1, 2 and 3")]
    InvalidParty(u8),
    /// The chunk count is 0 or too large.
    #[error("share envelope declares {found} chunks; a share has 1 to {max}")]
    ChunkCount {
        /// Declared chunks.
        found: u32,
        /// Largest supported.
        max: u32,
    },
    /// Fewer bytes than the header declares.
    #[error("share envelope is truncated: {found} bytes, {expected} expected")]
    Truncated {
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// More bytes than the header declares.
    #[error("share envelope has {extra} trailing bytes after its {expected}-byte body")]
    TrailingBytes {
        /// Envelope length from its header.
        expected: usize,
        /// Bytes after it.
        extra: usize,
    },
    /// The envelope is another party's.
    #[error("this share envelope is party {found}'s, not party {expected}'s")]
    WrongParty {
        /// The party opening it.
        expected: Party,
        /// The party it was made for.
        found: Party,
    },
    /// Decryption failed (deliberately opaque).
    #[error("cannot decrypt the share envelope: wrong party key, or the envelope, its proof's statement (model id, commitment C, binding) or S_p differ from what it was sealed with")]
    Decryption,
    /// The decrypted share is not the one the proof commits to.
    #[error("the decrypted share of party {party} does not match the proof's public share commitment S_{party}: the prover encrypted a different share from the one it proved; refuse it")]
    CommitmentMismatch {
        /// Party.
        party: Party,
    },
    /// Shares given out of party order.
    #[error("shares[{position}] is party {found}'s share; give the shares in party order 1, 2, 3")]
    ShareOrder {
        /// Index in the array.
        position: usize,
        /// Its party.
        found: Party,
    },
    /// A share with no chunks, too many, or a different number from the others.
    #[error("party {party}'s share has {found} chunks; shares must have the same number of chunks, 1 to {max}")]
    ShareChunks {
        /// Party.
        party: Party,
        /// Its chunks.
        found: usize,
        /// Largest supported.
        max: u32,
    },
    /// Two parties would get the same key: that key's holder could reconstruct the code.
    #[error(
        "parties {first} and {second} have the same public key: its holder could combine two shares and recover the iris code; give each party its own key"
    )]
    DuplicateRecipient {
        /// First party.
        first: Party,
        /// Second party.
        second: Party,
    },
    /// HPKE failed while sealing (not expected).
    #[error("HPKE sealing failed: {0}")]
    Seal(String),
}

/// The statement an envelope belongs to: the proof's model id, enrollment commitment `C` and
/// submission binding (public inputs 0 and 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementId {
    /// The model id.
    pub model_id: [u8; 32],
    /// The enrollment commitment `C`.
    pub commitment: Fr,
    /// The submission binding ([`crate::public::Binding`]; 0 = unbound).
    pub binding: Fr,
}

impl StatementId {
    /// A statement id.
    pub fn new(model_id: [u8; 32], commitment: Fr, binding: Fr) -> Self {
        Self { model_id, commitment, binding }
    }

    /// The statement id of a proof of model `model_id` with public inputs `public`.
    pub fn of(model_id: [u8; 32], public: &PublicInputs) -> Self {
        Self::new(model_id, public.commitment, public.binding)
    }

    /// The HPKE associated data for party `party`'s envelope with share commitment `s_p`
    /// (see the module documentation).
    pub fn associated_data(&self, party: Party, s_p: &Fr) -> [u8; AAD_LEN] {
        let mut aad = [0u8; AAD_LEN];
        let mut at = 0;
        for part in [&DOMAIN[..], &[party.index()], &self.model_id, &fr_to_be(&self.commitment), &fr_to_be(&self.binding), &fr_to_be(s_p)] {
            aad[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        aad
    }
}

/// Party `p`'s share, encrypted to `p` (see the module documentation for the bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct ShareEnvelope {
    party: Party,
    chunks: u32,
    encapped_key: Vec<u8>,
    /// Ciphertext, then tag.
    sealed: Vec<u8>,
}

impl std::fmt::Debug for ShareEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareEnvelope(party {}, {} chunks, {} bytes)", self.party, self.chunks, self.len())
    }
}

/// Encrypts each party's share to its key: `shares` and `recipients` in party order 1, 2, 3,
/// for the proof with statement id `statement`. Each envelope's associated data carries
/// `S_p = shares[p].commitment()`. Uses the operating system's random number generator.
pub fn seal_shares(shares: &[Share; 3], recipients: &[PartyPublicKey; 3], statement: &StatementId) -> Result<[ShareEnvelope; 3], EnvelopeError> {
    let chunks = shares[0].elements().len();
    for (position, s) in shares.iter().enumerate() {
        if s.party() != Party::ALL[position] {
            return Err(EnvelopeError::ShareOrder { position, found: s.party() });
        }
        if s.elements().len() != chunks || chunks == 0 || chunks > MAX_CHUNKS as usize {
            return Err(EnvelopeError::ShareChunks { party: s.party(), found: s.elements().len(), max: MAX_CHUNKS });
        }
    }
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        if recipients[a] == recipients[b] {
            return Err(EnvelopeError::DuplicateRecipient { first: Party::ALL[a], second: Party::ALL[b] });
        }
    }
    let [a, b, c] = [0, 1, 2].map(|i| seal_one(&shares[i], &recipients[i], statement, &shares[i].commitment()));
    Ok([a?, b?, c?])
}

/// Seals one share with the given `S_p` in its associated data (`seal_shares` passes the
/// share's own; tests pass others).
fn seal_one(share: &Share, recipient: &PartyPublicKey, statement: &StatementId, s_p: &Fr) -> Result<ShareEnvelope, EnvelopeError> {
    let n = share.elements().len();
    let party = share.party();
    let chunks = u32::try_from(n).ok().filter(|c| (1..=MAX_CHUNKS).contains(c)).ok_or(EnvelopeError::ShareChunks { party, found: n, max: MAX_CHUNKS })?;
    let (encapped, mut ctx) =
        hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, XWing>(&OpModeS::Base, recipient.hpke(), DOMAIN).map_err(|e| EnvelopeError::Seal(e.to_string()))?;
    let pt_len = BYTES_PER_CHUNK * n;
    // Plaintext, encrypted in place; sized once so no copy of it is left behind, and zeroized
    // if sealing fails half-way.
    let mut buf = Zeroizing::new(vec![0u8; pt_len + TAG_LEN]);
    for (i, c) in share.coefficients().enumerate() {
        buf[2 * i..2 * i + 2].copy_from_slice(&c.to_be_bytes());
    }
    let aad = statement.associated_data(party, s_p);
    let tag = ctx.seal_inout_detached(InOutBuf::from(&mut buf[..pt_len]), &aad).map_err(|e| EnvelopeError::Seal(e.to_string()))?;
    buf[pt_len..].copy_from_slice(&tag.to_bytes());
    Ok(ShareEnvelope { party, chunks, encapped_key: encapped.to_bytes().to_vec(), sealed: std::mem::take(&mut *buf) })
}

impl ShareEnvelope {
    /// The party it is for.
    pub fn party(&self) -> Party {
        self.party
    }

    /// Chunks of the share inside.
    pub fn chunks(&self) -> usize {
        self.chunks as usize
    }

    /// Length of [`Self::to_bytes`].
    pub fn len(&self) -> usize {
        HEADER_LEN + ENCAPPED_KEY_LEN + self.sealed.len()
    }

    /// Always false (an envelope has a header).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The envelope bytes (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        out.extend_from_slice(ENVELOPE_MAGIC);
        out.extend_from_slice(&ENVELOPE_VERSION.to_be_bytes());
        out.extend_from_slice(&KEM_ID.to_be_bytes());
        out.extend_from_slice(&KDF_ID.to_be_bytes());
        out.extend_from_slice(&AEAD_ID.to_be_bytes());
        out.push(self.party.index());
        out.extend_from_slice(&self.chunks.to_be_bytes());
        out.extend_from_slice(&self.encapped_key);
        out.extend_from_slice(&self.sealed);
        out
    }

    /// Reads envelope bytes, checking their structure (nothing is decrypted).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let head = &bytes[..bytes.len().min(ENVELOPE_MAGIC.len())];
        if head != &ENVELOPE_MAGIC[..head.len()] {
            return Err(EnvelopeError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(EnvelopeError::Truncated { expected: HEADER_LEN, found: bytes.len() });
        }
        let be16 = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let version = be16(8);
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion { found: version, supported: ENVELOPE_VERSION });
        }
        let (kem, kdf, aead) = (be16(10), be16(12), be16(14));
        if (kem, kdf, aead) != (KEM_ID, KDF_ID, AEAD_ID) {
            return Err(EnvelopeError::UnsupportedSuite { kem, kdf, aead });
        }
        let party = Party::new(bytes[16]).map_err(|_| EnvelopeError::InvalidParty(bytes[16]))?;
        let chunks = u32::from_be_bytes([bytes[17], bytes[18], bytes[19], bytes[20]]);
        if !(1..=MAX_CHUNKS).contains(&chunks) {
            return Err(EnvelopeError::ChunkCount { found: chunks, max: MAX_CHUNKS });
        }
        // At most 21 + 1120 + 8·2^20 + 16 bytes: no overflow, even with a 32-bit usize.
        let sealed_len = BYTES_PER_CHUNK * chunks as usize + TAG_LEN;
        let expected = HEADER_LEN + ENCAPPED_KEY_LEN + sealed_len;
        if bytes.len() < expected {
            return Err(EnvelopeError::Truncated { expected, found: bytes.len() });
        }
        if bytes.len() > expected {
            return Err(EnvelopeError::TrailingBytes { expected, extra: bytes.len() - expected });
        }
        let (encapped_key, sealed) = bytes[HEADER_LEN..].split_at(ENCAPPED_KEY_LEN);
        Ok(Self { party, chunks, encapped_key: encapped_key.to_vec(), sealed: sealed.to_vec() })
    }

    /// Decrypts the share with party `expected_party`'s secret key `sk`, for the proof with
    /// statement id `statement` and public share commitment `s_p`, and checks that the share
    /// is the one `s_p` commits to.
    pub fn open(&self, sk: &PartySecretKey, expected_party: Party, statement: &StatementId, s_p: Fr) -> Result<Share, EnvelopeError> {
        if self.party != expected_party {
            return Err(EnvelopeError::WrongParty { expected: expected_party, found: self.party });
        }
        // One error for every failure below: which check failed must not be observable.
        let encapped = <XWing as Kem>::EncappedKey::from_bytes(&self.encapped_key).map_err(|_| EnvelopeError::Decryption)?;
        let mut ctx =
            hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, XWing>(&OpModeR::Base, sk.hpke(), &encapped, DOMAIN).map_err(|_| EnvelopeError::Decryption)?;
        let pt_len = self.sealed.len().checked_sub(TAG_LEN).ok_or(EnvelopeError::Decryption)?;
        let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(&self.sealed[pt_len..]).map_err(|_| EnvelopeError::Decryption)?;
        let mut buf = Zeroizing::new(self.sealed[..pt_len].to_vec());
        let aad = statement.associated_data(self.party, &s_p);
        ctx.open_inout_detached(InOutBuf::from(&mut buf[..]), &aad, &tag).map_err(|_| EnvelopeError::Decryption)?;
        // Authenticated: the length is the sealer's, 8 bytes per chunk.
        let mut elements = Vec::with_capacity(pt_len / BYTES_PER_CHUNK);
        elements.extend(buf.chunks_exact(BYTES_PER_CHUNK).map(|c| GrElement(std::array::from_fn(|j| u16::from_be_bytes([c[2 * j], c[2 * j + 1]])))));
        let share = Share::new(self.party, elements);
        if share.commitment() != s_p {
            return Err(EnvelopeError::CommitmentMismatch { party: self.party });
        }
        Ok(share)
    }

    /// The HPKE suite ids `(KEM, KDF, AEAD)` of this envelope.
    pub fn suite(&self) -> (u16, u16, u16) {
        (KEM_ID, KDF_ID, AEAD_ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpc::shares::{share, MaskedCode, Slopes};

    struct Fixture {
        shares: [Share; 3],
        sks: [PartySecretKey; 3],
        pks: [PartyPublicKey; 3],
        statement: StatementId,
        envelopes: [ShareEnvelope; 3],
    }

    fn fixture(chunks: usize) -> Fixture {
        let values = [0u16, 1, 65535];
        let masked = MaskedCode::from_chunks((0..chunks).map(|k| std::array::from_fn(|j| values[(k * 7 + j * 5) % 3])).collect());
        let shares = share(&masked, &Slopes::random(chunks)).unwrap();
        let sks = [0; 3].map(|_| PartySecretKey::generate());
        let pks = [0, 1, 2].map(|i| sks[i].public_key());
        let statement = StatementId::new([7u8; 32], Fr::from(123456789), Fr::from(42));
        let envelopes = seal_shares(&shares, &pks, &statement).unwrap();
        Fixture { shares, sks, pks, statement, envelopes }
    }

    fn open(f: &Fixture, p: usize, bytes: &[u8]) -> Result<Share, EnvelopeError> {
        ShareEnvelope::from_bytes(bytes)?.open(&f.sks[p], Party::ALL[p], &f.statement, f.shares[p].commitment())
    }

    #[test]
    fn every_party_opens_its_own_share() {
        let f = fixture(5);
        for p in 0..3 {
            let env = &f.envelopes[p];
            assert_eq!((env.party(), env.chunks(), env.len()), (Party::ALL[p], 5, 1157 + 40));
            let bytes = env.to_bytes();
            assert_eq!(bytes.len(), env.len());
            assert_eq!(&bytes[..21], &[b"ZKIRSHE\0".as_slice(), &[0, 1, 0x64, 0x7a, 0, 1, 0, 3, p as u8 + 1, 0, 0, 0, 5]].concat()[..]);
            assert_eq!(&ShareEnvelope::from_bytes(&bytes).unwrap(), env);
            let opened = open(&f, p, &bytes).unwrap();
            assert_eq!(opened, f.shares[p]);
            assert_eq!(env.suite(), (0x647a, 0x0001, 0x0003));
        }
        // Fresh encapsulation every time: sealing the same shares again gives other bytes.
        let again = seal_shares(&f.shares, &f.pks, &f.statement).unwrap();
        assert_ne!(again[0].to_bytes(), f.envelopes[0].to_bytes());
    }

    #[test]
    fn plaintext_is_big_endian_coefficients() {
        let f = fixture(2);
        // Seal a known share to party 1 and decrypt by hand with HPKE.
        let s = Share::new(Party::ALL[0], vec![GrElement([1, 0x0203, 0xfffe, 4]), GrElement([5, 6, 7, 0x8000])]);
        let env = seal_one(&s, &f.pks[0], &f.statement, &s.commitment()).unwrap();
        let enc = <XWing as Kem>::EncappedKey::from_bytes(&env.encapped_key).unwrap();
        let mut ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, XWing>(&OpModeR::Base, f.sks[0].hpke(), &enc, b"zkiris/share-envelope/v1").unwrap();
        let mut aad = b"zkiris/share-envelope/v1\x01".to_vec();
        aad.extend_from_slice(&[7u8; 32]);
        aad.extend_from_slice(&fr_to_be(&Fr::from(123456789)));
        aad.extend_from_slice(&fr_to_be(&Fr::from(42)));
        aad.extend_from_slice(&fr_to_be(&s.commitment()));
        assert_eq!(aad.len(), AAD_LEN);
        let mut pt = env.sealed[..16].to_vec();
        let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(&env.sealed[16..]).unwrap();
        ctx.open_inout_detached(InOutBuf::from(&mut pt[..]), &aad, &tag).unwrap();
        assert_eq!(pt, [0, 1, 2, 3, 0xff, 0xfe, 0, 4, 0, 5, 0, 6, 0, 7, 0x80, 0]);
    }

    #[test]
    fn wrong_key_is_a_decryption_error() {
        let f = fixture(3);
        let other = PartySecretKey::generate();
        let r = f.envelopes[0].open(&other, Party::ALL[0], &f.statement, f.shares[0].commitment());
        assert_eq!(r, Err(EnvelopeError::Decryption));
        // Party 2's key on party 1's envelope (relabelled so the party check passes).
        let mut bytes = f.envelopes[0].to_bytes();
        bytes[16] = 2;
        let r = ShareEnvelope::from_bytes(&bytes).unwrap().open(&f.sks[1], Party::ALL[1], &f.statement, f.shares[0].commitment());
        assert_eq!(r, Err(EnvelopeError::Decryption));
    }

    #[test]
    fn every_tampered_byte_after_the_header_is_a_decryption_error() {
        let f = fixture(2);
        let bytes = f.envelopes[1].to_bytes();
        // Every byte of the ciphertext and tag, and a sample of the encapsulated key's.
        let positions: Vec<usize> = (HEADER_LEN..HEADER_LEN + ENCAPPED_KEY_LEN)
            .step_by(37)
            .chain([HEADER_LEN + 1088, HEADER_LEN + ENCAPPED_KEY_LEN - 1])
            .chain(HEADER_LEN + ENCAPPED_KEY_LEN..bytes.len())
            .collect();
        for i in positions {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert_eq!(open(&f, 1, &t), Err(EnvelopeError::Decryption), "byte {i}");
        }
        assert_eq!(open(&f, 1, &bytes).unwrap(), f.shares[1]);
    }

    #[test]
    fn a_different_statement_or_s_p_is_a_decryption_error() {
        let f = fixture(2);
        let env = &f.envelopes[2];
        let s = f.shares[2].commitment();
        let st = f.statement;
        let mut model = st;
        model.model_id[31] ^= 1;
        let cases = [
            ("model id", model, s),
            ("commitment", StatementId { commitment: st.commitment + Fr::from(1), ..st }, s),
            ("binding", StatementId { binding: Fr::from(0), ..st }, s),
            ("S_p", st, s + Fr::from(1)),
            ("S_p of another party", st, f.shares[1].commitment()),
        ];
        for (what, statement, s_p) in cases {
            assert_eq!(env.open(&f.sks[2], Party::ALL[2], &statement, s_p), Err(EnvelopeError::Decryption), "{what}");
        }
        assert!(env.open(&f.sks[2], Party::ALL[2], &st, s).is_ok());
        // The party byte is authenticated too: relabelled, the right key no longer opens it.
        let mut relabelled = env.to_bytes();
        relabelled[16] = 1;
        let r = ShareEnvelope::from_bytes(&relabelled).unwrap().open(&f.sks[2], Party::ALL[0], &st, s);
        assert_eq!(r, Err(EnvelopeError::Decryption));
        assert_eq!(
            StatementId::of(
                [7u8; 32],
                &PublicInputs {
                    commitment: st.commitment,
                    min_valid_bits: 1,
                    liveness_threshold: Fr::from(0),
                    binding: st.binding,
                    body: crate::public::PublicBody::Shares([s; 3])
                }
            ),
            st
        );
    }

    #[test]
    fn wrong_party_is_named() {
        let f = fixture(2);
        let r = f.envelopes[0].open(&f.sks[0], Party::ALL[1], &f.statement, f.shares[0].commitment());
        assert_eq!(r, Err(EnvelopeError::WrongParty { expected: Party::ALL[1], found: Party::ALL[0] }));
        assert_eq!(r.unwrap_err().to_string(), "this share envelope is party 1's, not party 2's");
    }

    #[test]
    fn a_share_that_does_not_match_s_p_is_refused() {
        let f = fixture(3);
        // A dishonest prover encrypts another share under the proof's S_p.
        let proven = f.shares[0].commitment();
        let mut other: Vec<GrElement> = f.shares[0].elements().to_vec();
        other[2].0[3] = other[2].0[3].wrapping_add(1);
        let swapped = Share::new(Party::ALL[0], other);
        let env = seal_one(&swapped, &f.pks[0], &f.statement, &proven).unwrap();
        let r = env.open(&f.sks[0], Party::ALL[0], &f.statement, proven);
        assert_eq!(r, Err(EnvelopeError::CommitmentMismatch { party: Party::ALL[0] }));
        assert!(r.unwrap_err().to_string().contains("S_1"));
    }

    #[test]
    fn unknown_version_and_suite_are_refused() {
        let f = fixture(1);
        let bytes = f.envelopes[0].to_bytes();
        let mut v = bytes.clone();
        v[9] = 2;
        assert_eq!(ShareEnvelope::from_bytes(&v), Err(EnvelopeError::UnsupportedVersion { found: 2, supported: 1 }));
        for (at, id, expect) in [(10, 0x0020u16, (0x0020, 1, 3)), (12, 0x0003, (0x647a, 3, 3)), (14, 0x0001, (0x647a, 1, 1))] {
            let mut s = bytes.clone();
            s[at..at + 2].copy_from_slice(&id.to_be_bytes());
            assert_eq!(ShareEnvelope::from_bytes(&s), Err(EnvelopeError::UnsupportedSuite { kem: expect.0, kdf: expect.1, aead: expect.2 }));
        }
        let mut m = bytes.clone();
        m[0] = b'X';
        assert_eq!(ShareEnvelope::from_bytes(&m), Err(EnvelopeError::BadMagic));
        for party in [0u8, 4, 255] {
            let mut p = bytes.clone();
            p[16] = party;
            assert_eq!(ShareEnvelope::from_bytes(&p), Err(EnvelopeError::InvalidParty(party)));
        }
        for chunks in [0u32, MAX_CHUNKS + 1, u32::MAX] {
            let mut c = bytes.clone();
            c[17..21].copy_from_slice(&chunks.to_be_bytes());
            assert_eq!(ShareEnvelope::from_bytes(&c), Err(EnvelopeError::ChunkCount { found: chunks, max: MAX_CHUNKS }));
        }
    }

    #[test]
    fn truncation_at_every_length_and_trailing_bytes_are_refused() {
        let f = fixture(2);
        let bytes = f.envelopes[0].to_bytes();
        for cut in 0..bytes.len() {
            let expected = if cut < HEADER_LEN { HEADER_LEN } else { bytes.len() };
            assert_eq!(ShareEnvelope::from_bytes(&bytes[..cut]), Err(EnvelopeError::Truncated { expected, found: cut }), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.extend_from_slice(&[0, 0]);
        assert_eq!(ShareEnvelope::from_bytes(&long), Err(EnvelopeError::TrailingBytes { expected: bytes.len(), extra: 2 }));
        // A header claiming more chunks than the bytes hold.
        let mut more = bytes.clone();
        more[20] = 3;
        assert_eq!(ShareEnvelope::from_bytes(&more), Err(EnvelopeError::Truncated { expected: bytes.len() + 8, found: bytes.len() }));
    }

    #[test]
    fn sealing_refuses_misordered_shares_and_shared_keys() {
        let f = fixture(2);
        let [a, b, c] = f.shares.clone();
        assert_eq!(
            seal_shares(&[b.clone(), a.clone(), c.clone()], &f.pks, &f.statement).unwrap_err(),
            EnvelopeError::ShareOrder { position: 0, found: Party::ALL[1] }
        );
        let pks = [f.pks[0].clone(), f.pks[1].clone(), f.pks[0].clone()];
        assert_eq!(seal_shares(&f.shares, &pks, &f.statement).unwrap_err(), EnvelopeError::DuplicateRecipient { first: Party::ALL[0], second: Party::ALL[2] });
        let short = Share::new(Party::ALL[1], b.elements()[..1].to_vec());
        assert_eq!(
            seal_shares(&[a.clone(), short, c.clone()], &f.pks, &f.statement).unwrap_err(),
            EnvelopeError::ShareChunks { party: Party::ALL[1], found: 1, max: MAX_CHUNKS }
        );
        let empty = [Share::new(Party::ALL[0], vec![]), Share::new(Party::ALL[1], vec![]), Share::new(Party::ALL[2], vec![])];
        assert!(matches!(seal_shares(&empty, &f.pks, &f.statement), Err(EnvelopeError::ShareChunks { found: 0, .. })));
    }

    #[test]
    fn full_size_share_round_trips() {
        // 16,384-bit codes: 4,096 chunks.
        let f = fixture(4096);
        let bytes = f.envelopes[2].to_bytes();
        assert_eq!(bytes.len(), 1157 + 8 * 4096);
        assert_eq!(open(&f, 2, &bytes).unwrap(), f.shares[2]);
    }
}
