//! **Test only.** The MPC parties' side of a proof, as a small C-ABI library for the JVM tests
//! (`android/jvm-tests`, loaded with JNA as `libmpc_test_party.so`): open a share envelope with
//! a party's secret key, and combine two parties' shares back into the masked code.
//!
//! The mobile bindings never read a party secret key or open an envelope (those keys live on
//! the MPC servers), so the Kotlin tests cannot check an mpc-shares proof's envelopes through
//! them. This library does what a party server does, with the core's own code
//! ([`ShareEnvelope::open`], [`ShareFile`], [`combine`]), so the JVM test can check that what
//! the Kotlin API produced opens, for each party, to the share `S_p` commits to, and that the
//! shares reconstruct the enrollment's masked code. It is built on demand
//! (`cargo build -p zkiris-ffi --example mpc_test_party`, as scripts/test does) and is no part
//! of the Android or iOS builds, which compile only `zkiris-ffi`'s library target.
//!
//! Every function returns the number of bytes written to `out` (≥ 0) or a negative
//! [`Status`]; none unwinds into the caller.

use std::panic::{catch_unwind, AssertUnwindSafe};

use zkiris::mpc::{combine, EnvelopeError, Party, PartySecretKey, ShareEnvelope, ShareFile, StatementId};
use zkiris::public::fr_from_be;

/// Failures, returned negated.
#[repr(i64)]
#[derive(Clone, Copy, Debug)]
pub enum Status {
    /// A null pointer, a party other than 1, 2, 3, or a value that is not a canonical field element.
    BadArgument = 1,
    /// The secret key is not a party secret-key file.
    BadSecretKey = 2,
    /// The envelope bytes are not an envelope.
    BadEnvelope = 3,
    /// The envelope is another party's.
    WrongParty = 4,
    /// Decryption failed: wrong key, or another statement or `S_p`.
    Decryption = 5,
    /// The decrypted share does not match `S_p`.
    CommitmentMismatch = 6,
    /// `out` is too small.
    BufferTooSmall = 7,
    /// A panic (a bug).
    Panic = 8,
    /// Any other envelope error.
    Other = 9,
    /// A share file does not parse.
    BadShareFile = 10,
    /// The two shares do not combine.
    Combine = 11,
}

/// # Safety
/// `ptr` must be null or point to `len` readable bytes.
unsafe fn slice<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Status> {
    if ptr.is_null() {
        return Err(Status::BadArgument);
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// # Safety
/// `ptr` must be null or point to 32 readable bytes.
unsafe fn word(ptr: *const u8) -> Result<[u8; 32], Status> {
    Ok(slice(ptr, 32)?.try_into().expect("32 bytes"))
}

/// # Safety
/// `out` must be null or point to `cap` writable bytes.
unsafe fn write(bytes: &[u8], out: *mut u8, cap: usize) -> Result<i64, Status> {
    if out.is_null() {
        return Err(Status::BadArgument);
    }
    if bytes.len() > cap {
        return Err(Status::BufferTooSmall);
    }
    std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
    Ok(bytes.len() as i64)
}

fn run(f: impl FnOnce() -> Result<i64, Status>) -> i64 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(n)) => n,
        Ok(Err(status)) => -(status as i64),
        Err(_) => -(Status::Panic as i64),
    }
}

/// Party `party` (1, 2, 3) opens `envelope` with its secret-key file `secret_key`, for the proof
/// of model `model_id` (32 bytes) with enrollment commitment `commitment`, binding `binding` and
/// share commitment `share_commitment` (`S_p`; each 32 bytes, big-endian), as
/// [`ShareEnvelope::open`] does: the decrypted share must match `S_p`. Writes the party's
/// `share.json` ([`ShareFile`]) to `out`.
///
/// # Safety
/// Every pointer must be null or valid for its length (32 bytes for the four statement values).
#[no_mangle]
pub unsafe extern "C" fn zkiris_test_party_open(
    party: u8,
    secret_key: *const u8,
    secret_key_len: usize,
    envelope: *const u8,
    envelope_len: usize,
    model_id: *const u8,
    commitment: *const u8,
    binding: *const u8,
    share_commitment: *const u8,
    out: *mut u8,
    out_cap: usize,
) -> i64 {
    run(|| {
        let party = Party::new(party).map_err(|_| Status::BadArgument)?;
        let sk = PartySecretKey::from_bytes(slice(secret_key, secret_key_len)?).map_err(|_| Status::BadSecretKey)?;
        let env = ShareEnvelope::from_bytes(slice(envelope, envelope_len)?).map_err(|_| Status::BadEnvelope)?;
        let field = |ptr| fr_from_be(&word(ptr)?).ok_or(Status::BadArgument);
        let statement = StatementId::new(word(model_id)?, field(commitment)?, field(binding)?);
        let share = env.open(&sk, party, &statement, field(share_commitment)?).map_err(|e| match e {
            EnvelopeError::WrongParty { .. } => Status::WrongParty,
            EnvelopeError::Decryption => Status::Decryption,
            EnvelopeError::CommitmentMismatch { .. } => Status::CommitmentMismatch,
            _ => Status::Other,
        })?;
        write(ShareFile::from_statement(share, &statement).to_json().as_bytes(), out, out_cap)
    })
}

/// Combines two parties' `share.json` files of one proof ([`combine`]) and writes the masked
/// code's serialized code bits, then its mask bits (the same number of bytes each), to `out`.
///
/// # Safety
/// Every pointer must be null or valid for its length.
#[no_mangle]
pub unsafe extern "C" fn zkiris_test_party_combine(
    first: *const u8,
    first_len: usize,
    second: *const u8,
    second_len: usize,
    out: *mut u8,
    out_cap: usize,
) -> i64 {
    run(|| {
        let a = ShareFile::from_json(slice(first, first_len)?).map_err(|_| Status::BadShareFile)?;
        let b = ShareFile::from_json(slice(second, second_len)?).map_err(|_| Status::BadShareFile)?;
        let (code, mask) = combine(&a, &b).map_err(|_| Status::Combine)?;
        let mut both = zeroize::Zeroizing::new(Vec::with_capacity(code.len() + mask.len()));
        both.extend_from_slice(&code);
        both.extend_from_slice(&mask);
        write(&both, out, out_cap)
    })
}
