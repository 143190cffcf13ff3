//! The public statement: what a proof makes public, in which order, and how values become
//! field elements. The circuit, the prover, the bundle, the EVM calldata and the registry ABI
//! all read the layout from here.
//!
//! # Public inputs, layout v2 (one instance column)
//!
//! Every statement starts with the same four rows:
//!
//! | row | value |
//! |---|---|
//! | 0 | the enrollment commitment `C` |
//! | 1 | `min_valid_bits` (the proof shows `popcount(mask code) ≥ this`) |
//! | 2 | liveness threshold τ when the model's liveness rule is public (the proof shows `score ≥ τ`); 0 otherwise |
//! | 3 | `binding` = `keccak256(chain id ‖ registry ‖ account) mod r` ([`Binding`]); 0 = unbound |
//!
//! then, by the model's [`Submission`] mode:
//!
//! | mode | rows | value |
//! |---|---|---|
//! | `public-code` | `4 .. 4+W` | iris-code words |
//! | | `4+W .. 4+2W` | mask-code words |
//! | `mpc-shares` | 4, 5, 6 | share commitments `S_1`, `S_2`, `S_3` (`crate::mpc::shares`) |
//!
//! Code words ([`code_words`]): the serialized code (the manifest's code layout, bits MSB first
//! as `np.packbits` writes them) cut into 248-bit (31-byte) chunks, each read as a big-endian
//! integer; the last chunk is shorter. For 16,384-bit codes `W = 67`, so a public-code world-v3
//! proof has 138 public inputs and an mpc-shares one 7.
//!
//! Layout v1 (before this version) had no binding row: the code words started at row 3.

use halo2_proofs::halo2curves::bn256::Fr;
use sha3::{Digest, Keccak256};

pub use crate::model::manifest::Submission;

/// Version of the public-input layout.
pub const LAYOUT_VERSION: u16 = 2;

/// Row of the enrollment commitment `C`.
pub const ROW_COMMITMENT: usize = 0;
/// Row of `min_valid_bits`.
pub const ROW_MIN_VALID_BITS: usize = 1;
/// Row of the liveness threshold τ.
pub const ROW_LIVENESS_THRESHOLD: usize = 2;
/// Row of the submission binding.
pub const ROW_BINDING: usize = 3;
/// Rows every statement starts with.
pub const HEADER_ROWS: usize = 4;
/// First row of `S_1, S_2, S_3` (mpc-shares).
pub const ROW_SHARE_COMMITMENTS: usize = HEADER_ROWS;
/// Code bits per public word (31 bytes).
pub const CODE_BITS_PER_WORD: usize = 248;

/// The public-input layout of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicLayout {
    /// Submission mode.
    pub submission: Submission,
    /// Bits of the iris code.
    pub iris_bits: usize,
    /// Bits of the mask code.
    pub mask_bits: usize,
}

impl PublicLayout {
    /// The layout for `submission` with codes of `iris_bits` and `mask_bits` bits.
    pub fn new(submission: Submission, iris_bits: usize, mask_bits: usize) -> Self {
        Self { submission, iris_bits, mask_bits }
    }

    /// The layout of a model.
    pub fn of(model: &crate::model::Model) -> Self {
        let rules = &model.manifest().rules;
        let grid = rules.encoder.grid[0] * rules.encoder.grid[1];
        Self::new(rules.submission, rules.encoder.iris.len() * grid, rules.encoder.mask.len() * grid)
    }

    /// Words of the iris code (public-code mode).
    pub fn iris_words(&self) -> usize {
        self.iris_bits.div_ceil(CODE_BITS_PER_WORD)
    }

    /// Words of the mask code (public-code mode).
    pub fn mask_words(&self) -> usize {
        self.mask_bits.div_ceil(CODE_BITS_PER_WORD)
    }

    /// First row of the iris-code words (public-code mode).
    pub fn first_iris_word(&self) -> usize {
        HEADER_ROWS
    }

    /// First row of the mask-code words (public-code mode).
    pub fn first_mask_word(&self) -> usize {
        HEADER_ROWS + self.iris_words()
    }

    /// Number of public inputs.
    pub fn len(&self) -> usize {
        match self.submission {
            Submission::PublicCode => HEADER_ROWS + self.iris_words() + self.mask_words(),
            Submission::MpcShares => HEADER_ROWS + 3,
        }
    }

    /// Always false (every layout has the header rows).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bits held by public word `w` of a code of `bits` bits (248, or fewer for the last).
    pub fn word_bits(bits: usize, w: usize) -> usize {
        (bits - w * CODE_BITS_PER_WORD).min(CODE_BITS_PER_WORD)
    }
}

