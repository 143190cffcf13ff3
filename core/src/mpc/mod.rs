//! Private code submission: World's MPC secret sharing of the masked iris code.
//!
//! In the `mpc-shares` submission mode (see [`crate::model::manifest::Submission`]) a proof
//! never reveals the iris or mask code. It shows instead that three shares of the masked code
//! — 2-of-3 Shamir over the Galois ring GR(2^16, 4) (`ring`), exactly as World's MPC
//! uniqueness service takes them — were derived from the proven codes, and makes public only a
//! Poseidon commitment `S_p` to each party's share (`shares`). Each share travels to its
//! party encrypted to that party's public key (`envelope`).
//!
//! | module | what |
//! |---|---|
//! | `ring` | GR(2^16, 4): arithmetic, the encoding matrix, the evaluation points |
//! | `shares` | masked code → ring elements → three shares; reconstruction; `S_p` |
//! | `keys` | the parties' HPKE X-Wing key pairs ([`PartySecretKey`], [`PartyPublicKey`]) and their files |
//! | `envelope` | [`seal_shares`]: each share HPKE-encrypted to its party, bound to the statement ([`StatementId`]) and `S_p`; [`ShareEnvelope::open`] |
//! | `share_file` | a party's decrypted share as `share.json` ([`ShareFile`]); [`combine`] two parties' files back into the codes |
//!
//! The flow: the phone proves, [`share`]s the masked code and [`seal_shares`] the three shares
//! into the proof bundle; party `p` reads its [`ShareEnvelope`] from the bundle,
//! [`ShareEnvelope::open`]s it with its [`PartySecretKey`] against the bundle's statement and
//! `S_p` (which the proof verified), and keeps the share, e.g. as a [`ShareFile`].
//!
//! The conformance vectors (`tests/conformance/world-mpc/`) are reproduced by
//! `core/tests/mpc_conformance.rs`; the circuit's twin is the shares chip (`circuit/chips/shares.rs`).

pub(crate) mod envelope;
pub(crate) mod keys;
pub(crate) mod ring;
pub(crate) mod share_file;
pub(crate) mod shares;

pub use envelope::{seal_shares, EnvelopeError, ShareEnvelope, StatementId};
pub use keys::{KeyKind, PartyKeyError, PartyPublicKey, PartySecretKey, KEM_ID, KEY_FORMAT_VERSION, PUBLIC_KEY_MAGIC, SECRET_KEY_MAGIC};
pub use ring::{decode, encode, GrElement, ENCODING_MATRIX, EVAL_POINTS};
pub use share_file::{combine, ShareFile, ShareFileError};
pub use shares::{masked_value, reconstruct, share, share_commitment, MaskedCode, Party, Share, Slopes};

/// Errors of the share computations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MpcError {
    /// A party index other than 1, 2 or 3.
    #[error("party {0} does not exist; parties are 1, 2 and 3")]
    InvalidParty(u8),
    /// The code length cannot be shared.
    #[error("a code of {bits} bits cannot be secret-shared: it must be a positive multiple of 4 bits")]
    CodeLength {
        /// Bits.
        bits: usize,
    },
    /// The code bytes do not have the declared length.
    #[error("expected {expected} bytes of code and of mask, got {code} and {mask}")]
    CodeBytes {
        /// Bytes expected.
        expected: usize,
        /// Code bytes given.
        code: usize,
        /// Mask bytes given.
        mask: usize,
    },
    /// Slopes or shares of a different number of chunks.
    #[error("expected {expected} chunks, got {found}")]
    ChunkCount {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// Two shares of the same party cannot reconstruct anything.
    #[error("both shares are party {0}'s; combine the shares of two different parties")]
    SameParty(u8),
    /// A reconstructed value is not a masked-code value (the shares do not belong together).
    #[error("chunk {chunk} reconstructs to {value}, which is not a masked-code value (0, 1 or 65535): the shares are not of the same code")]
    NotAMaskedCode {
        /// Chunk.
        chunk: usize,
        /// Value.
        value: u16,
    },
}
