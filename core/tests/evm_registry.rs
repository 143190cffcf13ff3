//! Generated verifiers and the `IrisCodeRegistry` contract in a real EVM (revm), compiled with
//! the pinned solc 0.8.19 (`npm ci --prefix contracts`), against the stand-in circuit.
//!
//! Gas numbers are printed; see them with
//! `cargo test -p zkiris --features evm-test --test evm_registry -- --nocapture --test-threads 1`.

mod support;

use halo2_proofs::halo2curves::bn256::Fr;
use support::{commitment, fixture, Model, Proven};
use zkiris::{
    attest::{dev_device_id, dev_device_key, DeviceKey, EnrollmentSignature},
    commitment::FIELD_MODULUS_BE,
    evm::{
        calldata::{
            code_hash, code_hash_of_calldata, current_model_of_calldata, encode_verifier_calldata, event_topic, fr_from_be,
            fr_to_be, register_calldata, registry_constructor_args, selector, set_model_active_calldata,
            set_model_calldata, set_trusted_device_calldata, set_upgrade_policy_calldata, transfer_ownership_calldata,
            upgrade_calldata, ModelEntry, INSTANCE_CODE, INSTANCE_COMMITMENT, INSTANCE_MIN_VALID_BITS,
        },
        prove::{verify_native_evm, EvmProofError},
        revm::{calldata_gas, CallOutcome, LocalEvm, RevmError},
        solc::SolcError,
        verifier::{VerifierSource, EIP170_MAX_RUNTIME_BYTES, VERIFIER_CONTRACT},
    },
};

const ISSUER: [u8; 20] = [0x15; 20];
const USER: [u8; 20] = [0x42; 20];

fn ok(outcome: CallOutcome) -> CallOutcome {
    assert!(outcome.success, "call reverted: 0x{} halt={:?}", hex::encode(&outcome.output), outcome.halt);
    outcome
}

/// Asserts a revert with exactly the custom error `sig(args…)`.
fn reverts_with(outcome: &CallOutcome, sig: &str, args: &[[u8; 32]]) {
    assert!(!outcome.success, "expected revert {sig}, but the call succeeded");
    let mut expected = selector(sig).to_vec();
    args.iter().for_each(|a| expected.extend_from_slice(a));
    assert_eq!(hex::encode(&outcome.output), hex::encode(&expected), "expected revert {sig}");
}

