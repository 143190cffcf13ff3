//! The enrollment commitment `C = Commit(I, M, r)`.
//!
//! The enrollment device computes `C` over the normalized image `I`, the mask `M` and a random
//! salt `r`, and signs it ([`crate::attest`]). Every proof shows that its image and mask are the
//! ones committed in `C`, so a model upgrade can be linked to the same enrollment.
//!
//! `C` is a BN254 scalar-field element, written as 32 big-endian bytes (the Solidity `uint256`).
//! The hash itself (Poseidon, packing of pixels and mask bits, sponge) is specified in
//! [`commit`]'s documentation.

use std::fmt;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use zeroize::Zeroizing;

use crate::image::{IrisImage, IrisMask};
use crate::poseidon::{fr_from_be, fr_to_be, sponge_hash};

/// The BN254 scalar-field modulus, big-endian (defined with the Poseidon parameters).
pub use crate::poseidon::FIELD_MODULUS_BE;

/// Errors about salts and commitments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitmentError {
    /// The bytes are not a canonical field element (≥ the BN254 modulus) or have the wrong length.
    #[error("{what} is not a canonical BN254 field element (32 big-endian bytes below the modulus)")]
    NotCanonical {
        /// Which value.
        what: &'static str,
    },
    /// The image and mask shapes differ, or the shape is not supported.
    #[error("cannot commit: {0}")]
    Shape(String),
}

fn canonical(bytes: &[u8; 32]) -> bool {
    bytes.as_slice() < FIELD_MODULUS_BE.as_slice()
}

/// The commitment's blinding salt `r`: a secret field element (zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(Zeroizing<[u8; 32]>);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt([REDACTED])")
    }
}

impl Salt {
    /// A fresh random salt: 31 random bytes below a zero top byte (always canonical, 248 bits).
    pub fn random() -> Self {
        use rand_core::RngCore;
        let mut b = Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(&mut b[1..]);
        Self(b)
    }

    /// Wraps 32 big-endian bytes; they must be below the field modulus.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CommitmentError> {
        let b = Zeroizing::new(bytes);
        if !canonical(&b) {
            return Err(CommitmentError::NotCanonical { what: "salt" });
        }
        Ok(Self(b))
    }

    /// Parses 64 hex digits (optionally `0x`-prefixed; shorter strings are left-padded).
    pub fn from_hex(s: &str) -> Result<Self, CommitmentError> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.len() > 64 || s.is_empty() {
            return Err(CommitmentError::NotCanonical { what: "salt" });
        }
        let padded = Zeroizing::new(format!("{s:0>64}"));
        let raw = Zeroizing::new(hex::decode(padded.as_str()).map_err(|_| CommitmentError::NotCanonical { what: "salt" })?);
        let mut b = [0u8; 32];
        b.copy_from_slice(&raw);
        Self::from_bytes(b)
    }

    /// The 32 big-endian bytes (secret).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A commitment `C`: a field element as 32 big-endian bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Commitment(#[serde(with = "hex32")] pub [u8; 32]);

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let t = String::deserialize(d)?;
        let raw = hex::decode(t.strip_prefix("0x").unwrap_or(&t)).map_err(serde::de::Error::custom)?;
        raw.try_into().map_err(|_| serde::de::Error::custom("commitment must be 32 bytes"))
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({self})")
    }
}

impl Commitment {
    /// Wraps 32 big-endian bytes; they must be below the field modulus.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CommitmentError> {
        if !canonical(&bytes) {
            return Err(CommitmentError::NotCanonical { what: "commitment" });
        }
        Ok(Self(bytes))
    }

    /// Parses `0x`-prefixed (or bare) 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, CommitmentError> {
        let s = s.trim();
        let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|_| CommitmentError::NotCanonical { what: "commitment" })?;
        let b: [u8; 32] = raw.try_into().map_err(|_| CommitmentError::NotCanonical { what: "commitment" })?;
        Self::from_bytes(b)
    }
}

/// Version of the commitment format, the top field of the header element.
pub const FORMAT_VERSION: u64 = 1;

/// Pixels packed into one field element (28 bytes; 4 pixels per circuit row fill 7 rows).
pub const PIXELS_PER_ELEMENT: usize = 28;

/// Mask bits packed into one field element (4 bits per circuit row fill 63 rows).
pub const MASK_BITS_PER_ELEMENT: usize = 252;

/// Width `t` of the Poseidon sponge (rate `t − 1 = 5`); see [`commit`] for why.
pub const SPONGE_WIDTH: usize = 6;

