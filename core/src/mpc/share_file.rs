//! A party's decrypted share as a file (`share.json`), and combining two parties' files back
//! into the iris and mask codes.
//!
//! # Format (version [`SHARE_FILE_VERSION`])
//!
//! One JSON object with exactly these keys (any order; no others):
//!
//! ```text
//! {"version": 1, "party": 2, "model_id": "<64 hex>", "commitment": "0x<64 hex>",
//!  "elements": [[c0, c1, c2, c3], …]}
//! ```
//!
//! | key | value |
//! |---|---|
//! | `version` | the integer 1 |
//! | `party` | the integer 1, 2 or 3 |
//! | `model_id` | the model id: 64 lowercase hex digits (32 bytes), no prefix |
//! | `commitment` | the enrollment commitment `C`: `0x` and 64 lowercase hex digits, big-endian, below the BN254 scalar modulus |
//! | `elements` | one entry per chunk `k` (at least one): the four coefficients `[c0, c1, c2, c3]` of the ring element `share_p[k] = c0 + c1·x + c2·x² + c3·x³` ([`super::ring`]), each an integer 0 ..= 65535 |
//!
//! [`ShareFile::to_json`] writes it compactly, in the key order above. [`ShareFile::from_json`]
//! refuses anything else with a typed [`ShareFileError`] (JSON syntax, a missing, duplicate or
//! unknown key, a wrong version or party, a malformed hex field, an element without four
//! coefficients or a coefficient that is not an integer in range) and never panics.
//!
//! A share file holds one share: alone it says nothing about the code, but two parties' files
//! of the same proof give the code back ([`combine`]). Its buffers are zeroized.

use halo2_proofs::halo2curves::bn256::Fr;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::envelope::StatementId;
use super::ring::GrElement;
use super::shares::{reconstruct, MaskedCode, Party, Share};
use super::MpcError;
use crate::public::{fr_from_be, fr_to_be};

/// Version of the share-file format.
pub const SHARE_FILE_VERSION: u64 = 1;

/// Errors reading share files or combining them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareFileError {
    /// Not JSON, or not an object with exactly the share-file keys of the right JSON types.
    #[error("not a valid share file: {0}")]
    Json(String),
    /// Another format version.
    #[error("share file version {found} is not supported (this SDK reads version 1)")]
    UnsupportedVersion {
        /// The `version` value, as JSON.
        found: String,
    },
    /// Not party 1, 2 or 3.
    #[error("share file party {found} does not exist; parties are 1, 2 and 3")]
    InvalidParty {
        /// The `party` value, as JSON.
        found: String,
    },
    /// `model_id` is not 64 lowercase hex digits.
    #[error("share file model_id must be 64 lowercase hex digits (32 bytes) without a 0x prefix")]
    ModelId,
    /// `commitment` is not `0x` and 64 lowercase hex digits.
    #[error("share file commitment must be \"0x\" followed by 64 lowercase hex digits (32 bytes, big-endian)")]
    Commitment,
    /// `commitment` is not below the field modulus.
    #[error("share file commitment is not a BN254 scalar (it is not below the field modulus)")]
    CommitmentNotCanonical,
    /// `elements` is empty.
    #[error("share file has no elements; a share has at least one chunk")]
    NoElements,
    /// An element without exactly four coefficients.
    #[error("share file element {chunk} has {found} coefficients; every element has 4 (c0, c1, c2, c3)")]
    ElementLength {
        /// Chunk.
        chunk: usize,
        /// Coefficients found.
        found: usize,
    },
    /// A coefficient that is not an integer 0 ..= 65535.
    #[error("share file element {chunk}, coefficient {index} is {value}; coefficients are integers from 0 to 65535")]
    ElementValue {
        /// Chunk.
        chunk: usize,
        /// Coefficient (0 ..= 3).
        index: usize,
        /// The value, as JSON.
        value: String,
    },
    /// The two files are of different models.
    #[error("the share files are for different models ({first}… and {second}…); combine the shares of one proof")]
    ModelMismatch {
        /// First model id, 8 hex digits.
        first: String,
        /// Second model id, 8 hex digits.
        second: String,
    },
    /// The two files are of different enrollments.
    #[error("the share files are for different enrollment commitments; combine the shares of one proof")]
    CommitmentMismatch,
    /// The two files are the same party's.
    #[error("both share files are party {0}'s; combine the shares of two different parties")]
    SameParty(Party),
    /// The two files have different numbers of chunks.
    #[error("the share files have {first} and {second} elements; shares of one proof have the same number")]
    ChunkMismatch {
        /// Chunks of the first.
        first: usize,
        /// Chunks of the second.
        second: usize,
    },
    /// The shares do not reconstruct a masked code.
    #[error(transparent)]
    Mpc(#[from] MpcError),
}