fn word_addr(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

fn c_bytes(p: &Proven) -> [u8; 32] {
    fr_to_be(&p.instances[INSTANCE_COMMITMENT])
}

fn sign(p: &Proven) -> EnrollmentSignature {
    dev_device_key().sign_commitment(&c_bytes(p))
}

/// Flips the lowest bit of iris-code word `word` (one code bit).
fn flip_code_bit(instances: &[Fr], word: usize) -> Vec<Fr> {
    let mut out = instances.to_vec();
    let mut be = fr_to_be(&out[INSTANCE_CODE + word]);
    be[31] ^= 1;
    out[INSTANCE_CODE + word] = fr_from_be(&be, "word").unwrap();
    out
}

/// Replaces the unique occurrence of `old` (a 32-byte word) in `calldata` by `new`.
fn patch_word(calldata: &mut [u8], old: &[u8; 32], new: &[u8; 32]) {
    let hits: Vec<usize> = (0..=calldata.len() - 32).filter(|&i| &calldata[i..i + 32] == old).collect();
    assert_eq!(hits.len(), 1, "word must occur once");
    calldata[hits[0]..hits[0] + 32].copy_from_slice(new);
}

/// `a + b` on 32-byte big-endian integers (no overflow in our use).
fn add_be(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// `a - b` on 32-byte big-endian integers, `a ≥ b`.
fn sub_be(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    out
}

struct Chain {
    evm: LocalEvm,
    registry: [u8; 20],
    verifier_a: [u8; 20],
    verifier_b: [u8; 20],
}

fn entry(model: &Model, verifier: [u8; 20], active: bool) -> ModelEntry {
    ModelEntry {
        model_id: model.id,
        verifier,
        version: model.version,
        min_valid_bits: model.min_valid_bits,
        liveness_threshold: model.liveness,
        active,
    }
}

/// Deploys both verifiers and a registry with models A (v1) and B (v2) active and the dev
/// enrollment device trusted.
fn deploy(keep_old_code: bool) -> Chain {
    let f = fixture();
    let mut evm = LocalEvm::new();
    let verifier_a = f.model_a.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let verifier_b = f.model_b.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let registry = evm.deploy(ISSUER, f.registry.deploy_code(&registry_constructor_args(keep_old_code))).unwrap().address;
    ok(evm.call(ISSUER, registry, set_model_calldata(&entry(&f.model_a, verifier_a, true))).unwrap());
    ok(evm.call(ISSUER, registry, set_model_calldata(&entry(&f.model_b, verifier_b, true))).unwrap());
    ok(evm.call(ISSUER, registry, set_trusted_device_calldata(&dev_device_id(), true)).unwrap());
    Chain { evm, registry, verifier_a, verifier_b }
}

impl Chain {
    fn call(&mut self, calldata: Vec<u8>) -> CallOutcome {
        self.evm.call(USER, self.registry, calldata).unwrap()
    }

    fn view_word(&mut self, calldata: Vec<u8>) -> [u8; 32] {
        let out = ok(self.call(calldata)).output;
        out.try_into().expect("one word")
    }

    fn register(&mut self, model: &Model, p: &Proven) -> CallOutcome {
        self.call(register_calldata(&model.id, &p.proof, &p.instances, &sign(p)))
    }
}

#[test]
fn verifier_accepts_valid_proofs_and_rejects_tampering() {
    let f = fixture();
    let mut evm = LocalEvm::new();
    let verifier = f.model_a.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let verifier_b = f.model_b.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let p = &f.a_c1;
    assert_eq!(f.model_a.source.calldata_len(), 32 * p.instances.len() + p.proof.len());
    assert_eq!(f.model_a.source.proof_len(), p.proof.len());

    let valid = ok(evm.call(USER, verifier, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    assert!(valid.output.is_empty());
    println!(
        "GAS verify (direct tx, {} contract(s), runtime {} bytes, proof {} bytes): {}",
        f.model_a.compiled.parts().len(),
        f.model_a.compiled.parts()[0].runtime_code.len(),
        p.proof.len(),
        valid.gas_used
    );

    // Tampered proof bytes: a commitment, a middle byte, an opening at the end.
    for pos in [5, p.proof.len() / 2, p.proof.len() - 1] {
        let mut proof = p.proof.clone();
        proof[pos] ^= 0x01;
        let out = evm.call(USER, verifier, encode_verifier_calldata(&p.instances, &proof)).unwrap();
        assert!(!out.success, "tampered proof byte {pos} accepted");
        assert!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &p.instances, &proof).is_err());
    }
    // Truncated proofs. (Natively, a cut inside the final opening proof is reported as
    // `Invalid`: halo2 maps read errors there to an opening failure.)
    for cut in [32, p.proof.len() / 2] {
        let short = &p.proof[..p.proof.len() - cut];
        assert!(!evm.call(USER, verifier, encode_verifier_calldata(&p.instances, short)).unwrap().success);
        assert!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &p.instances, short).is_err());
    }
    let half = &p.proof[..p.proof.len() / 2];
    assert!(matches!(
        verify_native_evm(&f.params, f.model_a.pk.get_vk(), &p.instances, half),
        Err(EvmProofError::Malformed(_))
    ));
    // One code bit, and the commitment.
    let flipped = flip_code_bit(&p.instances, 17);
    assert!(!evm.call(USER, verifier, encode_verifier_calldata(&flipped, &p.proof)).unwrap().success);
    assert_eq!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &flipped, &p.proof), Err(EvmProofError::Invalid));
    let mut other_c = p.instances.clone();
    other_c[INSTANCE_COMMITMENT] = commitment(99);
    assert!(!evm.call(USER, verifier, encode_verifier_calldata(&other_c, &p.proof)).unwrap().success);
    // A model-A proof does not verify under model B's key.
    assert!(!evm.call(USER, verifier_b, encode_verifier_calldata(&p.instances, &p.proof)).unwrap().success);
    assert!(ok(evm.call(USER, verifier_b, encode_verifier_calldata(&f.b_c1.instances, &f.b_c1.proof)).unwrap()).success);
}

