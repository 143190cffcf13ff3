//! Real proofs of an mpc-shares model (tiny, k = 11): the bundle carries no code, only the
//! share commitments and three envelopes; each party opens its own share and it matches its
//! `S_p`; two parties give back the proven code; and every misuse is refused with a typed error.

use std::sync::{Arc, OnceLock};

use zkiris::commitment::Salt;
use zkiris::mpc::{MaskedCode, Party, PartyPublicKey, PartySecretKey, Share, ShareEnvelope, StatementId};
use zkiris::prover::{CancellationToken, NoProgress, ProofBundle, ProveError, ProveOptions, ProvingSetup, SrsSource, VerifyError};
use zkiris::public::{fr_from_be, Binding, PublicInputs, PublicLayout, Submission, ROW_BINDING, ROW_SHARE_COMMITMENTS};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

fn spec() -> TinySpec {
    TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(TinyRules::World) }
}

struct Fixture {
    setup: ProvingSetup,
    parties: [PartySecretKey; 3],
    binding: Binding,
    bundle: ProofBundle,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let cache = tempfile::tempdir().unwrap().keep();
        let setup =
            ProvingSetup::prepare(Arc::new(tiny_model(&spec())), &SrsSource::Development, Some(&cache), &NoProgress, &CancellationToken::new()).unwrap();
        let parties = [PartySecretKey::generate(), PartySecretKey::generate(), PartySecretKey::generate()];
        let binding = Binding { chain_id: 31337, registry: [0xaa; 20], account: [0x42; 20] };
        let bundle = prove(&setup, &parties, binding);
        Fixture { setup, parties, binding, bundle }
    })
}

fn keys(parties: &[PartySecretKey; 3]) -> [PartyPublicKey; 3] {
    [parties[0].public_key(), parties[1].public_key(), parties[2].public_key()]
}

fn prove(setup: &ProvingSetup, parties: &[PartySecretKey; 3], binding: Binding) -> ProofBundle {
    let (image, mask) = tiny_sample(&spec(), 5);
    let options = ProveOptions { binding: Some(binding), party_keys: Some(keys(parties)), ..ProveOptions::default() };
    setup.prove(&image, &mask, &Salt::from_hex("0x77").unwrap(), None, &options, &NoProgress, &CancellationToken::new()).unwrap()
}

fn statement(b: &ProofBundle) -> (StatementId, [halo2_proofs::halo2curves::bn256::Fr; 3]) {
    let layout = PublicLayout::new(Submission::MpcShares, 128, 128);
    let p = PublicInputs::from_be_bytes(&layout, &b.public_inputs).unwrap();
    (StatementId::of(b.model_id, &p), p.share_commitments().unwrap())
}

fn open(b: &ProofBundle, p: usize, key: &PartySecretKey) -> Result<Share, zkiris::mpc::EnvelopeError> {
    let (st, s) = statement(b);
    ShareEnvelope::from_bytes(&b.envelopes[p])?.open(key, Party::ALL[p], &st, s[p])
}

#[test]
fn the_bundle_carries_commitments_and_envelopes_but_no_code() {
    let f = fixture();
    let b = &f.bundle;
    assert_eq!(b.submission, Submission::MpcShares);
    assert_eq!(b.public_inputs.len(), 7);
    assert!(b.iris_code.is_empty() && b.mask_code.is_empty() && b.valid_bits.is_none() && b.template().is_none());
    assert_eq!(b.envelopes.len(), 3);
    assert_eq!(fr_from_be(&b.public_inputs[ROW_BINDING]).unwrap(), f.binding.to_field());
    let st = f.setup.verifier().verify(b).unwrap();
    assert!(st.iris_code.is_empty() && st.valid_bits.is_none());
    assert_eq!(st.share_commitments.unwrap().to_vec(), b.public_inputs[ROW_SHARE_COMMITMENTS..].to_vec());
    assert_eq!(st.binding, b.public_inputs[ROW_BINDING]);
    // The bundle round-trips through its bytes.
    assert_eq!(&ProofBundle::from_bytes(&b.to_bytes()).unwrap(), b);
}