/// A party's share with the statement it belongs to: the content of `share.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareFile {
    model_id: [u8; 32],
    commitment: Fr,
    share: Share,
}

impl ShareFile {
    /// A share file for `share` of the proof of model `model_id` over enrollment commitment
    /// `commitment`.
    pub fn new(share: Share, model_id: [u8; 32], commitment: Fr) -> Self {
        Self { model_id, commitment, share }
    }

    /// The share file of a share opened from an envelope of the proof `statement`.
    pub fn from_statement(share: Share, statement: &StatementId) -> Self {
        Self::new(share, statement.model_id, statement.commitment)
    }

    /// The party.
    pub fn party(&self) -> Party {
        self.share.party()
    }

    /// The model id.
    pub fn model_id(&self) -> [u8; 32] {
        self.model_id
    }

    /// The enrollment commitment `C`.
    pub fn commitment(&self) -> Fr {
        self.commitment
    }

    /// The share.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// The JSON text (see the module documentation), in a buffer sized up front and zeroized
    /// on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        let n = self.share.elements().len();
        // Header ≤ 200 bytes; each element ≤ 26 ("[65535,65535,65535,65535],").
        let mut out = Zeroizing::new(String::with_capacity(256 + 26 * n));
        out.push_str(&format!(
            "{{\"version\":{SHARE_FILE_VERSION},\"party\":{},\"model_id\":\"{}\",\"commitment\":\"0x{}\",\"elements\":[",
            self.party().index(),
            hex::encode(self.model_id),
            hex::encode(fr_to_be(&self.commitment))
        ));
        let mut num = [0u8; 5];
        for (k, e) in self.share.elements().iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, c) in e.0.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(write_u16(&mut num, *c));
            }
            out.push(']');
        }
        out.push_str("]}");
        zeroize::Zeroize::zeroize(&mut num);
        out
    }

    /// Parses and validates `share.json` bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ShareFileError> {
        let raw: RawShareFile = serde_json::from_slice(bytes).map_err(|e| ShareFileError::Json(e.to_string()))?;
        if raw.version.as_u64() != Some(SHARE_FILE_VERSION) {
            return Err(ShareFileError::UnsupportedVersion { found: raw.version.to_string() });
        }
        let party = raw
            .party
            .as_u64()
            .and_then(|p| u8::try_from(p).ok())
            .and_then(|p| Party::new(p).ok())
            .ok_or_else(|| ShareFileError::InvalidParty { found: raw.party.to_string() })?;
        let model_id = lower_hex_32(&raw.model_id).ok_or(ShareFileError::ModelId)?;
        let commitment_bytes = raw.commitment.strip_prefix("0x").and_then(lower_hex_32).ok_or(ShareFileError::Commitment)?;
        let commitment = fr_from_be(&commitment_bytes).ok_or(ShareFileError::CommitmentNotCanonical)?;
        let elements = raw.elements;
        if let Some(problem) = elements.problem.clone() {
            return Err(problem);
        }
        if elements.quads.is_empty() {
            return Err(ShareFileError::NoElements);
        }
        let mut ring = Vec::with_capacity(elements.quads.len());
        ring.extend(elements.quads.iter().map(|q| GrElement(*q)));
        Ok(Self { model_id, commitment, share: Share::new(party, ring) })
    }
}