/// Number of field elements [`commit`] hashes for a `height × width` image:
/// `1 + ⌈hw/28⌉ + ⌈hw/252⌉ + 1` (5,205 for 128×1024).
pub fn element_count(height: u32, width: u32) -> usize {
    let n = height as usize * width as usize;
    2 + n.div_ceil(PIXELS_PER_ELEMENT) + n.div_ceil(MASK_BITS_PER_ELEMENT)
}

/// The header element `1·2^64 + height·2^32 + width`.
fn header(height: u32, width: u32) -> Fr {
    let shift32 = Fr::from(1u64 << 32);
    (Fr::from(FORMAT_VERSION) * shift32 + Fr::from(u64::from(height))) * shift32 + Fr::from(u64::from(width))
}

/// Big-endian packing of `values` into one element: `Σ_k values[k]·2^(bits·(len−1−k))`.
fn pack_be(values: &[u8], bits: u32, len: usize) -> Fr {
    let base = Fr::from(1u64 << bits);
    (0..len).fold(Fr::ZERO, |acc, k| acc * base + Fr::from(u64::from(values.get(k).copied().unwrap_or(0))))
}

/// The field elements hashed by [`commit`], in order (secret: they hold the image).
pub(crate) fn elements(image: &IrisImage, mask: &IrisMask, salt: &Salt) -> Result<SecretElements, CommitmentError> {
    mask.check_matches(image).map_err(|e| CommitmentError::Shape(e.to_string()))?;
    let (h, w) = (image.height(), image.width());
    if h == 0 || w == 0 {
        return Err(CommitmentError::Shape(format!("a {h}x{w} image has no pixels; zkiris commits non-empty images")));
    }
    let salt = fr_from_be(salt.as_bytes()).ok_or(CommitmentError::NotCanonical { what: "salt" })?;
    let mut out = SecretElements(Vec::with_capacity(element_count(h, w)));
    out.0.push(header(h, w));
    out.0.extend(image.pixels().chunks(PIXELS_PER_ELEMENT).map(|c| pack_be(c, 8, PIXELS_PER_ELEMENT)));
    out.0.extend(mask.bits().chunks(MASK_BITS_PER_ELEMENT).map(|c| pack_be(c, 1, MASK_BITS_PER_ELEMENT)));
    out.0.push(salt);
    Ok(out)
}

/// Field elements derived from the image, overwritten with zeros on drop (best effort:
/// `Fr` has no `Zeroize` implementation).
pub(crate) struct SecretElements(pub(crate) Vec<Fr>);

impl Drop for SecretElements {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|x| *x = Fr::ZERO);
        std::hint::black_box(&mut self.0);
    }
}