/// The codes or share commitments a statement makes public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicBody {
    /// `public-code`: the iris and mask code words.
    Codes {
        /// Iris-code words.
        iris_words: Vec<Fr>,
        /// Mask-code words.
        mask_words: Vec<Fr>,
    },
    /// `mpc-shares`: `S_1, S_2, S_3`.
    Shares([Fr; 3]),
}

/// The public inputs of one proof, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    /// `C`.
    pub commitment: Fr,
    /// `min_valid_bits`.
    pub min_valid_bits: u32,
    /// τ (0 when the model has no public liveness threshold).
    pub liveness_threshold: Fr,
    /// The submission binding.
    pub binding: Fr,
    /// Codes or share commitments.
    pub body: PublicBody,
}

/// Errors reading public inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicInputError {
    /// Wrong number of values for the layout.
    #[error("{found} public inputs, the model's {submission} layout has {expected}")]
    Count {
        /// Found.
        found: usize,
        /// Expected.
        expected: usize,
        /// Mode.
        submission: Submission,
    },
    /// A value is not a canonical field element.
    #[error("public input {row} is not a canonical field element (32 big-endian bytes below the BN254 modulus)")]
    NotCanonical {
        /// Row.
        row: usize,
    },
    /// `min_valid_bits` does not fit 32 bits.
    #[error("public input 1 (min_valid_bits) is not a 32-bit integer")]
    MinValidBits,
}

impl PublicInputs {
    /// The instance column.
    pub fn to_instances(&self) -> Vec<Fr> {
        let mut v = vec![self.commitment, Fr::from(self.min_valid_bits as u64), self.liveness_threshold, self.binding];
        match &self.body {
            PublicBody::Codes { iris_words, mask_words } => {
                v.extend_from_slice(iris_words);
                v.extend_from_slice(mask_words);
            }
            PublicBody::Shares(s) => v.extend_from_slice(s),
        }
        v
    }

    /// Reads an instance column laid out as `layout`.
    pub fn from_instances(layout: &PublicLayout, v: &[Fr]) -> Result<Self, PublicInputError> {
        if v.len() != layout.len() {
            return Err(PublicInputError::Count { found: v.len(), expected: layout.len(), submission: layout.submission });
        }
        let mvb = fr_to_be(&v[ROW_MIN_VALID_BITS]);
        if mvb[..28].iter().any(|&b| b != 0) {
            return Err(PublicInputError::MinValidBits);
        }
        let body = match layout.submission {
            Submission::PublicCode => PublicBody::Codes {
                iris_words: v[layout.first_iris_word()..layout.first_mask_word()].to_vec(),
                mask_words: v[layout.first_mask_word()..].to_vec(),
            },
            Submission::MpcShares => PublicBody::Shares([v[ROW_SHARE_COMMITMENTS], v[ROW_SHARE_COMMITMENTS + 1], v[ROW_SHARE_COMMITMENTS + 2]]),
        };
        Ok(Self {
            commitment: v[ROW_COMMITMENT],
            min_valid_bits: u32::from_be_bytes([mvb[28], mvb[29], mvb[30], mvb[31]]),
            liveness_threshold: v[ROW_LIVENESS_THRESHOLD],
            binding: v[ROW_BINDING],
            body,
        })
    }

    /// Reads 32-byte big-endian values laid out as `layout`.
    pub fn from_be_bytes(layout: &PublicLayout, bytes: &[[u8; 32]]) -> Result<Self, PublicInputError> {
        let v: Vec<Fr> = bytes.iter().enumerate().map(|(row, b)| fr_from_be(b).ok_or(PublicInputError::NotCanonical { row })).collect::<Result<_, _>>()?;
        Self::from_instances(layout, &v)
    }

    /// The values as 32-byte big-endian words (the bundle's and the EVM's encoding).
    pub fn to_be_bytes(&self) -> Vec<[u8; 32]> {
        self.to_instances().iter().map(fr_to_be).collect()
    }

    /// `S_1, S_2, S_3` (mpc-shares).
    pub fn share_commitments(&self) -> Option<[Fr; 3]> {
        match &self.body {
            PublicBody::Shares(s) => Some(*s),
            PublicBody::Codes { .. } => None,
        }
    }
}

/// The public words of a serialized code: 31-byte big-endian chunks (the last may be shorter).
pub fn code_words(bytes: &[u8]) -> Vec<Fr> {
    bytes.chunks(CODE_BITS_PER_WORD / 8).map(|chunk| chunk.iter().fold(Fr::from(0), |acc, &b| acc * Fr::from(256) + Fr::from(b as u64))).collect()
}

/// Who may submit a proof, and where: `binding = keccak256(chain id ‖ registry ‖ account)`
/// reduced into the BN254 scalar field, a public input of every statement.
///
/// The preimage is 72 bytes: the chain id as a 32-byte big-endian integer (Solidity's
/// `block.chainid`), the registry contract's 20-byte address and the submitting account's
/// 20-byte address — `abi.encodePacked(block.chainid, address(this), msg.sender)` in the
/// registry. The registry recomputes it from `msg.sender`, so a proof lifted from the mempool,
/// or replayed on another deployment or chain, does not verify there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Registry contract address.
    pub registry: [u8; 20],
    /// The account that will submit the proof.
    pub account: [u8; 20],
}