/// Two parties' share files of one proof → the serialized `(iris code, mask code)` bytes
/// (bits MSB first; masked bits have code bit 0), through [`reconstruct`] and
/// [`MaskedCode::to_codes`].
#[allow(clippy::type_complexity)]
pub fn combine(a: &ShareFile, b: &ShareFile) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>), ShareFileError> {
    if a.model_id != b.model_id {
        return Err(ShareFileError::ModelMismatch { first: hex::encode(&a.model_id[..4]), second: hex::encode(&b.model_id[..4]) });
    }
    if a.commitment != b.commitment {
        return Err(ShareFileError::CommitmentMismatch);
    }
    if a.party() == b.party() {
        return Err(ShareFileError::SameParty(a.party()));
    }
    let (na, nb) = (a.share.elements().len(), b.share.elements().len());
    if na != nb {
        return Err(ShareFileError::ChunkMismatch { first: na, second: nb });
    }
    let elements = Zeroizing::new(reconstruct(&a.share, &b.share)?);
    Ok(MaskedCode::from_elements(&elements).to_codes()?)
}

/// 32 bytes from exactly 64 lowercase hex digits.
fn lower_hex_32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Decimal digits of `v` in `buf` (no heap allocation, so no stray copies of the value).
fn write_u16(buf: &mut [u8; 5], mut v: u16) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The file as parsed, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShareFile {
    version: serde_json::Value,
    party: serde_json::Value,
    model_id: String,
    commitment: String,
    elements: RawElements,
}

/// The `elements` array: coefficients kept in a zeroized buffer that never reallocates
/// in place (it grows by copying into a larger zeroizing buffer), and the first problem found.
struct RawElements {
    quads: Zeroizing<Vec<[u16; 4]>>,
    problem: Option<ShareFileError>,
}

impl RawElements {
    fn push(&mut self, q: [u16; 4]) {
        if self.quads.len() == self.quads.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity((2 * self.quads.capacity()).max(256)));
            bigger.extend_from_slice(&self.quads);
            // The old buffer is zeroized as it drops.
            self.quads = bigger;
        }
        self.quads.push(q);
    }
}

impl<'de> Deserialize<'de> for RawElements {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ElementsVisitor;
        impl<'de> Visitor<'de> for ElementsVisitor {
            type Value = RawElements;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of elements [c0, c1, c2, c3]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawElements, A::Error> {
                let mut out = RawElements { quads: Zeroizing::new(Vec::new()), problem: None };
                let mut chunk = 0usize;
                while let Some(q) = seq.next_element::<RawQuad>()? {
                    if out.problem.is_none() {
                        if let Some((index, value)) = q.bad.clone() {
                            out.problem = Some(ShareFileError::ElementValue { chunk, index, value });
                        } else if q.len != 4 {
                            out.problem = Some(ShareFileError::ElementLength { chunk, found: q.len });
                        }
                    }
                    out.push(q.values);
                    chunk += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_seq(ElementsVisitor)
    }
}

/// One element as parsed: up to four coefficients, the count, and the first bad value.
struct RawQuad {
    values: [u16; 4],
    len: usize,
    bad: Option<(usize, String)>,
}

impl Drop for RawQuad {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.values);
    }
}

impl<'de> Deserialize<'de> for RawQuad {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct QuadVisitor;
        impl<'de> Visitor<'de> for QuadVisitor {
            type Value = RawQuad;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an element: an array of four coefficients [c0, c1, c2, c3]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawQuad, A::Error> {
                let mut q = RawQuad { values: [0; 4], len: 0, bad: None };
                while let Some(c) = seq.next_element::<RawCoefficient>()? {
                    match c.0 {
                        Ok(v) if q.len < 4 => q.values[q.len] = v,
                        Ok(_) => {}
                        Err(text) => {
                            if q.bad.is_none() && q.len < 4 {
                                q.bad = Some((q.len, text));
                            }
                        }
                    }
                    q.len += 1;
                }
                Ok(q)
            }
        }
        d.deserialize_seq(QuadVisitor)
    }
}