#[test]
fn verifier_reduces_inputs_modulo_p_so_the_registry_must_reject_them() {
    // Why the registry insists on canonical inputs: the generated verifier reads each input
    // `mod p`, so `C + p` verifies like `C` and would otherwise be a second registry key.
    let f = fixture();
    let mut evm = LocalEvm::new();
    let verifier = f.model_a.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let p = &f.a_c1;
    let mut calldata = encode_verifier_calldata(&p.instances, &p.proof);
    let c = c_bytes(p);
    calldata[..32].copy_from_slice(&add_be(&c, &FIELD_MODULUS_BE));
    assert!(ok(evm.call(USER, verifier, calldata).unwrap()).success);

    let mut chain = deploy(true);
    let mut calldata = register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p));
    patch_word(&mut calldata, &c, &add_be(&c, &FIELD_MODULUS_BE));
    let out = chain.call(calldata);
    reverts_with(&out, "NonCanonicalPublicInput(uint256)", &[word_u64(0)]);
    // A code word at or above 2^248 (here: plus p) is refused the same way.
    let w = fr_to_be(&p.instances[INSTANCE_CODE + 4]);
    let mut calldata = register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p));
    patch_word(&mut calldata, &w, &add_be(&w, &FIELD_MODULUS_BE));
    reverts_with(&chain.call(calldata), "NonCanonicalPublicInput(uint256)", &[word_u64((INSTANCE_CODE + 4) as u64)]);
}

#[test]
fn oversized_verifier_is_split_automatically() {
    // With 137 public inputs and the optimizer off, even the stand-in's verifier is over the
    // EIP-170 limit as a single contract; the EVM refuses to deploy it.
    let f = fixture();
    let whole = f
        .solc
        .compile_contract(&[("Halo2Verifier.sol", f.model_a.source.solidity())], VERIFIER_CONTRACT)
        .unwrap();
    println!("single-contract verifier: {} bytes of runtime code", whole.runtime_code.len());
    assert!(whole.runtime_code.len() > EIP170_MAX_RUNTIME_BYTES);
    assert!(matches!(whole.check_eip170(), Err(SolcError::CodeTooLarge { .. })));
    let mut evm = LocalEvm::new();
    assert!(matches!(evm.deploy(ISSUER, whole.creation_code.clone()), Err(RevmError::DeployFailed { .. })));
    // `compile_verifier` split it into the fewest parts that fit, and they deploy.
    let compiled = &f.model_a.compiled;
    assert!(compiled.is_split());
    println!("split: {:?}", compiled.parts().iter().map(|c| c.runtime_code.len()).collect::<Vec<_>>());
    for part in compiled.parts() {
        part.check_eip170().unwrap();
    }
    let entry = compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    assert_eq!(evm.code_size(entry), compiled.parts()[0].runtime_code.len());
}

