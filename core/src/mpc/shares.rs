//! Masked code, ring elements and the three Shamir shares, natively; and the share
//! commitments `S_p`.
//!
//! # From codes to shares
//!
//! 1. **Masked code**, per bit `i` of the serialized codes (bit `i` = the `i`-th bit, MSB first,
//!    of the code bytes): `m_i = (mask_i − 2·(code_i ∧ mask_i)) mod 2^16`, so a valid 0-bit is
//!    1, a valid 1-bit is 65535 and a masked bit is 0 (iris-mpc's
//!    `GaloisRingIrisCodeShare::encode_iris_code`).
//! 2. **Chunks**: bits `4k .. 4k+3` form chunk `k`, encoded as the ring element
//!    `e_k = M · (m_4k, …, m_4k+3)ᵀ mod 2^16` ([`super::ring::encode`]).
//! 3. **Shares**: with a secret, uniformly random `slope_k` per chunk (fresh for every proof),
//!    party `p` gets `share_p[k] = e_k + e_p · slope_k` with `e_p ∈ {1, x, 1 + x}`. Any two
//!    shares give `e_k` back ([`reconstruct`]); one share alone is uniformly random.
//!
//! # Share commitment `S_p` (version [`SHARE_COMMITMENT_VERSION`])
//!
//! Party `p`'s coefficients in order — `c[4k + j]` = coefficient `j` of `share_p[k]` — are
//! packed big-endian, [`COEFFS_PER_ELEMENT`] = 15 per field element (240 bits; the last element
//! holds the remaining `n mod 15` coefficients, if any):
//! `f_t = Σ_{i} c[15t + i] · 2^(16·(len_t − 1 − i))`. Then
//!
//! ```text
//! S_p = PoseidonSponge_4( header_p, f_0, f_1, … )    header_p = 2·2^96 + 1·2^64 + p·2^32 + n
//! ```
//!
//! with the zkiris sponge ([`crate::poseidon::sponge_hash`]) of width [`SHARE_SPONGE_WIDTH`] =
//! 4, `n` the number of coefficients (4 per chunk). Width 4 rather than the enrollment
//! commitment's 6: the three sponges of a 16,384-bit code (1,094 inputs each) still fit one
//! `k = 17` column pair (100,752 rows), and the chip's gates cost about half as many operations
//! per row, which every row of the circuit pays in each proof. The header separates the
//! domains: kind 2 (an MPC share; the enrollment commitment's header is below 2^65), version 1,
//! party `p`. The circuit computes the same hash over the same packed cells
//! (`circuit/chips/shares.rs`).

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use zeroize::{DefaultIsZeroes, Zeroize, Zeroizing};

use super::ring::{decode, encode, GrElement, EVAL_POINTS};
use super::MpcError;

impl DefaultIsZeroes for GrElement {}

/// Version of the share-commitment format (the `1` in every `header_p`).
pub const SHARE_COMMITMENT_VERSION: u64 = 1;

/// Share coefficients packed into one field element of `S_p`'s hash (15 × 16 = 240 bits).
pub const COEFFS_PER_ELEMENT: usize = 15;

/// Sponge width of `S_p` (see the module documentation for why 4).
pub const SHARE_SPONGE_WIDTH: usize = 4;

/// A party of the MPC service: 1, 2 or 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Party(u8);

impl Party {
    /// The three parties in order.
    pub const ALL: [Party; 3] = [Party(1), Party(2), Party(3)];

    /// Party `index` (1, 2 or 3).
    pub fn new(index: u8) -> Result<Self, MpcError> {
        match index {
            1..=3 => Ok(Self(index)),
            _ => Err(MpcError::InvalidParty(index)),
        }
    }

    /// 1, 2 or 3.
    pub fn index(self) -> u8 {
        self.0
    }

    /// 0, 1 or 2.
    pub fn zero_based(self) -> usize {
        self.0 as usize - 1
    }

    /// The party's evaluation point `e_p`.
    pub fn point(self) -> GrElement {
        EVAL_POINTS[self.zero_based()]
    }
}

impl TryFrom<u8> for Party {
    type Error = MpcError;
    fn try_from(v: u8) -> Result<Self, MpcError> {
        Self::new(v)
    }
}

impl From<Party> for u8 {
    fn from(p: Party) -> u8 {
        p.0
    }
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The masked code, four values per chunk (secret: it is the iris template).
pub struct MaskedCode(Zeroizing<Vec<[u16; 4]>>);

impl std::fmt::Debug for MaskedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MaskedCode([REDACTED], {} chunks)", self.0.len())
    }
}

