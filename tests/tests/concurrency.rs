//! Two threads prove two different vault records with one shared proving setup; each proof
//! verifies and states its own record's commitment.

use std::sync::Arc;

use zkiris::attest::dev_device_key;
use zkiris::commitment::{commit, Salt};
use zkiris::prover::{CancellationToken, NoProgress, ProvingSetup, SrsSource};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};
use zkiris::vault::{EnrollmentRecord, KdfCost, PassphraseProvider, Vault, VaultOptions};

#[test]
fn two_records_prove_concurrently() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = TinySpec::default_for(TinyRules::World);
    let provider = Arc::new(PassphraseProvider::generate(b"e2e", KdfCost::MINIMUM).unwrap());
    let vault = Arc::new(Vault::create(tmp.path().join("vault"), provider, VaultOptions::default()).unwrap());
    let device = dev_device_key();
    let ids: Vec<_> = [11u64, 12]
        .iter()
        .map(|&seed| {
            let (image, mask) = tiny_sample(&spec, seed);
            let salt = Salt::random();
            let c = commit(&image, &mask, &salt).unwrap();
            let rec = EnrollmentRecord::new(image, mask, salt, c, device.sign_commitment(&c.0), device.id()).unwrap();
            vault.import(rec, &[device.id()]).unwrap()
        })
        .collect();
    let setup = Arc::new(
        ProvingSetup::prepare(Arc::new(tiny_model(&spec)), &SrsSource::Development, Some(&tmp.path().join("cache")), &NoProgress, &CancellationToken::new())
            .unwrap(),
    );
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let (setup, vault, id) = (setup.clone(), vault.clone(), *id);
            std::thread::spawn(move || {
                let r = vault.get(&id).unwrap();
                let b =
                    setup.prove(r.image(), r.mask(), r.salt(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new()).unwrap();
                (*r.commitment(), b)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
    let verifier = setup.verifier();
    for (c, b) in &results {
        assert_eq!(verifier.verify(b).unwrap().commitment, *c);
    }
    assert_ne!(results[0].0, results[1].0, "two different enrollments");
    assert_ne!(results[0].1.iris_code, results[1].1.iris_code);
}