#[test]
fn compacted_verifier_behaves_like_the_generated_one() {
    // `VerifierSource::render` forwards single-use stores into their loads (evm::inline) and
    // reallocates the generated code's memory (evm::memory). Both versions, as single contracts
    // on a chain without the size limit, must accept and reject exactly the same calls; the
    // rewritten one touches less memory and costs less gas.
    let f = fixture();
    let generated = VerifierSource::render_generated(&f.params, f.model_a.pk.get_vk(), f.model_a.source.num_instances()).unwrap();
    let (before, after) = f.model_a.source.memory_bytes();
    println!("memory: generated {before} bytes, compacted {after} bytes");
    assert!(after * 3 < before * 2, "compaction saved too little: {before} -> {after}");
    assert_ne!(generated.solidity(), f.model_a.source.solidity());
    assert!(f.model_a.source.forwarded_stores() > 100, "{}", f.model_a.source.forwarded_stores());
    let mut evm = LocalEvm::without_code_size_limit();
    let mut deploy_whole = |source: &VerifierSource| {
        let whole = f.solc.compile_contract(&[("Halo2Verifier.sol", source.solidity())], VERIFIER_CONTRACT).unwrap();
        evm.deploy(ISSUER, whole.creation_code).unwrap().address
    };
    let (old, new) = (deploy_whole(&generated), deploy_whole(&f.model_a.source));
    let p = &f.a_c1;
    let mut cases: Vec<(String, Vec<u8>)> = vec![("valid".into(), encode_verifier_calldata(&p.instances, &p.proof))];
    for pos in (0..p.proof.len()).step_by(p.proof.len() / 23) {
        let mut proof = p.proof.clone();
        proof[pos] ^= 0x01;
        cases.push((format!("proof byte {pos}"), encode_verifier_calldata(&p.instances, &proof)));
    }
    for word in [0, 33, 66, 133] {
        cases.push((format!("code word {word}"), encode_verifier_calldata(&flip_code_bit(&p.instances, word), &p.proof)));
    }
    let mut other_c = p.instances.clone();
    other_c[INSTANCE_COMMITMENT] = commitment(7);
    cases.push(("commitment".into(), encode_verifier_calldata(&other_c, &p.proof)));
    cases.push(("truncated".into(), encode_verifier_calldata(&p.instances, &p.proof[..p.proof.len() - 32])));
    cases.push(("model B's proof".into(), encode_verifier_calldata(&f.b_c1.instances, &f.b_c1.proof)));
    for (name, calldata) in cases {
        let a = evm.call(USER, old, calldata.clone()).unwrap();
        let b = evm.call(USER, new, calldata).unwrap();
        assert_eq!(a.success, b.success, "{name}: generated {} vs compacted {}", a.success, b.success);
        assert_eq!(b.success, name == "valid", "{name}");
        if name == "valid" {
            println!("GAS verify, one contract: generated {}, compacted {}", a.gas_used, b.gas_used);
            assert!(b.gas_used < a.gas_used);
        }
    }
}

