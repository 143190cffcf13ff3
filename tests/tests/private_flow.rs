//! The demo's default story — private code submission — as a test, at full size: enroll into a
//! vault; the three MPC parties make their keys; the phone proves world-v3-mpc from the record,
//! bound to its account, with each share sealed to its party; each party opens and checks its
//! share; the registry (real verifier, real solc, revm) registers the enrollment without ever
//! receiving a code word; world-v3.1-mpc re-proves from the same record and upgrades under the
//! same commitment; and two parties' shares of each proof give back codes of the same eye.

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use zkiris::attest::{dev_device_id, dev_device_key};
use zkiris::commitment::{commit, Salt};
use zkiris::evm::calldata::{decode_registry_event, register_calldata, share_hash, share_hash_of_calldata, RegistryEvent};
use zkiris::evm::LocalRegistry;
use zkiris::evm::Solc;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::iriscode::{HammingDistanceMatcher, IrisCode};
use zkiris::model::{IssuerKeys, Model};
use zkiris::mpc::{combine, MaskedCode, Party, PartyPublicKey, PartySecretKey, ShareEnvelope, ShareFile, StatementId};
use zkiris::prover::{Attestation, CancellationToken, NoProgress, ProofBundle, ProveOptions, ProvingSetup, SrsSource};
use zkiris::public::{fr_from_be, PublicInputs, PublicLayout, Submission, ROW_BINDING, ROW_SHARE_COMMITMENTS};
use zkiris::vault::{EnrollmentRecord, KdfCost, PassphraseProvider, Vault, VaultOptions};

const ISSUER: [u8; 20] = [0x15; 20];
const USER: [u8; 20] = [0x42; 20];

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn setup(name: &str, cache: &Path) -> ProvingSetup {
    let model = Model::load(&repo().join("models").join(name).join("manifest.json"), &IssuerKeys::development()).unwrap();
    ProvingSetup::prepare(Arc::new(model), &SrsSource::Development, Some(cache), &NoProgress, &CancellationToken::new()).unwrap()
}

fn public(b: &ProofBundle) -> PublicInputs {
    PublicInputs::from_be_bytes(&PublicLayout::new(Submission::MpcShares, 16384, 16384), &b.public_inputs).unwrap()
}

/// Each party opens its envelope with its own key; the share must match the public `S_p`.
fn open_all(b: &ProofBundle, parties: &[PartySecretKey; 3]) -> Vec<ShareFile> {
    let p = public(b);
    let st = StatementId::of(b.model_id, &p);
    let s = p.share_commitments().unwrap();
    (0..3)
        .map(|i| {
            let share = ShareEnvelope::from_bytes(&b.envelopes[i]).unwrap().open(&parties[i], Party::ALL[i], &st, s[i]).unwrap();
            assert_eq!(share.commitment(), s[i]);
            ShareFile::from_statement(share, &st)
        })
        .collect()
}

/// The code two parties reconstruct, as an `IrisCode` (world-v3 layout).
fn combined(a: &ShareFile, b: &ShareFile) -> IrisCode {
    let (code, mask) = combine(a, b).unwrap();
    let bits = |bytes: &[u8]| -> Vec<u8> { (0..8 * bytes.len()).map(|i| (bytes[i / 8] >> (7 - i % 8)) & 1).collect() };
    IrisCode::from_plane_major(&bits(&code), &bits(&mask)).unwrap()
}