impl MaskedCode {
    /// The masked code of serialized `code` and `mask` bytes holding `bits` bits each (MSB
    /// first); `bits` must be a positive multiple of 4 and both slices `⌈bits/8⌉` bytes.
    pub fn new(code: &[u8], mask: &[u8], bits: usize) -> Result<Self, MpcError> {
        if bits == 0 || !bits.is_multiple_of(4) {
            return Err(MpcError::CodeLength { bits });
        }
        let bytes = bits.div_ceil(8);
        if code.len() != bytes || mask.len() != bytes {
            return Err(MpcError::CodeBytes { expected: bytes, code: code.len(), mask: mask.len() });
        }
        let bit = |b: &[u8], i: usize| (b[i / 8] >> (7 - i % 8)) & 1;
        let chunks = (0..bits / 4).map(|k| std::array::from_fn(|j| masked_value(bit(code, 4 * k + j), bit(mask, 4 * k + j)))).collect();
        Ok(Self(Zeroizing::new(chunks)))
    }

    /// The masked values from their chunks (for tests and vectors).
    pub fn from_chunks(chunks: Vec<[u16; 4]>) -> Self {
        Self(Zeroizing::new(chunks))
    }

    /// The chunks.
    pub fn chunks(&self) -> &[[u16; 4]] {
        &self.0
    }

    /// The ring elements `M · chunk`.
    pub fn elements(&self) -> Vec<GrElement> {
        self.0.iter().map(|a| encode(*a)).collect()
    }

    /// Back to serialized `(code, mask)` bytes; refuses a value other than 0, 1 or 65535.
    pub fn to_codes(&self) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>), MpcError> {
        let bits = 4 * self.0.len();
        let mut code = Zeroizing::new(vec![0u8; bits.div_ceil(8)]);
        let mut mask = Zeroizing::new(vec![0u8; bits.div_ceil(8)]);
        for (k, chunk) in self.0.iter().enumerate() {
            for (j, &v) in chunk.iter().enumerate() {
                let i = 4 * k + j;
                let (c, m) = match v {
                    0 => (0, 0),
                    1 => (0, 1),
                    u16::MAX => (1, 1),
                    other => return Err(MpcError::NotAMaskedCode { chunk: k, value: other }),
                };
                code[i / 8] |= c << (7 - i % 8);
                mask[i / 8] |= m << (7 - i % 8);
            }
        }
        Ok((code, mask))
    }

    /// The masked code of ring elements (the inverse of [`Self::elements`]).
    pub fn from_elements(elements: &[GrElement]) -> Self {
        Self(Zeroizing::new(elements.iter().map(|e| decode(*e)).collect()))
    }
}

/// `(mask − 2·(code ∧ mask)) mod 2^16` for one bit.
pub fn masked_value(code_bit: u8, mask_bit: u8) -> u16 {
    (mask_bit as u16).wrapping_sub(2 * (code_bit & mask_bit) as u16)
}

/// The secret slopes, one ring element per chunk (zeroized on drop).
pub struct Slopes(Zeroizing<Vec<GrElement>>);

impl std::fmt::Debug for Slopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slopes([REDACTED], {})", self.0.len())
    }
}

impl Slopes {
    /// `chunks` fresh uniformly random slopes from the operating system's RNG.
    pub fn random(chunks: usize) -> Self {
        use rand_core::RngCore;
        let mut bytes = Zeroizing::new(vec![0u8; 8 * chunks]);
        rand_core::OsRng.fill_bytes(&mut bytes);
        Self(Zeroizing::new(bytes.chunks_exact(8).map(|b| GrElement(std::array::from_fn(|j| u16::from_le_bytes([b[2 * j], b[2 * j + 1]])))).collect()))
    }

    /// Given slopes (published vectors, tests).
    pub fn from_elements(slopes: Vec<GrElement>) -> Self {
        Self(Zeroizing::new(slopes))
    }

    /// The slopes.
    pub fn elements(&self) -> &[GrElement] {
        &self.0
    }
}

/// One party's share: a ring element per chunk.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    party: Party,
    elements: Zeroizing<Vec<GrElement>>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Share(party {}, {} chunks)", self.party, self.elements.len())
    }
}

impl Share {
    /// A share from its elements.
    pub fn new(party: Party, elements: Vec<GrElement>) -> Self {
        Self { party, elements: Zeroizing::new(elements) }
    }

    /// Whose share this is.
    pub fn party(&self) -> Party {
        self.party
    }

    /// The elements, one per chunk.
    pub fn elements(&self) -> &[GrElement] {
        &self.elements
    }

    /// The coefficients in commitment order (`4k + j`).
    pub fn coefficients(&self) -> impl Iterator<Item = u16> + '_ {
        self.elements.iter().flat_map(|e| e.0)
    }

    /// `S_p`: the share commitment of this share (see the module documentation).
    pub fn commitment(&self) -> Fr {
        share_commitment(self.party, &Zeroizing::new(self.coefficients().collect::<Vec<u16>>()))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.elements.zeroize();
    }
}