#[test]
fn a_verifier_too_deep_for_solc_is_compiled_without_forwarding() {
    // Forwarding without a nesting bound builds expressions the legacy code generator cannot
    // keep on the stack. `compile_verifier` then compiles the same verifier without forwarding,
    // and says so through `CompiledVerifier::source`.
    let f = fixture();
    let generated = VerifierSource::render_generated(&f.params, f.model_a.pk.get_vk(), f.model_a.source.num_instances()).unwrap();
    let deep = generated.rewritten(1_000).unwrap();
    assert!(deep.forwarded_stores() > f.model_a.source.forwarded_stores());
    let direct = f.solc.compile_contract(&[("Halo2Verifier.sol", deep.solidity())], VERIFIER_CONTRACT);
    assert!(matches!(&direct, Err(SolcError::Compile(m)) if m.contains("Stack too deep")), "{direct:?}");
    let compiled = f.solc.compile_verifier(&deep).unwrap();
    let used = compiled.source().unwrap();
    assert_eq!(used.forwarded_stores(), 0);
    assert!(used.memory_bytes().1 < used.memory_bytes().0, "still compacted");
    let mut evm = LocalEvm::new();
    let verifier = compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let p = &f.a_c1;
    ok(evm.call(USER, verifier, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    let mut proof = p.proof.clone();
    proof[100] ^= 1;
    assert!(!evm.call(USER, verifier, encode_verifier_calldata(&p.instances, &proof)).unwrap().success);
}

#[test]
fn split_verifier_behaves_like_the_single_contract() {
    let f = fixture();
    let split = f.solc.compile_verifier_parts(&f.model_a.source, 3).unwrap();
    assert_eq!(split.parts().len(), 3);
    for part in split.parts() {
        assert!(part.runtime_code.len() <= EIP170_MAX_RUNTIME_BYTES, "{part:?}");
    }
    let mut evm = LocalEvm::new();
    let mut addresses = Vec::new();
    let first = split
        .deploy_with(|code| {
            let address = evm.deploy(ISSUER, code)?.address;
            addresses.push(address);
            Ok::<_, RevmError>(address)
        })
        .unwrap();
    assert_eq!(addresses.last(), Some(&first), "deployed last to first");
    let p = &f.a_c1;
    let valid = ok(evm.call(USER, first, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    println!(
        "GAS verify (direct tx, forced split into 3 parts of {:?} bytes): {}",
        split.parts().iter().map(|c| c.runtime_code.len()).collect::<Vec<_>>(),
        valid.gas_used
    );
    for pos in [5, p.proof.len() / 2, p.proof.len() - 1] {
        let mut proof = p.proof.clone();
        proof[pos] ^= 0x01;
        assert!(!evm.call(USER, first, encode_verifier_calldata(&p.instances, &proof)).unwrap().success);
    }
    let flipped = flip_code_bit(&p.instances, 66);
    assert!(!evm.call(USER, first, encode_verifier_calldata(&flipped, &p.proof)).unwrap().success);
    // Only the entry can accept: the other parts revert even on a valid proof, so registering
    // one of them by mistake fails closed.
    for later in &addresses[..2] {
        let out = evm.call(USER, *later, encode_verifier_calldata(&p.instances, &p.proof)).unwrap();
        assert!(!out.success, "a non-entry part accepted a proof");
    }
    // Bytes appended after the proof are ignored by the entry (they cannot pose as the memory
    // image that later parts restore), as the single contract ignores them.
    let mut padded = p.proof.clone();
    padded.extend_from_slice(&[0xff; 4096]);
    ok(evm.call(USER, first, encode_verifier_calldata(&p.instances, &padded)).unwrap());
    let mut bad = p.proof.clone();
    bad[7] ^= 1;
    bad.extend_from_slice(&[0xff; 4096]);
    assert!(!evm.call(USER, first, encode_verifier_calldata(&p.instances, &bad)).unwrap().success);
    // A short proof is zero-padded by part 1 exactly as `calldataload` pads the single contract.
    let out = evm.call(USER, first, encode_verifier_calldata(&p.instances, &p.proof[..p.proof.len() - 64])).unwrap();
    assert!(!out.success);

    // The registry accepts the split verifier like any other.
    let mut chain = deploy(true);
    let split_entry = split.deploy_with(|code| chain.evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    ok(chain.evm.call(ISSUER, chain.registry, set_model_calldata(&entry(&f.model_a, split_entry, true))).unwrap());
    let out = ok(chain.register(&f.model_a, p));
    println!("GAS register (split verifier): {}", out.gas_used);
}

#[test]
fn register_then_upgrade_keeping_the_old_code() {
    let f = fixture();
    let mut chain = deploy(true);
    let c1 = c_bytes(&f.a_c1);
    let out = ok(chain.register(&f.model_a, &f.a_c1));
    let hash_a = code_hash(&f.a_c1.instances).unwrap();
    assert_eq!(out.output, hash_a.to_vec(), "register returns the code hash");
    assert_eq!(out.logs.len(), 1);
    let log = &out.logs[0];
    assert_eq!(log.topics[0], event_topic("CodeRegistered(bytes32,bytes32,bytes32,address)"));
    assert_eq!(log.topics[1..], [c1, f.model_a.id, word_addr(&dev_device_id().0)]);
    assert_eq!(log.data, hash_a.to_vec());
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), hash_a);
    assert_eq!(chain.view_word(current_model_of_calldata(&c1)), f.model_a.id);
    println!("GAS register: {}", out.gas_used);

    let up = ok(chain.call(upgrade_calldata(&f.model_b.id, &f.b_c1.proof, &f.b_c1.instances)));
    let hash_b = code_hash(&f.b_c1.instances).unwrap();
    assert_ne!(hash_a, hash_b);
    assert_eq!(up.logs[0].topics[0], event_topic("CodeUpgraded(bytes32,bytes32,bytes32,bytes32)"));
    assert_eq!(up.logs[0].topics[1..], [c1, f.model_a.id, f.model_b.id]);
    assert_eq!(up.logs[0].data, hash_b.to_vec());
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_b.id)), hash_b);
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), hash_a, "policy: keep the old code");
    assert_eq!(chain.view_word(current_model_of_calldata(&c1)), f.model_b.id);
    println!("GAS upgrade: {}", up.gas_used);

    // Replaying the upgrade, or going back to the older model, is refused.
    let again = chain.call(upgrade_calldata(&f.model_b.id, &f.b_c1.proof, &f.b_c1.instances));
    reverts_with(&again, "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c1, f.model_b.id, f.model_b.id]);
    let back = chain.call(upgrade_calldata(&f.model_a.id, &f.a_c1.proof, &f.a_c1.instances));
    reverts_with(&back, "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c1, f.model_b.id, f.model_a.id]);
}

#[test]
fn upgrade_replaces_the_old_code_under_the_replace_policy_even_from_a_retired_model() {
    let f = fixture();
    let mut chain = deploy(true);
    ok(chain.evm.call(ISSUER, chain.registry, set_upgrade_policy_calldata(false)).unwrap());
    let c1 = c_bytes(&f.a_c1);
    ok(chain.register(&f.model_a, &f.a_c1));
    // Model A is retired after C1 registered; C1 can still move to model B.
    ok(chain.evm.call(ISSUER, chain.registry, set_model_active_calldata(&f.model_a.id, false)).unwrap());
    ok(chain.call(upgrade_calldata(&f.model_b.id, &f.b_c1.proof, &f.b_c1.instances)));
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), [0u8; 32], "policy: replace");
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_b.id)), code_hash(&f.b_c1.instances).unwrap());
    // The replaced code stays claimed: C2 cannot take code X under model A (A is also inactive).
    ok(chain.evm.call(ISSUER, chain.registry, set_model_active_calldata(&f.model_a.id, true)).unwrap());
    let dup = chain.register(&f.model_a, &f.a_c2_same_code);
    reverts_with(&dup, "DuplicateCode(bytes32,bytes32,bytes32)", &[f.model_a.id, code_hash(&f.a_c1.instances).unwrap(), c1]);
}