#[test]
fn enroll_prove_shares_register_upgrade_combine() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = zkiris::prover::default_cache_dir();

    // Enrollment into a vault.
    let samples = repo().join("models/samples");
    let image = IrisImage::read_png(&samples.join("synth-eye_128x1024.png")).unwrap();
    let mask = IrisMask::read_png(&samples.join("synth-eye_128x1024_mask.png")).unwrap();
    let salt = Salt::random();
    let c = commit(&image, &mask, &salt).unwrap();
    let device = dev_device_key();
    let record = EnrollmentRecord::new(image, mask, salt, c, device.sign_commitment(&c.0), device.id()).unwrap();
    let provider = Arc::new(PassphraseProvider::generate(b"e2e", KdfCost::MINIMUM).unwrap());
    let vault = Vault::create(tmp.path().join("vault"), provider, VaultOptions::default()).unwrap();
    let id = vault.import(record, &[device.id()]).unwrap();
    let r = vault.get(&id).unwrap();
    let att = Some(Attestation { device: r.device(), signature: *r.signature() });

    // The registry, and the MPC parties' keys.
    let mut chain = LocalRegistry::deploy(Solc::locate().unwrap(), ISSUER, true).unwrap();
    chain.trust_device(&dev_device_id()).unwrap();
    let parties = [PartySecretKey::generate(), PartySecretKey::generate(), PartySecretKey::generate()];
    let keys: [PartyPublicKey; 3] = [parties[0].public_key(), parties[1].public_key(), parties[2].public_key()];
    let options = ProveOptions { binding: Some(chain.binding(USER)), party_keys: Some(keys), ..ProveOptions::default() };

    // world-v3-mpc: prove, verify, open, register.
    let v3 = setup("world-v3-mpc", &cache);
    let p3 = v3.prove(r.image(), r.mask(), r.salt(), att.clone(), &options, &NoProgress, &CancellationToken::new()).unwrap();
    assert!(p3.iris_code.is_empty() && p3.mask_code.is_empty() && p3.valid_bits.is_none(), "no code in the bundle");
    assert_eq!(p3.public_inputs.len(), 7);
    let s3 = v3.verifier().verify(&p3).unwrap();
    assert_eq!(s3.commitment, c);
    let shares3 = open_all(&p3, &parties);
    let published = chain.publish(&v3).unwrap();
    // The real verifier accepts the proof and rejects a tampered S_p, binding or proof byte.
    chain.verify_directly(published.verifier, USER, &p3).unwrap();
    for row in [ROW_BINDING, ROW_SHARE_COMMITMENTS, ROW_SHARE_COMMITMENTS + 2] {
        let mut bad = p3.clone();
        bad.public_inputs[row][31] ^= 0x01;
        assert!(chain.verify_directly(published.verifier, USER, &bad).is_err(), "tampered public input {row} accepted");
    }
    let mut bad = p3.clone();
    bad.proof[p3.proof.len() / 2] ^= 0x01;
    assert!(chain.verify_directly(published.verifier, USER, &bad).is_err());
    // Another account cannot submit the user's proof; the user can. The calldata holds the
    // seven public inputs and the proof, never a code word; the event carries S_1..S_3.
    assert!(chain.register([0x66; 20], &p3).is_err(), "a lifted proof registered");
    let inst: Vec<Fr> = p3.public_inputs.iter().map(|w| fr_from_be(w).unwrap()).collect();
    let sig = p3.attestation.as_ref().unwrap().signature;
    let out = chain.call(USER, register_calldata(&p3.model_id, &p3.proof, &inst, &sig)).unwrap();
    assert!(out.success, "register reverted");
    let events: Vec<RegistryEvent> = out.logs.iter().filter_map(|l| decode_registry_event(&l.topics, &l.data)).collect();
    let expected_s = public(&p3).share_commitments().unwrap();
    assert!(
        events.iter().any(|e| matches!(e, RegistryEvent::SharesRegistered { commitment, shares, .. } if *commitment == c.0 && *shares == expected_s)),
        "{events:?}"
    );
    let stored = chain.call(USER, share_hash_of_calldata(&c.0, &p3.model_id)).unwrap();
    assert_eq!(stored.output, share_hash(&inst).unwrap().to_vec());

    // world-v3.1-mpc: re-prove from the same record (fresh shares), upgrade.
    let v31 = setup("world-v3.1-mpc", &cache);
    let p31 = v31.prove(r.image(), r.mask(), r.salt(), att, &options, &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(v31.verifier().verify(&p31).unwrap().commitment, c, "the upgrade opens the same commitment");
    let shares31 = open_all(&p31, &parties);
    assert!(chain.upgrade(USER, &p31).is_err(), "unknown model");
    chain.publish(&v31).unwrap();
    assert!(chain.upgrade([0x66; 20], &p31).is_err(), "a lifted upgrade");
    chain.upgrade(USER, &p31).unwrap();

    // Parties 1+2 of the first proof and 2+3 of the second give back codes of the same eye,
    // and exactly the codes the models compute natively.
    let code3 = combined(&shares3[0], &shares3[1]);
    let code31 = combined(&shares31[1], &shares31[2]);
    let d = HammingDistanceMatcher::default().run(&code3, &code31);
    assert!(d.distance < 0.05, "distance {}", d.distance);
    let native = v3.model().encode(r.image(), r.mask()).unwrap().iris_code().unwrap();
    for pos in zkiris::iriscode::BitPos::all() {
        assert_eq!(code3.mask_bit(pos), native.mask_bit(pos), "{pos:?}");
        if native.mask_bit(pos) {
            assert_eq!(code3.code_bit(pos), native.code_bit(pos), "{pos:?}");
        }
    }
    // The third pair agrees too.
    let m = MaskedCode::from_elements(&zkiris::mpc::reconstruct(shares3[2].share(), shares3[0].share()).unwrap());
    let (code, mask) = m.to_codes().unwrap();
    let (code12, mask12) = combine(&shares3[0], &shares3[1]).unwrap();
    assert_eq!((&code[..], &mask[..]), (&code12[..], &mask12[..]));
}