impl Binding {
    /// The binding field element.
    pub fn to_field(&self) -> Fr {
        let mut pre = [0u8; 72];
        pre[24..32].copy_from_slice(&self.chain_id.to_be_bytes());
        pre[32..52].copy_from_slice(&self.registry);
        pre[52..72].copy_from_slice(&self.account);
        let digest: [u8; 32] = Keccak256::digest(pre).into();
        reduce_be(&digest)
    }

    /// Parses `0x…` 20-byte addresses.
    pub fn parse(chain_id: u64, registry: &str, account: &str) -> Result<Self, String> {
        Ok(Self { chain_id, registry: parse_address(registry)?, account: parse_address(account)? })
    }
}

/// A 20-byte address from `0x`-prefixed (or bare) hex.
pub fn parse_address(s: &str) -> Result<[u8; 20], String> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let v = hex::decode(h).map_err(|_| format!("{s:?} is not a hex address"))?;
    v.try_into().map_err(|_| format!("{s:?} is not a 20-byte address"))
}

/// A field element as 32 big-endian bytes (the bundle's and the EVM's `uint256` encoding).
pub fn fr_to_be(x: &Fr) -> [u8; 32] {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let mut b = x.to_repr();
    b.as_mut().reverse();
    let mut out = [0u8; 32];
    out.copy_from_slice(b.as_ref());
    out
}

/// 32 big-endian bytes as a field element, or `None` if they are not below the modulus.
pub fn fr_from_be(b: &[u8; 32]) -> Option<Fr> {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let mut le = *b;
    le.reverse();
    Option::from(Fr::from_repr(le))
}

/// A signed integer public value (the liveness threshold τ) as a field element: `v` for
/// `v ≥ 0`, `p − |v|` for `v < 0` (how public row 2 carries τ).
pub fn signed_to_field(v: i64) -> Fr {
    let mag = Fr::from(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// A 32-byte big-endian integer reduced modulo the BN254 scalar field.
pub fn reduce_be(b: &[u8; 32]) -> Fr {
    b.iter().fold(Fr::from(0), |acc, &x| acc * Fr::from(256) + Fr::from(x as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let pc = PublicLayout::new(Submission::PublicCode, 16384, 16384);
        assert_eq!((pc.iris_words(), pc.len(), pc.first_mask_word()), (67, 138, 71));
        let mpc = PublicLayout::new(Submission::MpcShares, 16384, 16384);
        assert_eq!(mpc.len(), 7);
        assert_eq!(PublicLayout::word_bits(16384, 66), 16);
    }

    #[test]
    fn public_inputs_round_trip() {
        for layout in [PublicLayout::new(Submission::PublicCode, 300, 300), PublicLayout::new(Submission::MpcShares, 300, 300)] {
            let v: Vec<Fr> = (0..layout.len() as u64).map(|i| Fr::from(i * 7 + 1)).collect();
            let p = PublicInputs::from_instances(&layout, &v).unwrap();
            assert_eq!(p.to_instances(), v);
            assert_eq!(PublicInputs::from_be_bytes(&layout, &p.to_be_bytes()).unwrap(), p);
            assert!(matches!(PublicInputs::from_instances(&layout, &v[1..]), Err(PublicInputError::Count { .. })));
        }
        let mut bad = vec![[0u8; 32]; 7];
        bad[5] = [0xff; 32];
        assert_eq!(PublicInputs::from_be_bytes(&PublicLayout::new(Submission::MpcShares, 4, 4), &bad), Err(PublicInputError::NotCanonical { row: 5 }));
    }

    #[test]
    fn binding_matches_solidity_encode_packed() {
        // keccak256(abi.encodePacked(uint256(1), address(0x11..11), address(0x22..22))), reduced.
        let b = Binding { chain_id: 1, registry: [0x11; 20], account: [0x22; 20] };
        let mut pre = Vec::new();
        pre.extend_from_slice(&[0u8; 31]);
        pre.push(1);
        pre.extend_from_slice(&[0x11; 20]);
        pre.extend_from_slice(&[0x22; 20]);
        let d: [u8; 32] = Keccak256::digest(&pre).into();
        assert_eq!(b.to_field(), reduce_be(&d));
        assert_ne!(b.to_field(), Binding { account: [0x23; 20], ..b }.to_field());
        assert_ne!(b.to_field(), Binding { chain_id: 2, ..b }.to_field());
        assert!(Binding::parse(1, "0x1111111111111111111111111111111111111111", "22").is_err());
    }
}