#[test]
fn registry_rejects_bad_submissions() {
    let f = fixture();
    let mut chain = deploy(true);
    let (a, b) = (&f.model_a, &f.model_b);
    let p = &f.a_c1;
    let c1 = c_bytes(p);

    // Upgrade of a commitment that was never registered.
    let out = chain.call(upgrade_calldata(&b.id, &f.b_c1.proof, &f.b_c1.instances));
    reverts_with(&out, "NotRegistered(bytes32)", &[c1]);

    // Tampered proof.
    let mut proof = p.proof.clone();
    proof[p.proof.len() / 2] ^= 0x01;
    let out = chain.call(register_calldata(&a.id, &proof, &p.instances, &sign(p)));
    reverts_with(&out, "ProofRejected(bytes32)", &[a.id]);

    // One code bit flipped.
    let out = chain.call(register_calldata(&a.id, &p.proof, &flip_code_bit(&p.instances, 3), &sign(p)));
    reverts_with(&out, "ProofRejected(bytes32)", &[a.id]);

    // Another commitment with a genuine trusted-device signature cannot reuse C1's proof.
    let mut other = p.instances.clone();
    other[INSTANCE_COMMITMENT] = commitment(77);
    let sig77 = dev_device_key().sign_commitment(&fr_to_be(&other[INSTANCE_COMMITMENT]));
    let out = chain.call(register_calldata(&a.id, &p.proof, &other, &sig77));
    reverts_with(&out, "ProofRejected(bytes32)", &[a.id]);

    // A signature by an untrusted device.
    let rogue = DeviceKey::from_bytes(&[7u8; 32]).unwrap();
    let out = chain.call(register_calldata(&a.id, &p.proof, &p.instances, &rogue.sign_commitment(&c1)));
    reverts_with(&out, "UntrustedDevice(address)", &[word_addr(&rogue.id().0)]);

    // A trusted signature over another commitment recovers some other (untrusted) address.
    let out = chain.call(register_calldata(&a.id, &p.proof, &p.instances, &sig77));
    assert_eq!(out.revert_selector(), Some(selector("UntrustedDevice(address)")));

    // The same signature with a high s (malleated) or a bad v.
    let mut high = sign(p);
    let n: [u8; 32] = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap().try_into().unwrap();
    let s: [u8; 32] = high.0[32..64].try_into().unwrap();
    high.0[32..64].copy_from_slice(&sub_be(&n, &s));
    high.0[64] = 55 - high.0[64]; // 27 <-> 28: the malleated twin recovers the same device
    let out = chain.call(register_calldata(&a.id, &p.proof, &p.instances, &high));
    reverts_with(&out, "MalformedSignature()", &[]);
    let mut bad_v = sign(p);
    bad_v.0[64] = 1;
    reverts_with(&chain.call(register_calldata(&a.id, &p.proof, &p.instances, &bad_v)), "MalformedSignature()", &[]);

    // Unknown and inactive models.
    let unknown = [0xab; 32];
    reverts_with(&chain.call(register_calldata(&unknown, &p.proof, &p.instances, &sign(p))), "UnknownModel(bytes32)", &[unknown]);
    ok(chain.evm.call(ISSUER, chain.registry, set_model_active_calldata(&a.id, false)).unwrap());
    reverts_with(&chain.register(a, p), "ModelInactive(bytes32)", &[a.id]);
    ok(chain.evm.call(ISSUER, chain.registry, set_model_active_calldata(&a.id, true)).unwrap());

    // Thresholds other than the model's, and a wrong number of inputs.
    let mut loose = p.instances.clone();
    loose[INSTANCE_MIN_VALID_BITS] = Fr::from(1u64);
    let out = chain.call(register_calldata(&a.id, &p.proof, &loose, &sign(p)));
    reverts_with(&out, "ThresholdMismatch(uint256,uint256)", &[word_u64(1), [0u8; 32]]);
    let out = chain.call(register_calldata(&a.id, &p.proof, &p.instances[..136], &sign(p)));
    reverts_with(&out, "WrongPublicInputCount(uint256)", &[word_u64(136)]);
    // A model-B proof submitted as model A (its thresholds differ, and so does its key).
    let out = chain.call(register_calldata(&a.id, &f.b_c1.proof, &f.b_c1.instances, &sign(&f.b_c1)));
    assert!(!out.success);

    // The valid registration, then its replay, and the same code under another commitment.
    ok(chain.register(a, p));
    reverts_with(&chain.register(a, p), "AlreadyRegistered(bytes32,bytes32)", &[c1, a.id]);
    let dup = chain.register(a, &f.a_c2_same_code);
    reverts_with(&dup, "DuplicateCode(bytes32,bytes32,bytes32)", &[a.id, code_hash(&p.instances).unwrap(), c1]);
    // Someone else's distinct code registers fine.
    ok(chain.register(a, &f.a_c3));

    // Administration is the issuer's.
    let out = chain.call(set_model_calldata(&entry(a, chain.verifier_b, true)));
    reverts_with(&out, "NotOwner(address)", &[word_addr(&USER)]);
    let out = chain.call(set_trusted_device_calldata(&rogue.id(), true));
    reverts_with(&out, "NotOwner(address)", &[word_addr(&USER)]);
    let no_code = ModelEntry { verifier: [0x99; 20], ..entry(a, chain.verifier_a, true) };
    let out = chain.evm.call(ISSUER, chain.registry, set_model_calldata(&no_code)).unwrap();
    reverts_with(&out, "VerifierHasNoCode(address)", &[word_addr(&[0x99; 20])]);
    ok(chain.evm.call(ISSUER, chain.registry, transfer_ownership_calldata(&USER)).unwrap());
    let out = chain.evm.call(ISSUER, chain.registry, set_upgrade_policy_calldata(false)).unwrap();
    reverts_with(&out, "NotOwner(address)", &[word_addr(&ISSUER)]);
    ok(chain.call(set_upgrade_policy_calldata(false)));
}