/// Computes the enrollment commitment `C = Commit(I, M, r)` (format version 1).
///
/// # Format (version 1)
///
/// Everything is over the BN254 scalar field `Fr`
/// (`p = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001`). For an image
/// of `height × width` pixels (`N = height·width`), the hashed sequence is, in order:
///
/// 1. **header** `e_0 = 1·2^64 + height·2^32 + width` (the `1` is [`FORMAT_VERSION`]);
/// 2. **pixels**: the image in row-major order (`index = row·width + col`) cut into groups of
///    [`PIXELS_PER_ELEMENT`] = 28; group `g` gives `Σ_{k<28} pixel[28g+k]·256^(27−k)` — the 28
///    bytes read as a big-endian integer, first pixel most significant; the last group is
///    padded with zero pixels (`⌈N/28⌉` elements);
/// 3. **mask**: the mask bits (0 or 1) in row-major order cut into groups of
///    [`MASK_BITS_PER_ELEMENT`] = 252; group `g` gives `Σ_{k<252} bit[252g+k]·2^(251−k)`, first bit
///    most significant; the last group is padded with zero bits (`⌈N/252⌉` elements);
/// 4. **salt**: `r` as a field element (its 32 big-endian bytes, always `< p`).
///
/// For 128×1024 that is `1 + 4682 + 521 + 1 = 5205` elements ([`element_count`]).
///
/// The sequence `e_0 … e_{L−1}` is hashed with a Poseidon sponge of width `t = 6`
/// ([`SPONGE_WIDTH`]), rate 5, capacity 1:
///
/// * `state = [L, 0, 0, 0, 0, 0]` (domain separation by length);
/// * for each block of 5 consecutive elements (the last block padded with zeros):
///   `state[1+i] += block[i]` for `i < 5`, then `state = P(state)`;
/// * `C = state[1]`, written as 32 big-endian bytes.
///
/// `P` is the Poseidon permutation with circomlib's parameters for `t = 6`: S-box `x^5`,
/// 8 full rounds (4 before and 4 after) and 60 partial rounds, round constants and MDS
/// matrix generated by the reference script `generate_parameters_grain.sage 1 0 254 6 8 60
/// 0x30644e72…f0000001` (see [`crate::poseidon::PoseidonParams`]). Round `r`: add the
/// constants `c[r][0..6]`; apply `x^5` to all six elements (full round) or to element 0 only
/// (partial round); multiply by the MDS matrix (`state'[i] = Σ_j M[i][j]·state[j]`). The same
/// permutation is circomlib's (its `Poseidon(5)` is `P([0, x_1..x_5])[0]`), so circomlib's
/// `PoseidonEx(5, 6)` with `initialState = s_0` and `inputs = s_1..s_5` computes `P(s)` and can
/// serve as a reference implementation of each sponge step.
///
/// # Why width 6
///
/// The in-circuit chip (`circuit/chips/poseidon.rs`) proves this hash in two advice columns
/// and four fixed columns; a permutation of width `t` takes `9t + R_P` rows, and the gates'
/// evaluation cost grows with `t²` (three dense `t × t`-sized linear maps). Measured with a
/// real KZG (SHPLONK) keygen + prove + verify of a 5,205-element hash, best of 3 proofs
/// (`core/src/circuit/chips/poseidon/cost.rs`). The machine (2 cores) was shared with other
/// jobs (load 5–8), so CPU seconds are the stable figure and wall times are pessimistic:
///
/// | t | R_P | rows | k | gate evaluations per row | prove CPU | prove wall | verify | proof | peak RSS (prove) |
/// |---|---|---|---|---|---|---|---|---|---|
/// | 5 | 60 | 136,715 | 18 (does not fit 17) | 324 | 19.8 s | 22.2 s | 2 ms | 1,504 B | 600 MiB |
/// | **6** | 60 | **118,680** | 17 | 438 | **11.5 s** | 12.9 s | 2–4 ms | 1,696 B | 367 MiB |
/// | 7 | 63 | 109,375 | 17 | 570 | 12.6 s | 14.7 s | 3–12 ms | 1,888 B | 367 MiB |
/// | 9 | 63 | 93,753 | 17 | 888 | 14.7 s | 15.8 s | 3 ms | 2,272 B | 343 MiB |
///
/// Width 6 is the smallest that fits `k = 17` in two columns, and the cheapest measured.
/// Natively, the whole 128×1024 commitment (1,041 permutations) takes about 90 ms on this
/// machine.
///
/// # Errors
///
/// [`CommitmentError::Shape`] if the mask and image shapes differ or the image is empty.
pub fn commit(image: &IrisImage, mask: &IrisMask, salt: &Salt) -> Result<Commitment, CommitmentError> {
    let elements = elements(image, mask, salt)?;
    let c = sponge_hash(SPONGE_WIDTH, &elements.0).map_err(|e| CommitmentError::Shape(e.to_string()))?;
    Ok(Commitment(fr_to_be(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_canonical_and_redacted() {
        let s = Salt::random();
        assert_eq!(s.as_bytes()[0], 0);
        assert_eq!(format!("{s:?}"), "Salt([REDACTED])");
        assert!(Salt::from_bytes([0xff; 32]).is_err());
        assert!(Salt::from_bytes(FIELD_MODULUS_BE).is_err());
        let mut below = FIELD_MODULUS_BE;
        below[31] -= 1;
        assert!(Salt::from_bytes(below).is_ok());
        assert_eq!(Salt::from_hex("0x01").unwrap().as_bytes()[31], 1);
    }

    fn small() -> (IrisImage, IrisMask, Salt) {
        let pixels: Vec<u8> = (0..60u32).map(|i| (i * 37 % 256) as u8).collect();
        let bits: Vec<u8> = (0..60u32).map(|i| u8::from(i % 3 != 0)).collect();
        let image = IrisImage::new(6, 10, pixels).unwrap();
        let mask = IrisMask::new(6, 10, bits).unwrap();
        (image, mask, Salt::from_hex("0x0123456789abcdef").unwrap())
    }

    #[test]
    fn commit_known_answer() {
        let (image, mask, salt) = small();
        let c = commit(&image, &mask, &salt).unwrap();
        assert_eq!(c, commit(&image, &mask, &salt).unwrap(), "deterministic");
        // Pinned value (format v1, t = 6). Changing it breaks every enrolled commitment.
        assert_eq!(c.to_string(), "0x113512ecfdefb5f18d57f56ecf779a7366d82e5ff288a55563546bbd6ac2fca5");
    }

    #[test]
    fn commit_binds_every_input() {
        let (image, mask, salt) = small();
        let c = commit(&image, &mask, &salt).unwrap();
        let mut pixels = image.pixels().to_vec();
        pixels[59] ^= 1;
        let image2 = IrisImage::new(6, 10, pixels).unwrap();
        assert_ne!(commit(&image2, &mask, &salt).unwrap(), c, "one pixel bit");
        let mut bits = mask.bits().to_vec();
        bits[0] ^= 1;
        let mask2 = IrisMask::new(6, 10, bits).unwrap();
        assert_ne!(commit(&image, &mask2, &salt).unwrap(), c, "one mask bit");
        let salt2 = Salt::from_hex("0x0123456789abcdee").unwrap();
        assert_ne!(commit(&image, &mask, &salt2).unwrap(), c, "salt");
        // The same pixels in another shape commit differently (header).
        let image3 = IrisImage::new(10, 6, image.pixels().to_vec()).unwrap();
        let mask3 = IrisMask::new(10, 6, mask.bits().to_vec()).unwrap();
        assert_ne!(commit(&image3, &mask3, &salt).unwrap(), c, "shape");
    }

    #[test]
    fn commit_rejects_shape_mismatch() {
        let (image, _, salt) = small();
        let mask = IrisMask::all_valid(10, 6);
        let err = commit(&image, &mask, &salt).unwrap_err();
        assert!(matches!(err, CommitmentError::Shape(ref m) if m.contains("6x10")), "{err}");
        let empty = IrisImage::new(0, 4, vec![]).unwrap();
        let err = commit(&empty, &IrisMask::all_valid(0, 4), &salt).unwrap_err();
        assert!(matches!(err, CommitmentError::Shape(_)), "{err}");
    }

    #[test]
    fn element_layout() {
        assert_eq!(element_count(128, 1024), 1 + 4682 + 521 + 1);
        assert_eq!(element_count(128, 1024), 5205);
        let (image, mask, salt) = small();
        let e = elements(&image, &mask, &salt).unwrap();
        assert_eq!(e.0.len(), element_count(6, 10));
        assert_eq!(e.0.len(), 1 + 3 + 1 + 1);
        let header = hex::decode("000000000000000000000000000000000000000000000001000000060000000a").unwrap();
        assert_eq!(fr_to_be(&e.0[0])[..], header[..]);
        // Pixel group 0: bytes 0..28 big-endian, first pixel most significant.
        let mut be = [0u8; 32];
        be[4..].copy_from_slice(&image.pixels()[..28]);
        assert_eq!(fr_to_be(&e.0[1]), be);
        // Last pixel group: pixels 56..60 then zero padding.
        let mut be = [0u8; 32];
        be[4..8].copy_from_slice(&image.pixels()[56..]);
        assert_eq!(fr_to_be(&e.0[3]), be);
        // Mask: 60 bits then 192 zero bits; bit k has weight 2^(251−k).
        let mut be = [0u8; 32];
        for (k, &b) in mask.bits().iter().enumerate() {
            let pos = 251 - k;
            be[31 - pos / 8] |= b << (pos % 8);
        }
        assert_eq!(fr_to_be(&e.0[4]), be);
        assert_eq!(fr_to_be(&e.0[5]), *salt.as_bytes());
        // Full size: 28-pixel and 252-bit groups stay below the field modulus.
        let image = IrisImage::new(128, 1024, vec![255; 128 * 1024]).unwrap();
        let mask = IrisMask::all_valid(128, 1024);
        let e = elements(&image, &mask, &salt).unwrap();
        assert_eq!(e.0.len(), 5205);
        assert_eq!(fr_to_be(&e.0[1])[..4], [0, 0, 0, 0]);
        assert_eq!(fr_to_be(&e.0[1])[4..], [255; 28]);
        assert_eq!(fr_to_be(&e.0[4683])[0], 0x0f);
    }

    #[test]
    fn commitment_hex_round_trip() {
        let c = Commitment::from_hex("0x0102").unwrap_err();
        assert_eq!(c, CommitmentError::NotCanonical { what: "commitment" });
        let mut b = [0u8; 32];
        b[31] = 9;
        let c = Commitment::from_bytes(b).unwrap();
        assert_eq!(Commitment::from_hex(&c.to_string()).unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Commitment>(&json).unwrap(), c);
    }
}