#[test]
fn each_party_opens_its_share_and_two_give_back_the_proven_code() {
    let f = fixture();
    let b = &f.bundle;
    let (_, s) = statement(b);
    let shares: Vec<Share> = (0..3).map(|p| open(b, p, &f.parties[p]).unwrap()).collect();
    for (p, share) in shares.iter().enumerate() {
        assert_eq!(share.commitment(), s[p], "party {}'s share matches S_{}", p + 1, p + 1);
    }
    // The code the model computes natively, independently of the proof.
    let model = f.setup.model();
    let (image, mask) = tiny_sample(&spec(), 5);
    let enc = model.encode(&image, &mask).unwrap();
    let (code, mcode) = model.serialized_codes(&enc);
    for (a, c) in [(0, 1), (1, 2), (2, 0)] {
        let m = MaskedCode::from_elements(&zkiris::mpc::reconstruct(&shares[a], &shares[c]).unwrap());
        let (c2, m2) = m.to_codes().unwrap();
        assert_eq!(&m2[..], &mcode[..]);
        let masked: Vec<u8> = code.iter().zip(mcode.iter()).map(|(x, y)| x & y).collect();
        assert_eq!(&c2[..], &masked[..], "parties {} and {}", a + 1, c + 1);
    }
}

#[test]
fn a_party_cannot_open_another_partys_envelope() {
    let f = fixture();
    assert!(matches!(open(&f.bundle, 0, &f.parties[1]), Err(zkiris::mpc::EnvelopeError::Decryption)));
}

#[test]
fn fresh_slopes_make_two_proofs_of_one_enrollment_unlinkable_by_their_share_commitments() {
    let f = fixture();
    let again = prove(&f.setup, &f.parties, f.binding);
    assert_eq!(again.public_inputs[0], f.bundle.public_inputs[0], "same enrollment commitment");
    for p in 0..3 {
        assert_ne!(again.public_inputs[ROW_SHARE_COMMITMENTS + p], f.bundle.public_inputs[ROW_SHARE_COMMITMENTS + p]);
    }
    f.setup.verifier().verify(&again).unwrap();
}

#[test]
fn tampered_statements_are_rejected() {
    let f = fixture();
    let v = f.setup.verifier();
    for row in [ROW_BINDING, ROW_SHARE_COMMITMENTS, ROW_SHARE_COMMITMENTS + 2] {
        let mut b = f.bundle.clone();
        b.public_inputs[row][31] ^= 1;
        assert!(matches!(v.verify(&b), Err(VerifyError::Invalid(_))), "public input {row}");
    }
    // A bundle that smuggles the code in, or lost an envelope, or has them out of order.
    let mut b = f.bundle.clone();
    b.iris_code = vec![0; 16];
    assert!(matches!(v.verify(&b), Err(VerifyError::Malformed(_))));
    let mut b = f.bundle.clone();
    b.envelopes.pop();
    assert!(matches!(v.verify(&b), Err(VerifyError::Malformed(_))));
    let mut b = f.bundle.clone();
    b.envelopes.swap(0, 1);
    assert!(matches!(v.verify(&b), Err(VerifyError::Malformed(_))));
    // A bundle claiming to be public-code.
    let mut b = f.bundle.clone();
    b.submission = Submission::PublicCode;
    assert!(matches!(v.verify(&b), Err(VerifyError::Malformed(_))));
}

#[test]
fn party_keys_are_required_for_mpc_and_refused_for_public_code() {
    let f = fixture();
    let (image, mask) = tiny_sample(&spec(), 5);
    let salt = Salt::from_hex("0x77").unwrap();
    let r = f.setup.prove(&image, &mask, &salt, None, &ProveOptions::default(), &NoProgress, &CancellationToken::new());
    assert!(matches!(r, Err(ProveError::MissingPartyKeys { .. })));
    // The same key for two parties would let that party reconstruct the code.
    let dup = [f.parties[0].public_key(), f.parties[0].public_key(), f.parties[2].public_key()];
    let r = f.setup.prove(
        &image,
        &mask,
        &salt,
        None,
        &ProveOptions { binding: None, party_keys: Some(dup), ..ProveOptions::default() },
        &NoProgress,
        &CancellationToken::new(),
    );
    assert!(matches!(r, Err(ProveError::Shares(_))), "{r:?}");
    // A public-code model refuses party keys.
    let pc = ProvingSetup::prepare(
        Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World))),
        &SrsSource::Development,
        None,
        &NoProgress,
        &CancellationToken::new(),
    )
    .unwrap();
    let r = pc.prove(
        &image,
        &mask,
        &salt,
        None,
        &ProveOptions { binding: None, party_keys: Some(keys(&f.parties)), ..ProveOptions::default() },
        &NoProgress,
        &CancellationToken::new(),
    );
    assert!(matches!(r, Err(ProveError::UnexpectedPartyKeys { .. })));
}