#[test]
fn gas_table() {
    let f = fixture();
    let mut chain = deploy(true);
    let p = &f.a_c1;
    let verify_cd = encode_verifier_calldata(&p.instances, &p.proof);
    let register_cd = register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p));
    let upgrade_cd = upgrade_calldata(&f.model_b.id, &f.b_c1.proof, &f.b_c1.instances);
    let verify = ok(chain.evm.call(USER, chain.verifier_a, verify_cd.clone()).unwrap()).gas_used;
    let register = ok(chain.call(register_cd.clone())).gas_used;
    let upgrade = ok(chain.call(upgrade_cd.clone())).gas_used;
    // The same verifier as one (over-sized) contract, on a chain without the EIP-170 limit.
    let mut unlimited = LocalEvm::without_code_size_limit();
    let whole = f
        .solc
        .compile_contract(&[("Halo2Verifier.sol", f.model_a.source.solidity())], VERIFIER_CONTRACT)
        .unwrap();
    let single = unlimited.deploy(ISSUER, whole.creation_code).unwrap().address;
    let verify_single = ok(unlimited.call(USER, single, verify_cd.clone()).unwrap()).gas_used;

    let row = |name: &str, gas: u64, cd: &[u8]| {
        let data = calldata_gas(cd);
        println!("| {name} | {gas} | {data} | {} |", gas - 21_000 - data);
    };
    println!(
        "| transaction (stand-in circuit: {} public inputs, proof {} bytes) | gas | calldata gas | execution gas |",
        p.instances.len(),
        p.proof.len()
    );
    println!("|---|---|---|---|");
    row(&format!("verify: direct call, verifier split in {} contracts", f.model_a.compiled.parts().len()), verify, &verify_cd);
    row("verify: direct call, one contract (over EIP-170, not deployable on mainnet)", verify_single, &verify_cd);
    row("register (verify + inputs + signature + 3 new slots + event)", register, &register_cd);
    row("upgrade (verify + inputs + 2 new slots, 1 update + event, keep policy)", upgrade, &upgrade_cd);
    // The registry's own overhead on top of verification (signature check, input checks,
    // hashing, storage, event) must stay small for the real circuit to meet its targets.
    assert!(register - verify < 130_000, "register overhead {} gas", register - verify);
    assert!(upgrade < register);
    // Splitting costs one extra call and a memory hand-over per extra part, nothing more.
    let hops = f.model_a.compiled.parts().len() as u64 - 1;
    assert!(verify > verify_single && verify - verify_single < 15_000 * hops, "split overhead {}", verify - verify_single);
}