/// The three shares of `masked` under `slopes`.
pub fn share(masked: &MaskedCode, slopes: &Slopes) -> Result<[Share; 3], MpcError> {
    let elements = Zeroizing::new(masked.elements());
    if slopes.0.len() != elements.len() {
        return Err(MpcError::ChunkCount { expected: elements.len(), found: slopes.0.len() });
    }
    Ok(Party::ALL.map(|p| Share::new(p, elements.iter().zip(slopes.0.iter()).map(|(e, s)| *e + p.point() * *s).collect())))
}

/// The ring elements from any two different parties' shares.
pub fn reconstruct(a: &Share, b: &Share) -> Result<Vec<GrElement>, MpcError> {
    if a.party == b.party {
        return Err(MpcError::SameParty(a.party.index()));
    }
    if a.elements.len() != b.elements.len() {
        return Err(MpcError::ChunkCount { expected: a.elements.len(), found: b.elements.len() });
    }
    // f(e) = element + e·slope: slope = (s_a − s_b)/(e_a − e_b), element = s_a − e_a·slope.
    let inv = (a.party.point() - b.party.point()).inverse().ok_or(MpcError::SameParty(a.party.index()))?;
    Ok(a.elements.iter().zip(b.elements.iter()).map(|(sa, sb)| *sa - a.party.point() * ((*sa - *sb) * inv)).collect())
}

/// The header element of `S_p` for `n` coefficients.
pub fn share_commitment_header(party: Party, n: usize) -> Fr {
    let v: u128 = (2u128 << 96) + ((SHARE_COMMITMENT_VERSION as u128) << 64) + ((party.index() as u128) << 32) + n as u128;
    Fr::from_u128(v)
}

/// The packed field elements of `S_p` for coefficients `c`.
pub fn pack_coefficients(c: &[u16]) -> Vec<Fr> {
    c.chunks(COEFFS_PER_ELEMENT).map(|g| g.iter().fold(Fr::from(0), |acc, &v| acc * Fr::from(1u64 << 16) + Fr::from(v as u64))).collect()
}

/// `S_p` over party `party`'s coefficients `c` (see the module documentation).
pub fn share_commitment(party: Party, c: &[u16]) -> Fr {
    let mut inputs = Vec::with_capacity(1 + c.len().div_ceil(COEFFS_PER_ELEMENT));
    inputs.push(share_commitment_header(party, c.len()));
    inputs.extend(pack_coefficients(c));
    // Width 4 has parameters (circomlib's Poseidon(3)); the hash cannot fail.
    crate::poseidon::sponge_hash(SHARE_SPONGE_WIDTH, &inputs).expect("width-4 Poseidon parameters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_value_rule() {
        assert_eq!([masked_value(0, 1), masked_value(1, 1), masked_value(0, 0), masked_value(1, 0)], [1, 65535, 0, 0]);
    }

    #[test]
    fn codes_round_trip_through_the_masked_code() {
        let code = [0b1010_0110u8, 0b1111_0000];
        let mask = [0b1100_1111u8, 0b0011_1100];
        let m = MaskedCode::new(&code, &mask, 16).unwrap();
        let (c2, m2) = m.to_codes().unwrap();
        assert_eq!(&m2[..], &mask);
        // Masked bits lose their code bit.
        let expect: Vec<u8> = code.iter().zip(&mask).map(|(c, m)| c & m).collect();
        assert_eq!(&c2[..], &expect[..]);
        assert!(matches!(MaskedCode::new(&code, &mask, 14), Err(MpcError::CodeLength { .. })));
        assert!(matches!(MaskedCode::new(&code[..1], &mask, 16), Err(MpcError::CodeBytes { .. })));
    }

    #[test]
    fn any_two_shares_reconstruct_and_one_is_not_the_element() {
        let m = MaskedCode::from_chunks(vec![[1, 0, 65535, 1], [0, 0, 0, 1]]);
        let s = Slopes::random(2);
        let shares = share(&m, &s).unwrap();
        for a in &shares {
            for b in &shares {
                if a.party() != b.party() {
                    assert_eq!(reconstruct(a, b).unwrap(), m.elements());
                } else {
                    assert!(matches!(reconstruct(a, b), Err(MpcError::SameParty(_))));
                }
            }
        }
    }

    #[test]
    fn commitment_depends_on_party_and_every_coefficient() {
        let c: Vec<u16> = (0..40).map(|i| i * 1000 + 7).collect();
        let s1 = share_commitment(Party::ALL[0], &c);
        assert_ne!(s1, share_commitment(Party::ALL[1], &c));
        for i in [0, 14, 15, 39] {
            let mut d = c.clone();
            d[i] ^= 1;
            assert_ne!(s1, share_commitment(Party::ALL[0], &d), "coefficient {i}");
        }
        assert_eq!(pack_coefficients(&c).len(), 3);
        assert_eq!(pack_coefficients(&[1, 2]), vec![Fr::from(65536 + 2)]);
    }

    #[test]
    fn party_indices() {
        assert!(Party::new(0).is_err() && Party::new(4).is_err());
        assert_eq!(Party::new(3).unwrap().point(), GrElement([1, 1, 0, 0]));
    }
}
