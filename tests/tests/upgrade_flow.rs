//! The demo's story with public codes, as a test, at full size: enroll into a vault, prove
//! world-v3 from the record (bound to the user's account), register in the registry (real
//! verifier, real solc, revm), publish world-v3.1, re-prove from the same record, upgrade, and
//! check that the registry links both codes to the same commitment and that the codes match.
//! (`private_flow.rs` is the same story in mpc-shares mode.)

use std::path::Path;
use std::sync::Arc;

use zkiris::attest::{dev_device_id, dev_device_key};
use zkiris::commitment::{commit, Salt};
use zkiris::evm::calldata::{code_hash, code_hash_of_calldata, current_model_of_calldata};
use zkiris::evm::LocalRegistry;
use zkiris::evm::Solc;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::iriscode::HammingDistanceMatcher;
use zkiris::model::{IssuerKeys, Model};
use zkiris::prover::{fr_from_be, Attestation, CancellationToken, NoProgress, ProofBundle, ProveOptions, ProvingSetup, SrsSource};
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

fn publish(chain: &mut LocalRegistry, s: &ProvingSetup) {
    chain.publish(s).unwrap();
}

fn stored_hash(chain: &mut LocalRegistry, c: &[u8; 32], model: &[u8; 32]) -> [u8; 32] {
    let out = chain.call(USER, code_hash_of_calldata(c, model)).unwrap();
    assert!(out.success);
    out.output.as_slice().try_into().unwrap()
}

fn expected_hash(b: &ProofBundle) -> [u8; 32] {
    let inst: Vec<_> = b.public_inputs.iter().map(|w| fr_from_be(w).unwrap()).collect();
    code_hash(&inst).unwrap()
}

#[test]
fn enroll_prove_register_upgrade_match() {
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

    // The registry first: the phone binds its proofs to this chain, registry and account.
    let mut chain = LocalRegistry::deploy(Solc::locate().unwrap(), ISSUER, true).unwrap();
    chain.trust_device(&dev_device_id()).unwrap();
    let options = ProveOptions { binding: Some(chain.binding(USER)), party_keys: None, ..ProveOptions::default() };

    // world-v3: prove, verify, register.
    let v3 = setup("world-v3", &cache);
    let p3 = v3.prove(r.image(), r.mask(), r.salt(), att.clone(), &options, &NoProgress, &CancellationToken::new()).unwrap();
    let s3 = v3.verifier().verify(&p3).unwrap();
    assert_eq!(s3.commitment, c);
    let published = chain.publish(&v3).unwrap();
    // The real verifier (forwarded, memory-compacted and split code) accepts the proof and
    // rejects tampering: proof bytes across the whole proof, a code bit, the commitment.
    chain.verify_directly(published.verifier, USER, &p3).unwrap();
    for pos in (0..p3.proof.len()).step_by(p3.proof.len() / 9) {
        let mut bad = p3.clone();
        bad.proof[pos] ^= 0x01;
        assert!(chain.verify_directly(published.verifier, USER, &bad).is_err(), "tampered proof byte {pos} accepted");
    }
    for word in [0, 3, 4, 71, 137] {
        let mut bad = p3.clone();
        bad.public_inputs[word][31] ^= 0x01;
        assert!(chain.verify_directly(published.verifier, USER, &bad).is_err(), "tampered public input {word} accepted");
    }
    // Anyone else submitting the user's proof is refused: it is bound to the user's account.
    assert!(chain.register([0x66; 20], &p3).is_err(), "a lifted proof registered");
    let reg = chain.register(USER, &p3).unwrap();
    assert!(reg.gas_used > 21_000);
    // The same registration again is refused (one code per commitment and model).
    assert!(chain.register(USER, &p3).is_err());

    // world-v3.1: re-prove from the same record, upgrade.
    let v31 = setup("world-v3.1", &cache);
    let p31 = v31.prove(r.image(), r.mask(), r.salt(), att, &options, &NoProgress, &CancellationToken::new()).unwrap();
    let s31 = v31.verifier().verify(&p31).unwrap();
    assert_eq!(s31.commitment, c, "the upgrade opens the same commitment");
    assert_ne!(p31.mask_code, p3.mask_code, "v3.1's stricter rule changes the mask");
    // The old proof does not verify as a v3.1 proof.
    assert!(v31.verifier().verify(&p3).is_err());
    // Before the issuer publishes v3.1 the upgrade is refused; after, it succeeds. An
    // "upgrade" to the model C is already on is refused too.
    assert!(chain.upgrade(USER, &p31).is_err(), "unknown model");
    publish(&mut chain, &v31);
    assert!(chain.upgrade(USER, &p3).is_err(), "not a newer model");
    chain.upgrade(USER, &p31).unwrap();

    // The registry links both codes to C (policy: keep old codes) and points C at v3.1.
    assert_eq!(stored_hash(&mut chain, &c.0, &p3.model_id), expected_hash(&p3));
    assert_eq!(stored_hash(&mut chain, &c.0, &p31.model_id), expected_hash(&p31));
    let cur = chain.call(USER, current_model_of_calldata(&c.0)).unwrap();
    assert_eq!(cur.output, p31.model_id.to_vec());

    // The codes match: same iris bits on the common mask.
    let d = HammingDistanceMatcher::default().run(&s3.template.unwrap().decode().unwrap(), &s31.template.unwrap().decode().unwrap());
    assert!(d.distance < 0.05, "distance {}", d.distance);
}