#[test]
fn standin_circuit_is_satisfied_and_range_checks_words() {
    use halo2_proofs::{
        dev::{FailureLocation, MockProver, VerifyFailure},
        halo2curves::ff::Field,
        plonk::Any,
    };
    use support::standin::{StandInCircuit, K};
    let pi = zkiris::evm::calldata::PublicInputs {
        commitment: commitment(5),
        min_valid_bits: 1,
        liveness_threshold: Fr::from(0u64),
        code: support::code(5),
        mask: support::code(6),
    };
    let instances = pi.to_instances().unwrap();
    let circuit = StandInCircuit { tag: 1, instances: Some(instances.clone()) };
    MockProver::run(K, &circuit, vec![instances.clone()]).unwrap().assert_satisfied();
    // 2^248 does not fit in 31 bytes: the byte decomposition cannot reach it, so the copy of
    // instance row 3 (the first code word) into the circuit fails.
    let mut big = instances.clone();
    big[INSTANCE_CODE] = Fr::from(2u64).pow_vartime([248u64]);
    let circuit = StandInCircuit { tag: 1, instances: Some(big.clone()) };
    let failures = MockProver::run(K, &circuit, vec![big]).unwrap().verify().unwrap_err();
    assert!(
        failures.iter().any(|f| matches!(f,
            VerifyFailure::Permutation { column, location: FailureLocation::OutsideRegion { row: 3 } }
                if column.column_type() == Any::Instance)),
        "{failures:?}"
    );
    // The last word of a code holds 2 bytes: 2^16 is out of range there.
    let mut big = instances.clone();
    big[INSTANCE_CODE + 66] = Fr::from(1u64 << 16);
    let circuit = StandInCircuit { tag: 1, instances: Some(big.clone()) };
    let failures = MockProver::run(K, &circuit, vec![big]).unwrap().verify().unwrap_err();
    assert!(failures.iter().any(|f| matches!(f,
        VerifyFailure::Permutation { location: FailureLocation::OutsideRegion { row: 69 }, .. })));
}