/// A coefficient: a `u16`, or the JSON text of whatever stood there instead.
struct RawCoefficient(Result<u16, String>);

impl<'de> Deserialize<'de> for RawCoefficient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CoefficientVisitor;
        impl<'de> Visitor<'de> for CoefficientVisitor {
            type Value = RawCoefficient;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a coefficient (an integer from 0 to 65535)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(u16::try_from(v).map_err(|_| v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(u16::try_from(v).map_err(|_| v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(Err(format!("{v:?}"))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(Err(v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(Err(serde_json::Value::String(v.chars().take(16).collect()).to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawCoefficient, E> {
                Ok(RawCoefficient(Err("null".into())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCoefficient, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawCoefficient(Err("an array".into())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCoefficient, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawCoefficient(Err("an object".into())))
            }
        }
        d.deserialize_any(CoefficientVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpc::shares::{share, Slopes};

    const MODEL: [u8; 32] = [0xab; 32];

    fn files(chunks: usize) -> ([ShareFile; 3], Vec<u8>, Vec<u8>) {
        // code/mask bytes with every masked-code value present.
        let bytes = chunks.div_ceil(2);
        let code: Vec<u8> = (0..bytes).map(|i| (i as u8).wrapping_mul(37) ^ 0x5a).collect();
        let mut mask: Vec<u8> = (0..bytes).map(|i| (i as u8).wrapping_mul(91) | 0x81).collect();
        if chunks % 2 == 1 {
            // 4·chunks bits: the last byte's low nibble is not part of the code.
            let last = bytes - 1;
            mask[last] &= 0xf0;
        }
        let masked = MaskedCode::new(&code, &mask, 4 * chunks).unwrap();
        let shares = share(&masked, &Slopes::random(chunks)).unwrap();
        let c = Fr::from(0xdead_beef_u64);
        let code_masked: Vec<u8> = code.iter().zip(&mask).map(|(c, m)| c & m).collect();
        (shares.map(|s| ShareFile::new(s, MODEL, c)), code_masked, mask)
    }

    fn json(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn valid() -> serde_json::Value {
        serde_json::json!({"version": 1, "party": 2, "model_id": hex::encode(MODEL), "commitment": format!("0x{}", "00".repeat(31) + "05"), "elements": [[1, 2, 3, 65535], [0, 0, 0, 0]]})
    }

    #[test]
    fn round_trips_and_exact_text() {
        let (f, _, _) = files(3);
        for file in &f {
            let text = file.to_json();
            assert_eq!(&ShareFile::from_json(text.as_bytes()).unwrap(), file);
        }
        let s = Share::new(Party::ALL[2], vec![GrElement([0, 1, 65535, 10]), GrElement([7, 8, 9, 100])]);
        let t = ShareFile::new(s, [1u8; 32], Fr::from(256)).to_json();
        assert_eq!(
            &*t,
            &format!(
                "{{\"version\":1,\"party\":3,\"model_id\":\"{}\",\"commitment\":\"0x{}0100\",\"elements\":[[0,1,65535,10],[7,8,9,100]]}}",
                "01".repeat(32),
                "00".repeat(30)
            )
        );
        let parsed = ShareFile::from_json(&json(valid())).unwrap();
        assert_eq!((parsed.party(), parsed.model_id(), parsed.commitment()), (Party::ALL[1], MODEL, Fr::from(5)));
        assert_eq!(parsed.share().elements(), &[GrElement([1, 2, 3, 65535]), GrElement([0; 4])]);
        // Key order and whitespace do not matter.
        let reordered = format!(
            "{{ \"elements\" : [[1,2,3,65535],[0,0,0,0]], \"commitment\": \"0x{}05\", \"model_id\": \"{}\", \"party\": 2, \"version\": 1 }}\n",
            "00".repeat(31),
            hex::encode(MODEL)
        );
        assert_eq!(ShareFile::from_json(reordered.as_bytes()).unwrap(), parsed);
    }

    #[test]
    fn any_two_parties_combine_to_the_codes() {
        for chunks in [1, 2, 7, 64] {
            let (f, code, mask) = files(chunks);
            for a in 0..3 {
                for b in 0..3 {
                    if a == b {
                        assert_eq!(combine(&f[a], &f[b]), Err(ShareFileError::SameParty(Party::ALL[a])));
                        continue;
                    }
                    let (c, m) = combine(&f[a], &f[b]).unwrap();
                    assert_eq!((&c[..], &m[..]), (&code[..], &mask[..]), "{chunks} chunks, parties {} {}", a + 1, b + 1);
                }
            }
        }
    }

    #[test]
    fn combine_refuses_files_that_do_not_belong_together() {
        let (f, _, _) = files(4);
        let other_model = ShareFile::new(f[1].share.clone(), [0xac; 32], f[1].commitment);
        assert_eq!(combine(&f[0], &other_model), Err(ShareFileError::ModelMismatch { first: "abababab".into(), second: "acacacac".into() }));
        let other_c = ShareFile::new(f[1].share.clone(), MODEL, Fr::from(1));
        assert_eq!(combine(&f[0], &other_c), Err(ShareFileError::CommitmentMismatch));
        let short = ShareFile::new(Share::new(Party::ALL[1], f[1].share.elements()[..3].to_vec()), MODEL, f[1].commitment);
        assert_eq!(combine(&f[0], &short), Err(ShareFileError::ChunkMismatch { first: 4, second: 3 }));
        // Shares of another code (other slopes, same party numbers) do not reconstruct a masked code.
        let (g, _, _) = files(4);
        let mixed = ShareFile::new(g[1].share.clone(), MODEL, f[1].commitment);
        assert!(matches!(combine(&f[0], &mixed), Err(ShareFileError::Mpc(MpcError::NotAMaskedCode { .. }))));
    }

    #[test]
    fn version_and_party_are_checked() {
        for (v, found) in [
            (serde_json::json!(2), "2"),
            (serde_json::json!(0), "0"),
            (serde_json::json!("1"), "\"1\""),
            (serde_json::json!(1.0), "1.0"),
            (serde_json::json!(null), "null"),
        ] {
            let mut j = valid();
            j["version"] = v;
            assert_eq!(ShareFile::from_json(&json(j)), Err(ShareFileError::UnsupportedVersion { found: found.into() }));
        }
        for (p, found) in [
            (serde_json::json!(0), "0"),
            (serde_json::json!(4), "4"),
            (serde_json::json!(257), "257"),
            (serde_json::json!(-1), "-1"),
            (serde_json::json!("2"), "\"2\""),
        ] {
            let mut j = valid();
            j["party"] = p;
            assert_eq!(ShareFile::from_json(&json(j)), Err(ShareFileError::InvalidParty { found: found.into() }));
        }
    }

    #[test]
    fn hex_fields_are_strict() {
        let good = hex::encode(MODEL);
        for bad in [good.to_uppercase(), format!("0x{good}"), good[..62].to_string(), format!("{good}00"), format!("{}g", &good[..63]), String::new()] {
            let mut j = valid();
            j["model_id"] = bad.clone().into();
            assert_eq!(ShareFile::from_json(&json(j)), Err(ShareFileError::ModelId), "{bad}");
        }
        let c = "00".repeat(31) + "05";
        for bad in [c.clone(), format!("0X{c}"), format!("0x{}", &c[2..]), format!("0x{c}00"), format!("0x{}", "AB".repeat(32)), "0x".into()] {
            let mut j = valid();
            j["commitment"] = bad.clone().into();
            assert_eq!(ShareFile::from_json(&json(j)), Err(ShareFileError::Commitment), "{bad}");
        }
        let mut j = valid();
        j["commitment"] = format!("0x{}", "ff".repeat(32)).into();
        assert_eq!(ShareFile::from_json(&json(j)), Err(ShareFileError::CommitmentNotCanonical));
    }

    #[test]
    fn elements_are_strict() {
        let cases: Vec<(serde_json::Value, ShareFileError)> = vec![
            (serde_json::json!([]), ShareFileError::NoElements),
            (serde_json::json!([[1, 2, 3]]), ShareFileError::ElementLength { chunk: 0, found: 3 }),
            (serde_json::json!([[1, 2, 3, 4], [1, 2, 3, 4, 5]]), ShareFileError::ElementLength { chunk: 1, found: 5 }),
            (serde_json::json!([[1, 2, 3, 4], []]), ShareFileError::ElementLength { chunk: 1, found: 0 }),
            (serde_json::json!([[1, 65536, 3, 4]]), ShareFileError::ElementValue { chunk: 0, index: 1, value: "65536".into() }),
            (serde_json::json!([[0, 0, 0, 0], [1, 2, -1, 4]]), ShareFileError::ElementValue { chunk: 1, index: 2, value: "-1".into() }),
            (serde_json::json!([[1.5, 2, 3, 4]]), ShareFileError::ElementValue { chunk: 0, index: 0, value: "1.5".into() }),
            (serde_json::json!([[1, 2, 3, "4"]]), ShareFileError::ElementValue { chunk: 0, index: 3, value: "\"4\"".into() }),
            (serde_json::json!([[1, 2, 3, null]]), ShareFileError::ElementValue { chunk: 0, index: 3, value: "null".into() }),
            (serde_json::json!([[1, 2, [3], 4]]), ShareFileError::ElementValue { chunk: 0, index: 2, value: "an array".into() }),
            (serde_json::json!([[1, 2, 3, {"a": 1}]]), ShareFileError::ElementValue { chunk: 0, index: 3, value: "an object".into() }),
            (
                serde_json::json!([[1, 2, 3, 18446744073709551615u64]]),
                ShareFileError::ElementValue { chunk: 0, index: 3, value: "18446744073709551615".into() },
            ),
        ];
        for (elements, err) in cases {
            let mut j = valid();
            j["elements"] = elements.clone();
            assert_eq!(ShareFile::from_json(&json(j)), Err(err), "{elements}");
        }
        let mut j = valid();
        j["elements"] = serde_json::json!([1, 2, 3, 4]);
        assert!(matches!(ShareFile::from_json(&json(j)), Err(ShareFileError::Json(_))));
    }

    #[test]
    fn keys_and_syntax_are_strict() {
        let mut extra = valid();
        extra["binding"] = "0x00".into();
        assert!(matches!(ShareFile::from_json(&json(extra)), Err(ShareFileError::Json(m)) if m.contains("unknown field `binding`")));
        for key in ["version", "party", "model_id", "commitment", "elements"] {
            let mut j = valid();
            j.as_object_mut().unwrap().remove(key);
            assert!(matches!(ShareFile::from_json(&json(j)), Err(ShareFileError::Json(m)) if m.contains(&format!("missing field `{key}`"))), "{key}");
        }
        let text = String::from_utf8(json(valid())).unwrap();
        let dup = text.replacen("{", "{\"party\":1,", 1);
        assert!(matches!(ShareFile::from_json(dup.as_bytes()), Err(ShareFileError::Json(m)) if m.contains("duplicate field `party`")));
        for bad in [&b""[..], b"[]", b"null", b"{", &text.as_bytes()[..text.len() - 1], format!("{text}x").as_bytes()] {
            assert!(matches!(ShareFile::from_json(bad), Err(ShareFileError::Json(_))), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn long_files_parse() {
        // 4,096 chunks (a 16,384-bit code): the zeroizing buffer grows several times.
        let (f, _, _) = files(4096);
        let text = f[0].to_json();
        // Sized up front: writing never reallocated (which would leave copies behind).
        assert_eq!(text.capacity(), 256 + 26 * 4096);
        assert!(text.len() <= text.capacity());
        assert_eq!(ShareFile::from_json(text.as_bytes()).unwrap(), f[0]);
    }
}
