//! A proof's MPC shares in envelopes: sealing them to the three parties when proving, and the
//! checks a verifier can make on a bundle's envelopes without any party's key.

use halo2_proofs::halo2curves::bn256::Fr;

use super::{ProofBundle, ProveError, VerifyError};
use crate::mpc::{seal_shares, Party, PartyPublicKey, Share, ShareEnvelope, StatementId};
use crate::public::{fr_from_be, ROW_BINDING, ROW_COMMITMENT};

/// The statement the envelopes of a proof are bound to (their associated data).
fn statement(model_id: [u8; 32], public: &[[u8; 32]]) -> Option<StatementId> {
    Some(StatementId::new(model_id, fr_from_be(public.get(ROW_COMMITMENT)?)?, fr_from_be(public.get(ROW_BINDING)?)?))
}

/// Seals each party's share to its key; the envelopes' associated data binds the model, `C`,
/// the binding and `S_p`.
pub(super) fn seal(shares: &[Share; 3], keys: &[PartyPublicKey; 3], model_id: [u8; 32], public: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, ProveError> {
    let st = statement(model_id, public).ok_or_else(|| ProveError::Halo2("public inputs lack the statement header".into()))?;
    let sealed = seal_shares(shares, keys, &st).map_err(|e| ProveError::Shares(e.to_string()))?;
    Ok(sealed.iter().map(ShareEnvelope::to_bytes).collect())
}

/// Three well-formed envelopes, in party order, each holding `chunks` chunks. (Whether an
/// envelope opens to a share matching `S_p` only its party can check, with its key.)
pub(super) fn check(bundle: &ProofBundle, _s: &[Fr; 3], chunks: usize) -> Result<(), VerifyError> {
    if bundle.envelopes.len() != 3 {
        return Err(VerifyError::Malformed(format!("an mpc-shares bundle carries 3 share envelopes, this one {}", bundle.envelopes.len())));
    }
    for (p, bytes) in bundle.envelopes.iter().enumerate() {
        let env = ShareEnvelope::from_bytes(bytes).map_err(|e| VerifyError::Malformed(format!("share envelope {}: {e}", p + 1)))?;
        if env.party() != Party::ALL[p] {
            return Err(VerifyError::Malformed(format!("share envelope {} is addressed to party {}", p + 1, env.party())));
        }
        if env.chunks() != chunks {
            return Err(VerifyError::Malformed(format!("share envelope {} holds {} chunks, the model's code has {chunks}", p + 1, env.chunks())));
        }
    }
    Ok(())
}
