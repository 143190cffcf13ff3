//! Generated verifiers and the `IrisCodeRegistry` (v2) contract in a real EVM (revm), compiled
//! with the pinned solc 0.8.19 (`npm ci --prefix contracts`), against the stand-in circuit in
//! both submission modes (public-input layout v2: 138 inputs for public-code, 7 for
//! mpc-shares).
//!
//! Gas numbers are printed; see them with
//! `cargo test -p zkiris --features evm-test --test evm_registry -- --nocapture --test-threads 1`.

mod support;

use halo2_proofs::halo2curves::bn256::Fr;
use support::{binding, commitment, fixture, registry_address, Model, Proven, CHAIN_ID, ISSUER, OTHER, USER};
use zkiris::{
    attest::{dev_device_id, dev_device_key, DeviceId, DeviceKey, EnrollmentSignature},
    commitment::FIELD_MODULUS_BE,
    evm::{
        calldata::{
            accept_ownership_calldata, aggregation_of_calldata, binding_for_calldata, code_hash, code_hash_of_calldata, current_model_of_calldata,
            decode_model, decode_registry_event, device_of_calldata, encode_verifier_calldata, event_topic, fr_from_be, fr_to_be, is_registered_calldata,
            is_revoked_calldata, models_calldata, owner_calldata, pack_code, pending_owner_calldata, register_batch_calldata, register_calldata,
            registry_constructor_args, revoke_device_calldata, selector, set_aggregation_verifier_calldata, set_model_active_calldata, set_model_calldata,
            set_trusted_device_calldata, set_upgrade_policy_calldata, share_hash, share_hash_of_calldata, transfer_ownership_calldata, upgrade_batch_calldata,
            upgrade_calldata, with_binding, ModelEntry, RegistryEvent, CODE_REGISTERED_EVENT, CODE_UPGRADED_EVENT, DEVICE_REVOKED_EVENT, MPC_SHARES_INSTANCES,
            PUBLIC_CODE_INSTANCES, SHARES_REGISTERED_EVENT,
        },
        calldata_gas, CallOutcome, LocalEvm, RevmError, SolcError, VerifierSource, EIP170_MAX_RUNTIME_BYTES, VERIFIER_CONTRACT,
    },
    public::{Submission, HEADER_ROWS, ROW_BINDING, ROW_COMMITMENT, ROW_MIN_VALID_BITS, ROW_SHARE_COMMITMENTS},
    testkit::{verify_native_evm, EvmProofError},
};

/// First iris-code word of a public-code statement.
const ROW_CODE: usize = HEADER_ROWS;

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

fn word_bool(b: bool) -> [u8; 32] {
    word_u64(u64::from(b))
}

fn c_bytes(p: &Proven) -> [u8; 32] {
    fr_to_be(&p.instances[ROW_COMMITMENT])
}

fn binding_word(p: &Proven) -> [u8; 32] {
    fr_to_be(&p.instances[ROW_BINDING])
}

fn sign(p: &Proven) -> EnrollmentSignature {
    dev_device_key().sign_commitment(&c_bytes(p))
}

/// Flips the lowest bit of iris-code word `word` (one code bit).
fn flip_code_bit(instances: &[Fr], word: usize) -> Vec<Fr> {
    let mut out = instances.to_vec();
    let mut be = fr_to_be(&out[ROW_CODE + word]);
    be[31] ^= 1;
    out[ROW_CODE + word] = fr_from_be(&be, "word").unwrap();
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
    verifier_m: [u8; 20],
}

fn entry(model: &Model, verifier: [u8; 20], active: bool) -> ModelEntry {
    ModelEntry {
        model_id: model.id,
        verifier,
        version: model.version,
        submission: model.submission,
        min_valid_bits: model.min_valid_bits,
        liveness_threshold: model.liveness,
        active,
    }
}

/// A fresh chain (chain id 1): the registry (the issuer's first deployment, at
/// [`registry_address`]), the three verifiers, models A (public-code, v1), B (public-code, v2)
/// and M (mpc-shares, v3) active, and the dev enrollment device trusted.
fn deploy(keep_old_code: bool) -> Chain {
    deploy_on(LocalEvm::new(), keep_old_code)
}

fn deploy_on(mut evm: LocalEvm, keep_old_code: bool) -> Chain {
    let f = fixture();
    let registry = evm.deploy(ISSUER, f.registry.deploy_code(&registry_constructor_args(keep_old_code))).unwrap().address;
    assert_eq!(registry, registry_address(), "the fixture's proofs are bound to this address");
    let verifier_a = f.model_a.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let verifier_b = f.model_b.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let verifier_m = f.model_m.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    ok(evm.call(ISSUER, registry, set_model_calldata(&entry(&f.model_a, verifier_a, true))).unwrap());
    ok(evm.call(ISSUER, registry, set_model_calldata(&entry(&f.model_b, verifier_b, true))).unwrap());
    ok(evm.call(ISSUER, registry, set_model_calldata(&entry(&f.model_m, verifier_m, true))).unwrap());
    ok(evm.call(ISSUER, registry, set_trusted_device_calldata(&dev_device_id(), true)).unwrap());
    Chain { evm, registry, verifier_a, verifier_b, verifier_m }
}

impl Chain {
    /// A transaction from account A ([`USER`]), the fixture proofs' submitter.
    fn call(&mut self, calldata: Vec<u8>) -> CallOutcome {
        self.call_from(USER, calldata)
    }

    fn call_from(&mut self, from: [u8; 20], calldata: Vec<u8>) -> CallOutcome {
        self.evm.call(from, self.registry, calldata).unwrap()
    }

    fn admin(&mut self, calldata: Vec<u8>) -> CallOutcome {
        self.call_from(ISSUER, calldata)
    }

    fn view_word(&mut self, calldata: Vec<u8>) -> [u8; 32] {
        let out = ok(self.call(calldata)).output;
        out.try_into().expect("one word")
    }

    fn register(&mut self, model: &Model, p: &Proven) -> CallOutcome {
        self.call(register_calldata(&model.id, &p.proof, &p.instances, &sign(p)))
    }

    fn upgrade(&mut self, model: &Model, p: &Proven) -> CallOutcome {
        self.call(upgrade_calldata(&model.id, &p.proof, &p.instances))
    }
}

#[test]
fn verifier_accepts_valid_proofs_and_rejects_tampering() {
    let f = fixture();
    let mut evm = LocalEvm::new();
    let verifier = f.model_a.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let verifier_b = f.model_b.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let p = &f.a_c1;
    assert_eq!(p.instances.len(), PUBLIC_CODE_INSTANCES);
    assert_eq!(f.model_a.source.calldata_len(), 32 * p.instances.len() + p.proof.len());
    assert_eq!(f.model_a.source.proof_len(), p.proof.len());

    let valid = ok(evm.call(USER, verifier, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    assert!(valid.output.is_empty());
    println!(
        "GAS verify (public-code, direct tx, {} contract(s), runtime {} bytes, proof {} bytes): {}",
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
    assert!(matches!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &p.instances, half), Err(EvmProofError::Malformed(_))));
    // One code bit, the commitment, and the binding (re-bound to account B).
    let flipped = flip_code_bit(&p.instances, 17);
    assert!(!evm.call(USER, verifier, encode_verifier_calldata(&flipped, &p.proof)).unwrap().success);
    assert_eq!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &flipped, &p.proof), Err(EvmProofError::Invalid));
    let mut other_c = p.instances.clone();
    other_c[ROW_COMMITMENT] = commitment(99);
    assert!(!evm.call(USER, verifier, encode_verifier_calldata(&other_c, &p.proof)).unwrap().success);
    let rebound = with_binding(&p.instances, &binding(CHAIN_ID, OTHER));
    assert!(!evm.call(OTHER, verifier, encode_verifier_calldata(&rebound, &p.proof)).unwrap().success);
    assert_eq!(verify_native_evm(&f.params, f.model_a.pk.get_vk(), &rebound, &p.proof), Err(EvmProofError::Invalid));
    // A model-A proof does not verify under model B's key.
    assert!(!evm.call(USER, verifier_b, encode_verifier_calldata(&p.instances, &p.proof)).unwrap().success);
    assert!(ok(evm.call(USER, verifier_b, encode_verifier_calldata(&f.b_c1.instances, &f.b_c1.proof)).unwrap()).success);

    // mpc-shares: 7 inputs; each share commitment and the binding are bound.
    let verifier_m = f.model_m.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let m = &f.m_c4;
    assert_eq!(m.instances.len(), MPC_SHARES_INSTANCES);
    let valid = ok(evm.call(USER, verifier_m, encode_verifier_calldata(&m.instances, &m.proof)).unwrap());
    println!(
        "GAS verify (mpc-shares, direct tx, {} contract(s), runtime {} bytes, proof {} bytes): {}",
        f.model_m.compiled.parts().len(),
        f.model_m.compiled.parts()[0].runtime_code.len(),
        m.proof.len(),
        valid.gas_used
    );
    for row in [ROW_COMMITMENT, ROW_BINDING, ROW_SHARE_COMMITMENTS, ROW_SHARE_COMMITMENTS + 1, ROW_SHARE_COMMITMENTS + 2] {
        let mut bad = m.instances.clone();
        bad[row] += Fr::from(1u64);
        assert!(!evm.call(USER, verifier_m, encode_verifier_calldata(&bad, &m.proof)).unwrap().success, "row {row}");
    }
    assert!(!evm.call(USER, verifier_m, encode_verifier_calldata(&m.instances, &p.proof)).unwrap().success);
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
    let w = fr_to_be(&p.instances[ROW_CODE + 4]);
    let mut calldata = register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p));
    patch_word(&mut calldata, &w, &add_be(&w, &FIELD_MODULUS_BE));
    reverts_with(&chain.call(calldata), "NonCanonicalPublicInput(uint256)", &[word_u64((ROW_CODE + 4) as u64)]);
    // The binding plus p is not the binding.
    let b = binding_word(p);
    let mut calldata = register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p));
    patch_word(&mut calldata, &b, &add_be(&b, &FIELD_MODULUS_BE));
    reverts_with(&chain.call(calldata), "BindingMismatch(uint256,uint256)", &[b, add_be(&b, &FIELD_MODULUS_BE)]);
    // A share commitment plus p (mpc-shares): the verifier accepts it, the registry does not.
    let m = &f.m_c4;
    let s2 = fr_to_be(&m.instances[ROW_SHARE_COMMITMENTS + 1]);
    let mut calldata = encode_verifier_calldata(&m.instances, &m.proof);
    patch_word(&mut calldata, &s2, &add_be(&s2, &FIELD_MODULUS_BE));
    assert!(ok(chain.evm.call(USER, chain.verifier_m, calldata).unwrap()).success);
    let mut calldata = register_calldata(&f.model_m.id, &m.proof, &m.instances, &sign(m));
    patch_word(&mut calldata, &s2, &add_be(&s2, &FIELD_MODULUS_BE));
    reverts_with(&chain.call(calldata), "NonCanonicalPublicInput(uint256)", &[word_u64((ROW_SHARE_COMMITMENTS + 1) as u64)]);
    ok(chain.register(&f.model_m, m));
}

#[test]
fn oversized_verifier_is_split_automatically() {
    // With 138 public inputs and the optimizer off, even the stand-in's verifier is over the
    // EIP-170 limit as a single contract; the EVM refuses to deploy it.
    let f = fixture();
    let whole = f.solc.compile_contract(&[("Halo2Verifier.sol", f.model_a.source.solidity())], VERIFIER_CONTRACT).unwrap();
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
    other_c[ROW_COMMITMENT] = commitment(7);
    cases.push(("commitment".into(), encode_verifier_calldata(&other_c, &p.proof)));
    cases.push(("truncated".into(), encode_verifier_calldata(&p.instances, &p.proof[..p.proof.len() - 32])));
    cases.push(("model B's proof".into(), encode_verifier_calldata(&f.b_c1.instances, &f.b_c1.proof)));
    let mut generated_halts = 0;
    for (name, calldata) in cases {
        let a = evm.call(USER, old, calldata.clone()).unwrap();
        let b = evm.call(USER, new, calldata).unwrap();
        assert_eq!(a.success, b.success, "{name}: generated {} vs compacted {}", a.success, b.success);
        assert_eq!(b.success, name == "valid", "{name}");
        // The rewritten verifier always fails by reverting; the generated one runs out of gas
        // when a proof point is off the curve (a failing curve precompile consumes its gas).
        assert!(b.halt.is_none(), "{name}: the rewritten verifier halted ({:?}) instead of reverting", b.halt);
        generated_halts += usize::from(a.halt.is_some());
        if name == "valid" {
            println!("GAS verify, one contract: generated {}, compacted {}", a.gas_used, b.gas_used);
            assert!(b.gas_used < a.gas_used);
        }
    }
    assert!(generated_halts > 0, "no case ran the generated verifier out of gas: the early revert has nothing to fix");
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
    assert_eq!(log.topics[0], event_topic(CODE_REGISTERED_EVENT));
    assert_eq!(log.topics[1..], [c1, f.model_a.id, word_addr(&dev_device_id().0)]);
    assert_eq!(log.data, hash_a.to_vec());
    assert_eq!(
        decode_registry_event(&log.topics, &log.data),
        Some(RegistryEvent::CodeRegistered { commitment: c1, model_id: f.model_a.id, code_hash: hash_a, device: dev_device_id().0 })
    );
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), hash_a);
    assert_eq!(chain.view_word(current_model_of_calldata(&c1)), f.model_a.id);
    assert_eq!(chain.view_word(device_of_calldata(&c1)), word_addr(&dev_device_id().0));
    assert_eq!(chain.view_word(is_registered_calldata(&c1, &f.model_a.id)), word_bool(true));
    println!("GAS register: {}", out.gas_used);

    let up = ok(chain.upgrade(&f.model_b, &f.b_c1));
    let hash_b = code_hash(&f.b_c1.instances).unwrap();
    assert_ne!(hash_a, hash_b);
    assert_eq!(up.logs[0].topics[0], event_topic(CODE_UPGRADED_EVENT));
    assert_eq!(up.logs[0].topics[1..], [c1, f.model_a.id, f.model_b.id]);
    assert_eq!(up.logs[0].data, hash_b.to_vec());
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_b.id)), hash_b);
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), hash_a, "policy: keep the old code");
    assert_eq!(chain.view_word(current_model_of_calldata(&c1)), f.model_b.id);
    println!("GAS upgrade: {}", up.gas_used);

    // Replaying the upgrade, or going back to the older model, is refused.
    let again = chain.upgrade(&f.model_b, &f.b_c1);
    reverts_with(&again, "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c1, f.model_b.id, f.model_b.id]);
    let back = chain.upgrade(&f.model_a, &f.a_c1);
    reverts_with(&back, "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c1, f.model_b.id, f.model_a.id]);
}

#[test]
fn upgrade_replaces_the_old_code_under_the_replace_policy_even_from_a_retired_model() {
    let f = fixture();
    let mut chain = deploy(true);
    ok(chain.admin(set_upgrade_policy_calldata(false)));
    let c1 = c_bytes(&f.a_c1);
    ok(chain.register(&f.model_a, &f.a_c1));
    // Model A is retired after C1 registered; C1 can still move to model B.
    ok(chain.admin(set_model_active_calldata(&f.model_a.id, false)));
    ok(chain.upgrade(&f.model_b, &f.b_c1));
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), [0u8; 32], "policy: replace");
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_b.id)), code_hash(&f.b_c1.instances).unwrap());
    // The replaced code stays claimed: C2 cannot take code X under model A (A is also inactive).
    ok(chain.admin(set_model_active_calldata(&f.model_a.id, true)));
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
    let out = chain.upgrade(b, &f.b_c1);
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
    other[ROW_COMMITMENT] = commitment(77);
    let sig77 = dev_device_key().sign_commitment(&fr_to_be(&other[ROW_COMMITMENT]));
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
    ok(chain.admin(set_model_active_calldata(&a.id, false)));
    reverts_with(&chain.register(a, p), "ModelInactive(bytes32)", &[a.id]);
    ok(chain.admin(set_model_active_calldata(&a.id, true)));

    // Thresholds other than the model's.
    let mut loose = p.instances.clone();
    loose[ROW_MIN_VALID_BITS] = Fr::from(1u64);
    let out = chain.call(register_calldata(&a.id, &p.proof, &loose, &sign(p)));
    reverts_with(&out, "ThresholdMismatch(uint256,uint256)", &[word_u64(1), [0u8; 32]]);
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
    let out = chain.call(revoke_device_calldata(&rogue.id()));
    reverts_with(&out, "NotOwner(address)", &[word_addr(&USER)]);
    let no_code = ModelEntry { verifier: [0x99; 20], ..entry(a, chain.verifier_a, true) };
    let out = chain.admin(set_model_calldata(&no_code));
    reverts_with(&out, "VerifierHasNoCode(address)", &[word_addr(&[0x99; 20])]);
    // A submission mode other than 0 and 1.
    let mut bad_mode = set_model_calldata(&entry(&f.model_m, chain.verifier_m, true));
    bad_mode[4 + 3 * 32 + 31] = 2;
    reverts_with(&chain.admin(bad_mode), "UnknownSubmissionMode(uint8)", &[word_u64(2)]);
}

#[test]
fn wrong_public_input_count_per_mode_reverts() {
    let f = fixture();
    let mut chain = deploy(true);
    let (a, m) = (&f.model_a, &f.model_m);
    let p = &f.a_c1;
    let s = &f.m_c4;
    // public-code takes 138: layout v1's 137, one too many, and an mpc-shares statement.
    let out = chain.call(register_calldata(&a.id, &p.proof, &p.instances[..137], &sign(p)));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(138), word_u64(137)]);
    let mut long = p.instances.clone();
    long.push(Fr::from(0u64));
    let out = chain.call(register_calldata(&a.id, &p.proof, &long, &sign(p)));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(138), word_u64(139)]);
    let out = chain.call(register_calldata(&a.id, &s.proof, &s.instances, &sign(s)));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(138), word_u64(7)]);
    // mpc-shares takes 7: a public-code statement, and 6.
    let out = chain.call(register_calldata(&m.id, &p.proof, &p.instances, &sign(p)));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(7), word_u64(138)]);
    let out = chain.call(register_calldata(&m.id, &s.proof, &s.instances[..6], &sign(s)));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(7), word_u64(6)]);
    // The same for upgrades (C1 registered under A; M is newer): the count is checked first.
    ok(chain.register(a, p));
    let out = chain.call(upgrade_calldata(&m.id, &f.b_c1.proof, &f.b_c1.instances));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(7), word_u64(138)]);
    let out = chain.call(upgrade_calldata(&f.model_b.id, &f.m_c1.proof, &f.m_c1.instances));
    reverts_with(&out, "WrongPublicInputCount(uint256,uint256)", &[word_u64(138), word_u64(7)]);
    // Nothing was stored by the failed calls; the right counts go through.
    assert_eq!(chain.view_word(current_model_of_calldata(&c_bytes(p))), a.id);
    ok(chain.register(m, s));
    ok(chain.upgrade(m, &f.m_c1));
}

#[test]
fn a_registration_lifted_by_another_account_reverts_with_the_binding_error() {
    let f = fixture();
    let mut chain = deploy(true);
    let (a, p) = (&f.model_a, &f.a_c1);
    // The registry computes the binding exactly as zkiris::public::Binding does.
    assert_eq!(chain.evm.chain_id(), CHAIN_ID);
    for account in [USER, OTHER, ISSUER, [0u8; 20]] {
        assert_eq!(chain.view_word(binding_for_calldata(&account)), fr_to_be(&binding(CHAIN_ID, account).to_field()));
    }
    assert_eq!(binding_word(p), fr_to_be(&binding(CHAIN_ID, USER).to_field()));

    // Account B replays A's exact transaction input (say, seen in the mempool).
    let calldata = register_calldata(&a.id, &p.proof, &p.instances, &sign(p));
    let expected_b = fr_to_be(&binding(CHAIN_ID, OTHER).to_field());
    let stolen = chain.call_from(OTHER, calldata.clone());
    reverts_with(&stolen, "BindingMismatch(uint256,uint256)", &[expected_b, binding_word(p)]);
    // The proof itself is valid (the bare verifier accepts it from anyone), and re-binding the
    // statement to B breaks it.
    ok(chain.evm.call(OTHER, chain.verifier_a, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    let rebound = with_binding(&p.instances, &binding(CHAIN_ID, OTHER));
    let out = chain.call_from(OTHER, register_calldata(&a.id, &p.proof, &rebound, &sign(p)));
    reverts_with(&out, "ProofRejected(bytes32)", &[a.id]);
    assert_eq!(chain.view_word(current_model_of_calldata(&c_bytes(p))), [0u8; 32]);

    // A's own submission of the same bytes succeeds.
    let out = ok(chain.call_from(USER, calldata));
    assert_eq!(out.output, code_hash(&p.instances).unwrap().to_vec());
    assert_eq!(chain.view_word(current_model_of_calldata(&c_bytes(p))), a.id);

    // mpc-shares statements are bound the same way.
    let m = &f.m_c4;
    let calldata = register_calldata(&f.model_m.id, &m.proof, &m.instances, &sign(m));
    reverts_with(&chain.call_from(OTHER, calldata.clone()), "BindingMismatch(uint256,uint256)", &[expected_b, binding_word(m)]);
    ok(chain.call_from(USER, calldata));
}

#[test]
fn an_upgrade_lifted_by_another_account_reverts_with_the_binding_error() {
    let f = fixture();
    let mut chain = deploy(true);
    let c1 = c_bytes(&f.a_c1);
    ok(chain.register(&f.model_a, &f.a_c1));
    for (model, p) in [(&f.model_b, &f.b_c1), (&f.model_m, &f.m_c1)] {
        let calldata = upgrade_calldata(&model.id, &p.proof, &p.instances);
        let stolen = chain.call_from(OTHER, calldata.clone());
        reverts_with(&stolen, "BindingMismatch(uint256,uint256)", &[fr_to_be(&binding(CHAIN_ID, OTHER).to_field()), binding_word(p)]);
        let rebound = with_binding(&p.instances, &binding(CHAIN_ID, OTHER));
        reverts_with(&chain.call_from(OTHER, upgrade_calldata(&model.id, &p.proof, &rebound)), "ProofRejected(bytes32)", &[model.id]);
        ok(chain.call_from(USER, calldata));
        assert_eq!(chain.view_word(current_model_of_calldata(&c1)), model.id);
    }
}

#[test]
fn an_unbound_proof_reverts() {
    let f = fixture();
    let mut chain = deploy(true);
    let p = &f.a_c1_unbound;
    assert_eq!(binding_word(p), [0u8; 32]);
    // A valid proof of a valid statement…
    ok(chain.evm.call(USER, chain.verifier_a, encode_verifier_calldata(&p.instances, &p.proof)).unwrap());
    // …that names no submitter: refused from anyone.
    for from in [USER, OTHER] {
        let out = chain.call_from(from, register_calldata(&f.model_a.id, &p.proof, &p.instances, &sign(p)));
        reverts_with(&out, "UnboundProof()", &[]);
    }
    ok(chain.register(&f.model_a, &f.a_c1));
    let mut zeroed = f.b_c1.instances.clone();
    zeroed[ROW_BINDING] = Fr::from(0u64);
    reverts_with(&chain.call(upgrade_calldata(&f.model_b.id, &f.b_c1.proof, &zeroed)), "UnboundProof()", &[]);
}

#[test]
fn a_proof_bound_to_another_chain_or_registry_reverts() {
    let f = fixture();
    let (a, p1, p2) = (&f.model_a, &f.a_c1, &f.a_c1_chain2);
    let on_1 = fr_to_be(&binding(1, USER).to_field());
    let on_2 = fr_to_be(&binding(2, USER).to_field());
    assert_eq!((binding_word(p1), binding_word(p2)), (on_1, on_2));

    // Chain 1: the chain-2 proof is refused, the chain-1 proof accepted.
    let mut chain1 = deploy(true);
    reverts_with(&chain1.call(register_calldata(&a.id, &p2.proof, &p2.instances, &sign(p2))), "BindingMismatch(uint256,uint256)", &[on_1, on_2]);

    // Chain 2, same deployer and nonces, so the same registry address: only the chain id differs.
    let mut chain2 = deploy_on(LocalEvm::with_chain_id(2), true);
    assert_eq!(chain2.evm.chain_id(), 2);
    assert_eq!(chain2.registry, chain1.registry);
    assert_eq!(chain2.view_word(binding_for_calldata(&USER)), on_2);
    reverts_with(&chain2.call(register_calldata(&a.id, &p1.proof, &p1.instances, &sign(p1))), "BindingMismatch(uint256,uint256)", &[on_2, on_1]);
    ok(chain2.call(register_calldata(&a.id, &p2.proof, &p2.instances, &sign(p2))));
    ok(chain1.call(register_calldata(&a.id, &p1.proof, &p1.instances, &sign(p1))));

    // Another registry deployment on chain 1 (another address) refuses the chain-1 proof too.
    let other_registry = chain1.evm.deploy(ISSUER, f.registry.deploy_code(&registry_constructor_args(true))).unwrap().address;
    assert_ne!(other_registry, chain1.registry);
    ok(chain1.evm.call(ISSUER, other_registry, set_model_calldata(&entry(a, chain1.verifier_a, true))).unwrap());
    ok(chain1.evm.call(ISSUER, other_registry, set_trusted_device_calldata(&dev_device_id(), true)).unwrap());
    let there = zkiris::public::Binding { chain_id: 1, registry: other_registry, account: USER };
    let out = chain1.evm.call(USER, other_registry, register_calldata(&a.id, &p1.proof, &p1.instances, &sign(p1))).unwrap();
    reverts_with(&out, "BindingMismatch(uint256,uint256)", &[fr_to_be(&there.to_field()), on_1]);
}

#[test]
fn a_revoked_device_blocks_register_and_upgrade_of_its_commitments_only() {
    let f = fixture();
    let mut chain = deploy(true);
    let d1 = dev_device_key();
    let d2 = DeviceKey::from_bytes(&[9u8; 32]).unwrap();
    ok(chain.admin(set_trusted_device_calldata(&d2.id(), true)));
    let (c1, c3) = (c_bytes(&f.a_c1), c_bytes(&f.a_c3));
    // C1 is signed by device 1, C3 by device 2.
    ok(chain.register(&f.model_a, &f.a_c1));
    ok(chain.call(register_calldata(&f.model_a.id, &f.a_c3.proof, &f.a_c3.instances, &d2.sign_commitment(&c3))));
    assert_eq!(chain.view_word(device_of_calldata(&c1)), word_addr(&d1.id().0));
    assert_eq!(chain.view_word(device_of_calldata(&c3)), word_addr(&d2.id().0));

    // Only the owner revokes; the revocation is an event.
    reverts_with(&chain.call(revoke_device_calldata(&d1.id())), "NotOwner(address)", &[word_addr(&USER)]);
    reverts_with(&chain.admin(revoke_device_calldata(&DeviceId([0; 20]))), "ZeroAddress()", &[]);
    let out = ok(chain.admin(revoke_device_calldata(&d1.id())));
    assert_eq!(out.logs.len(), 1);
    assert_eq!(out.logs[0].topics, vec![event_topic(DEVICE_REVOKED_EVENT), word_addr(&d1.id().0)]);
    assert_eq!(decode_registry_event(&out.logs[0].topics, &out.logs[0].data), Some(RegistryEvent::DeviceRevoked { device: d1.id().0 }));
    assert_eq!(chain.view_word(is_revoked_calldata(&c1)), word_bool(true));
    assert_eq!(chain.view_word(is_registered_calldata(&c1, &f.model_a.id)), word_bool(false));
    assert_eq!(chain.view_word(is_revoked_calldata(&c3)), word_bool(false));
    assert_eq!(chain.view_word(is_registered_calldata(&c3, &f.model_a.id)), word_bool(true));

    // Device 1's commitments: no upgrade (to either mode), no new registration.
    let d1_word = word_addr(&d1.id().0);
    reverts_with(&chain.upgrade(&f.model_b, &f.b_c1), "RevokedDevice(address)", &[d1_word]);
    reverts_with(&chain.upgrade(&f.model_m, &f.m_c1), "RevokedDevice(address)", &[d1_word]);
    reverts_with(&chain.register(&f.model_a, &f.a_c2_same_code), "RevokedDevice(address)", &[d1_word]);
    reverts_with(&chain.register(&f.model_m, &f.m_c4), "RevokedDevice(address)", &[d1_word]);
    // It cannot be trusted again.
    reverts_with(&chain.admin(set_trusted_device_calldata(&d1.id(), true)), "RevokedDevice(address)", &[d1_word]);
    ok(chain.admin(set_trusted_device_calldata(&d1.id(), false)));

    // Device 2's commitments are unaffected.
    ok(chain.upgrade(&f.model_b, &f.b_c3));
    ok(chain.call(register_calldata(&f.model_m.id, &f.m_c4.proof, &f.m_c4.instances, &d2.sign_commitment(&c_bytes(&f.m_c4)))));
    assert_eq!(chain.view_word(is_registered_calldata(&c_bytes(&f.m_c4), &f.model_m.id)), word_bool(true));
}

#[test]
fn ownership_moves_in_two_steps() {
    let mut chain = deploy(true);
    const NEW: [u8; 20] = [0x77; 20];
    const RANDOM: [u8; 20] = [0x99; 20];
    assert_eq!(chain.view_word(owner_calldata()), word_addr(&ISSUER));
    assert_eq!(chain.view_word(pending_owner_calldata()), [0u8; 32]);
    reverts_with(&chain.call_from(NEW, transfer_ownership_calldata(&NEW)), "NotOwner(address)", &[word_addr(&NEW)]);

    let out = ok(chain.admin(transfer_ownership_calldata(&NEW)));
    assert_eq!(decode_registry_event(&out.logs[0].topics, &out.logs[0].data), Some(RegistryEvent::OwnershipTransferStarted { owner: ISSUER, new_owner: NEW }));
    assert_eq!(chain.view_word(pending_owner_calldata()), word_addr(&NEW));
    // Until accepted, the old owner keeps every power and the new one has none.
    assert_eq!(chain.view_word(owner_calldata()), word_addr(&ISSUER));
    ok(chain.admin(set_upgrade_policy_calldata(false)));
    reverts_with(&chain.call_from(NEW, set_upgrade_policy_calldata(true)), "NotOwner(address)", &[word_addr(&NEW)]);
    // Nobody else can accept.
    for who in [RANDOM, ISSUER, USER] {
        reverts_with(&chain.call_from(who, accept_ownership_calldata()), "NotPendingOwner(address)", &[word_addr(&who)]);
    }

    let out = ok(chain.call_from(NEW, accept_ownership_calldata()));
    assert_eq!(
        decode_registry_event(&out.logs[0].topics, &out.logs[0].data),
        Some(RegistryEvent::OwnershipTransferred { previous_owner: ISSUER, new_owner: NEW })
    );
    assert_eq!(chain.view_word(owner_calldata()), word_addr(&NEW));
    assert_eq!(chain.view_word(pending_owner_calldata()), [0u8; 32]);
    reverts_with(&chain.admin(set_upgrade_policy_calldata(true)), "NotOwner(address)", &[word_addr(&ISSUER)]);
    ok(chain.call_from(NEW, set_upgrade_policy_calldata(true)));
    reverts_with(&chain.call_from(NEW, accept_ownership_calldata()), "NotPendingOwner(address)", &[word_addr(&NEW)]);

    // A pending transfer can be cancelled (zero address): the named account can no longer accept.
    ok(chain.call_from(NEW, transfer_ownership_calldata(&RANDOM)));
    ok(chain.call_from(NEW, transfer_ownership_calldata(&[0u8; 20])));
    reverts_with(&chain.call_from(RANDOM, accept_ownership_calldata()), "NotPendingOwner(address)", &[word_addr(&RANDOM)]);
    assert_eq!(chain.view_word(owner_calldata()), word_addr(&NEW));
    ok(chain.call_from(NEW, revoke_device_calldata(&DeviceId([5; 20]))));
}

#[test]
fn set_model_cannot_lower_the_version_of_a_registered_model() {
    let f = fixture();
    let mut chain = deploy(true);
    let (a, b) = (&f.model_a, &f.model_b);
    let model = |chain: &mut Chain, m: &Model| decode_model(&m.id, &ok(chain.call(models_calldata(&m.id))).output).unwrap();
    // Without registrations the issuer may still change anything.
    let lowered_b = ModelEntry { version: 0, ..entry(b, chain.verifier_b, true) };
    ok(chain.admin(set_model_calldata(&lowered_b)));
    assert_eq!(model(&mut chain, b).entry.version, 0);
    ok(chain.admin(set_model_calldata(&entry(b, chain.verifier_b, true))));
    let as_mpc = ModelEntry { submission: Submission::MpcShares, ..entry(a, chain.verifier_a, true) };
    ok(chain.admin(set_model_calldata(&as_mpc)));
    ok(chain.admin(set_model_calldata(&entry(a, chain.verifier_a, true))));

    ok(chain.register(a, &f.a_c1));
    let ma = model(&mut chain, a);
    assert_eq!((ma.registrations, ma.entry.clone()), (1, entry(a, chain.verifier_a, true)));
    let lowered_a = ModelEntry { version: 0, ..entry(a, chain.verifier_a, true) };
    reverts_with(&chain.admin(set_model_calldata(&lowered_a)), "VersionLowered(bytes32,uint64,uint64)", &[a.id, word_u64(1), word_u64(0)]);
    reverts_with(&chain.admin(set_model_calldata(&as_mpc)), "SubmissionModeFixed(bytes32,uint8)", &[a.id, word_u64(0)]);
    // The same version with other settings, or a higher one, is fine; the count survives.
    ok(chain.admin(set_model_calldata(&entry(a, chain.verifier_a, false))));
    ok(chain.admin(set_model_calldata(&entry(a, chain.verifier_a, true))));
    assert_eq!(model(&mut chain, a).registrations, 1);

    // Upgrades count too: once C1 moved to B, B's version cannot drop back below A's.
    ok(chain.upgrade(b, &f.b_c1));
    assert_eq!(model(&mut chain, b).registrations, 1);
    let lowered_b = ModelEntry { version: 1, ..entry(b, chain.verifier_b, true) };
    reverts_with(&chain.admin(set_model_calldata(&lowered_b)), "VersionLowered(bytes32,uint64,uint64)", &[b.id, word_u64(2), word_u64(1)]);
    // Had it been allowed, this "upgrade" back to A would now pass the version check.
    reverts_with(&chain.upgrade(a, &f.a_c1), "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c_bytes(&f.a_c1), b.id, a.id]);
}

/// `registerBatch`'s own checks, before and around the aggregated proof (the honest batch with a
/// real aggregation proof is in `core/tests/aggregation.rs`): who sets aggregation verifiers and
/// for what, the batch's shape, each statement's registration checks, and that an aggregation
/// verifier stays tied to the model verifier it was set for. The "aggregation verifier" here is
/// model A's verifier, which rejects every batch: so a batch that passes every other check
/// reverts `ProofRejected` and stores nothing.
#[test]
fn register_batch_checks_its_shape_and_ties_the_aggregation_verifier_to_the_model() {
    let f = fixture();
    let mut chain = deploy(true);
    let (m, p1, p2) = (&f.model_m, &f.m_c4, &f.m_c1);
    let stand_in = chain.verifier_a;
    let set = |n: u64, v: &[u8; 20]| set_aggregation_verifier_calldata(&m.id, n, v);

    // Administration: owner only, known model, 1 ≤ N ≤ 64, a contract (or zero to remove).
    reverts_with(&chain.call(set(2, &stand_in)), "NotOwner(address)", &[word_addr(&USER)]);
    reverts_with(&chain.admin(set_aggregation_verifier_calldata(&[9; 32], 2, &stand_in)), "UnknownModel(bytes32)", &[[9; 32]]);
    reverts_with(&chain.admin(set(0, &stand_in)), "BadBatchSize(uint256)", &[word_u64(0)]);
    reverts_with(&chain.admin(set(65, &stand_in)), "BadBatchSize(uint256)", &[word_u64(65)]);
    reverts_with(&chain.admin(set(2, &OTHER)), "VerifierHasNoCode(address)", &[word_addr(&OTHER)]);
    ok(chain.admin(set(2, &stand_in)));
    let view = ok(chain.call(aggregation_of_calldata(&m.id, 2))).output;
    assert_eq!(view, [word_addr(&stand_in), word_addr(&chain.verifier_m)].concat(), "tied to model M's verifier");

    let limbs = vec![[0u8; 32]; 12];
    let instances: Vec<[u8; 32]> = [limbs.clone(), p1.instances.iter().map(fr_to_be).collect(), p2.instances.iter().map(fr_to_be).collect()].concat();
    let sigs = [sign(p1), sign(p2)];
    let batch =
        |instances: &[[u8; 32]], accounts: &[[u8; 20]], sigs: &[EnrollmentSignature]| register_batch_calldata(&m.id, &[1, 2, 3], instances, accounts, sigs);

    // The batch's shape.
    reverts_with(&chain.call(batch(&limbs, &[], &[])), "BadBatchSize(uint256)", &[word_u64(0)]);
    reverts_with(&chain.call(batch(&instances, &[USER, USER], &sigs[..1])), "WrongSignatureBytes(uint256,uint256)", &[word_u64(130), word_u64(65)]);
    reverts_with(
        &chain.call(batch(&instances, &[USER, USER, USER], &[sigs[0], sigs[1], sigs[1]])),
        "NoAggregationVerifier(bytes32,uint256)",
        &[m.id, word_u64(3)],
    );
    reverts_with(&chain.call(batch(&instances[..25], &[USER, USER], &sigs)), "WrongPublicInputCount(uint256,uint256)", &[word_u64(26), word_u64(25)]);
    // Each statement's checks: its binding (to its own account, not the relayer's), its
    // device signature, no commitment twice.
    reverts_with(
        &chain.call(batch(&instances, &[USER, OTHER], &sigs)),
        "BindingMismatch(uint256,uint256)",
        &[fr_to_be(&binding(CHAIN_ID, OTHER).to_field()), binding_word(p2)],
    );
    reverts_with(&chain.call(batch(&instances, &[USER, USER], &[sigs[1], sigs[0]])), "UntrustedDevice(address)", &[word_addr(&recovered(&sigs[1], p1))]);
    let twice: Vec<[u8; 32]> = [limbs.clone(), p1.instances.iter().map(fr_to_be).collect(), p1.instances.iter().map(fr_to_be).collect()].concat();
    reverts_with(&chain.call(batch(&twice, &[USER, USER], &[sigs[0], sigs[0]])), "AlreadyRegistered(bytes32,bytes32)", &[c_bytes(p1), m.id]);
    // Every check passes, from a relayer that is neither account: the proof decides (and this
    // stand-in rejects it), and nothing is stored.
    reverts_with(&chain.call_from(OTHER, batch(&instances, &[USER, USER], &sigs)), "ProofRejected(bytes32)", &[m.id]);
    assert_eq!(chain.view_word(is_registered_calldata(&c_bytes(p1), &m.id)), word_bool(false));
    // A new verifier for model M (a new key) disables the aggregation verifier made for the old one.
    ok(chain.admin(set_model_calldata(&entry(m, chain.verifier_b, true))));
    reverts_with(&chain.call(batch(&instances, &[USER, USER], &sigs)), "NoAggregationVerifier(bytes32,uint256)", &[m.id, word_u64(2)]);
    ok(chain.admin(set(2, &stand_in)));
    reverts_with(&chain.call(batch(&instances, &[USER, USER], &sigs)), "ProofRejected(bytes32)", &[m.id]);
    // Removing it.
    ok(chain.admin(set(2, &[0; 20])));
    reverts_with(&chain.call(batch(&instances, &[USER, USER], &sigs)), "NoAggregationVerifier(bytes32,uint256)", &[m.id, word_u64(2)]);
}

#[test]
fn upgrade_batch_checks_each_statement_like_upgrade_and_stores_nothing_when_the_proof_fails() {
    // The real aggregated upgrade is in core/tests/aggregation.rs; here, every check before the
    // proof, with a stand-in aggregation verifier that rejects every proof.
    let f = fixture();
    let mut chain = deploy(false);
    let (b, p1, p3) = (&f.model_b, &f.b_c1, &f.b_c3);
    let stand_in = chain.verifier_a;
    let limbs = vec![[0u8; 32]; 12];
    let words = |p: &Proven| -> Vec<[u8; 32]> { p.instances.iter().map(fr_to_be).collect() };
    let instances = [limbs.clone(), words(p1), words(p3)].concat();
    let batch = |instances: &[[u8; 32]], accounts: &[[u8; 20]]| upgrade_batch_calldata(&b.id, &[1, 2, 3], instances, accounts);

    // The batch's shape: its size, an aggregation verifier for it, the input count.
    reverts_with(&chain.call(batch(&limbs, &[])), "BadBatchSize(uint256)", &[word_u64(0)]);
    reverts_with(&chain.call(batch(&instances, &[USER; 65])), "BadBatchSize(uint256)", &[word_u64(65)]);
    reverts_with(&chain.call(batch(&instances, &[USER, USER])), "NoAggregationVerifier(bytes32,uint256)", &[b.id, word_u64(2)]);
    ok(chain.admin(set_aggregation_verifier_calldata(&b.id, 2, &stand_in)));
    let n = (12 + 2 * PUBLIC_CODE_INSTANCES) as u64;
    reverts_with(
        &chain.call(batch(&instances[..instances.len() - 1], &[USER, USER])),
        "WrongPublicInputCount(uint256,uint256)",
        &[word_u64(n), word_u64(n - 1)],
    );

    // Each statement gets `upgrade`'s checks: registered, bound to its own account (not the
    // relayer's), a newer model than the current one (the same commitment twice is not),
    // its device not revoked.
    ok(chain.register(&f.model_a, &f.a_c1));
    reverts_with(&chain.call(batch(&instances, &[USER, USER])), "NotRegistered(bytes32)", &[c_bytes(p3)]);
    ok(chain.register(&f.model_a, &f.a_c3));
    reverts_with(
        &chain.call(batch(&instances, &[USER, OTHER])),
        "BindingMismatch(uint256,uint256)",
        &[fr_to_be(&binding(CHAIN_ID, OTHER).to_field()), binding_word(p3)],
    );
    let twice = [limbs.clone(), words(p1), words(p1)].concat();
    reverts_with(&chain.call(batch(&twice, &[USER, USER])), "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c_bytes(p1), b.id, b.id]);

    // Every check passes, from a relayer that is neither account: the proof decides (the
    // stand-in rejects it), and nothing is stored — both commitments stay under model A with
    // their records (the policy here deletes the old record on an upgrade).
    reverts_with(&chain.call_from(OTHER, batch(&instances, &[USER, USER])), "ProofRejected(bytes32)", &[b.id]);
    for p in [p1, p3] {
        assert_eq!(chain.view_word(current_model_of_calldata(&c_bytes(p))), f.model_a.id);
        assert_eq!(chain.view_word(is_registered_calldata(&c_bytes(p), &f.model_a.id)), word_bool(true));
        assert_eq!(chain.view_word(is_registered_calldata(&c_bytes(p), &b.id)), word_bool(false));
    }
    // A new verifier for model B disables the aggregation verifier made for the old one.
    ok(chain.admin(set_model_calldata(&entry(b, chain.verifier_m, true))));
    reverts_with(&chain.call(batch(&instances, &[USER, USER])), "NoAggregationVerifier(bytes32,uint256)", &[b.id, word_u64(2)]);
    ok(chain.admin(set_model_calldata(&entry(b, chain.verifier_b, true))));
    ok(chain.admin(set_aggregation_verifier_calldata(&b.id, 2, &stand_in)));
    // A revoked enrollment device blocks the upgrade of every commitment it signed.
    ok(chain.admin(revoke_device_calldata(&dev_device_id())));
    reverts_with(&chain.call(batch(&instances, &[USER, USER])), "RevokedDevice(address)", &[word_addr(&dev_device_id().0)]);
}

/// The address a signature made for another commitment recovers to over `p`'s commitment.
fn recovered(sig: &EnrollmentSignature, p: &Proven) -> [u8; 20] {
    sig.recover(&c_bytes(p)).expect("recovers some address").0
}

#[test]
fn mpc_shares_register_stores_the_share_hash_and_emits_the_shares() {
    let f = fixture();
    let mut chain = deploy(true);
    let (m, p) = (&f.model_m, &f.m_c4);
    let c4 = c_bytes(p);
    let calldata = register_calldata(&m.id, &p.proof, &p.instances, &sign(p));

    // The calldata: selector, 4 head words, proof, the 7-word input array, the signature —
    // nothing else, so no code word can be in it.
    assert_eq!(p.instances.len(), MPC_SHARES_INSTANCES);
    let body = &calldata[4..];
    let at = |i: usize| u64::from_be_bytes(body[i + 24..i + 32].try_into().unwrap()) as usize;
    let inputs = at(64);
    assert_eq!(at(inputs), 7);
    for (i, x) in p.instances.iter().enumerate() {
        assert_eq!(body[inputs + 32 + 32 * i..inputs + 64 + 32 * i], fr_to_be(x));
    }
    assert_eq!(calldata.len(), 4 + 4 * 32 + 32 + p.proof.len().div_ceil(32) * 32 + 32 + 7 * 32 + 32 + 96);
    for (seed, code) in [(5, support::code(5)), (1005, support::code(1005))] {
        for w in pack_code(&code).unwrap() {
            assert!(!calldata.windows(32).any(|x| x == fr_to_be(&w)), "code word of seed {seed}");
        }
    }

    let out = ok(chain.call(calldata));
    let hash = share_hash(&p.instances).unwrap();
    assert_eq!(out.output, hash.to_vec(), "register returns the share hash");
    assert_eq!(out.logs.len(), 1);
    let log = &out.logs[0];
    assert_eq!(log.topics[0], event_topic(SHARES_REGISTERED_EVENT));
    let shares = [p.instances[ROW_SHARE_COMMITMENTS], p.instances[ROW_SHARE_COMMITMENTS + 1], p.instances[ROW_SHARE_COMMITMENTS + 2]];
    assert_eq!(
        decode_registry_event(&log.topics, &log.data),
        Some(RegistryEvent::SharesRegistered { commitment: c4, model_id: m.id, device: dev_device_id().0, share_hash: hash, shares })
    );
    assert_eq!(chain.view_word(share_hash_of_calldata(&c4, &m.id)), hash);
    assert_eq!(chain.view_word(code_hash_of_calldata(&c4, &m.id)), [0u8; 32], "no code hash in mpc-shares mode");
    assert_eq!(chain.view_word(current_model_of_calldata(&c4)), m.id);
    assert_eq!(chain.view_word(is_registered_calldata(&c4, &m.id)), word_bool(true));
    println!("GAS register (mpc-shares): {}", out.gas_used);
    reverts_with(&chain.register(m, p), "AlreadyRegistered(bytes32,bytes32)", &[c4, m.id]);
    // Tampering with one share commitment breaks the proof.
    let mut bad = p.instances.clone();
    bad[ROW_SHARE_COMMITMENTS + 2] += Fr::from(1u64);
    let other = commitment(40);
    bad[ROW_COMMITMENT] = other;
    let out = chain.call(register_calldata(&m.id, &p.proof, &bad, &dev_device_key().sign_commitment(&fr_to_be(&other))));
    reverts_with(&out, "ProofRejected(bytes32)", &[m.id]);
}

#[test]
fn upgrade_from_public_code_to_mpc_shares_emits_the_shares() {
    let f = fixture();
    let mut chain = deploy(true);
    ok(chain.admin(set_upgrade_policy_calldata(false)));
    let c1 = c_bytes(&f.a_c1);
    ok(chain.register(&f.model_a, &f.a_c1));
    let up = ok(chain.upgrade(&f.model_m, &f.m_c1));
    let hash = share_hash(&f.m_c1.instances).unwrap();
    assert_eq!(up.output, hash.to_vec());
    let s = &f.m_c1.instances[ROW_SHARE_COMMITMENTS..];
    assert_eq!(
        decode_registry_event(&up.logs[0].topics, &up.logs[0].data),
        Some(RegistryEvent::SharesUpgraded { commitment: c1, old_model: f.model_a.id, new_model: f.model_m.id, share_hash: hash, shares: [s[0], s[1], s[2]] })
    );
    assert_eq!(chain.view_word(share_hash_of_calldata(&c1, &f.model_m.id)), hash);
    assert_eq!(chain.view_word(code_hash_of_calldata(&c1, &f.model_a.id)), [0u8; 32], "policy: replace");
    assert_eq!(chain.view_word(current_model_of_calldata(&c1)), f.model_m.id);
    println!("GAS upgrade (public-code -> mpc-shares): {}", up.gas_used);
    // Back to a public-code model of a lower version is not an upgrade.
    reverts_with(&chain.upgrade(&f.model_b, &f.b_c1), "NotAnUpgrade(bytes32,bytes32,bytes32)", &[c1, f.model_m.id, f.model_b.id]);
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
    // mpc-shares: C4 registers, C1 moves on from model B to model M.
    let m = &f.m_c4;
    let m_verify_cd = encode_verifier_calldata(&m.instances, &m.proof);
    let m_register_cd = register_calldata(&f.model_m.id, &m.proof, &m.instances, &sign(m));
    let m_upgrade_cd = upgrade_calldata(&f.model_m.id, &f.m_c1.proof, &f.m_c1.instances);
    let m_verify = ok(chain.evm.call(USER, chain.verifier_m, m_verify_cd.clone()).unwrap()).gas_used;
    let m_register = ok(chain.call(m_register_cd.clone())).gas_used;
    let m_upgrade = ok(chain.call(m_upgrade_cd.clone())).gas_used;
    // The same verifier as one (over-sized) contract, on a chain without the EIP-170 limit.
    let mut unlimited = LocalEvm::without_code_size_limit();
    let whole = f.solc.compile_contract(&[("Halo2Verifier.sol", f.model_a.source.solidity())], VERIFIER_CONTRACT).unwrap();
    let single = unlimited.deploy(ISSUER, whole.creation_code).unwrap().address;
    let verify_single = ok(unlimited.call(USER, single, verify_cd.clone()).unwrap()).gas_used;

    let row = |name: &str, gas: u64, cd: &[u8]| {
        let data = calldata_gas(cd);
        println!("| {name} | {gas} | {data} | {} |", gas - 21_000 - data);
    };
    println!(
        "| transaction (stand-in circuit; public-code: {} public inputs, proof {} bytes; mpc-shares: {} inputs, proof {} bytes) | gas | calldata gas | execution gas |",
        p.instances.len(),
        p.proof.len(),
        m.instances.len(),
        m.proof.len()
    );
    println!("|---|---|---|---|");
    let parts = |c: &zkiris::evm::CompiledVerifier| c.parts().len();
    row(&format!("public-code verify: direct call, verifier split in {} contracts", parts(&f.model_a.compiled)), verify, &verify_cd);
    row("public-code verify: direct call, one contract (over EIP-170, not deployable on mainnet)", verify_single, &verify_cd);
    row("public-code register (verify + checks + binding + signature + 4 new slots + event)", register, &register_cd);
    row("public-code upgrade (verify + checks + binding + 2 new slots, 2 updates + event, keep policy)", upgrade, &upgrade_cd);
    row(&format!("mpc-shares verify: direct call, {} contract(s)", parts(&f.model_m.compiled)), m_verify, &m_verify_cd);
    row("mpc-shares register (verify + checks + binding + signature + 3 new slots + event with S_1..S_3)", m_register, &m_register_cd);
    row("mpc-shares upgrade (from public-code; 1 new slot, 2 updates + event with S_1..S_3)", m_upgrade, &m_upgrade_cd);
    println!(
        "GAS summary: public-code verify {verify} register {register} upgrade {upgrade}; mpc-shares verify {m_verify} register {m_register} upgrade {m_upgrade}"
    );
    // The registry's own overhead on top of verification (signature check, input checks,
    // binding, hashing, storage, event) must stay small for the real circuit to meet its
    // targets. Most of it is storage: 4 new slots for public-code (code hash, current model,
    // code claim, device), 3 for mpc-shares.
    assert!(register - verify < 150_000, "public-code register overhead {} gas", register - verify);
    assert!(m_register - m_verify < 115_000, "mpc-shares register overhead {} gas", m_register - m_verify);
    assert!(upgrade < register);
    // Seven inputs instead of 138: less calldata and a cheaper verifier.
    assert!(m_verify < verify && m_register < register, "mpc-shares {m_verify}/{m_register} vs public-code {verify}/{register}");
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
    let f = fixture();
    let instances = support::statement(&f.model_a, commitment(5), 5, Some(binding(CHAIN_ID, USER)));
    assert_eq!(instances.len(), PUBLIC_CODE_INSTANCES);
    let circuit = |inst: &Vec<Fr>| StandInCircuit::new(1, Submission::PublicCode, Some(inst.clone()));
    MockProver::run(K, &circuit(&instances), vec![instances.clone()]).unwrap().assert_satisfied();
    // 2^248 does not fit in 31 bytes: the byte decomposition cannot reach it, so the copy of
    // instance row 4 (the first code word) into the circuit fails.
    let mut big = instances.clone();
    big[ROW_CODE] = Fr::from(2u64).pow_vartime([248u64]);
    let failures = MockProver::run(K, &circuit(&big), vec![big]).unwrap().verify().unwrap_err();
    assert!(
        failures.iter().any(|f| matches!(f,
            VerifyFailure::Permutation { column, location: FailureLocation::OutsideRegion { row: 4 } }
                if column.column_type() == Any::Instance)),
        "{failures:?}"
    );
    // The last word of a code holds 2 bytes: 2^16 is out of range there (row 4 + 66).
    let mut big = instances.clone();
    big[ROW_CODE + 66] = Fr::from(1u64 << 16);
    let failures = MockProver::run(K, &circuit(&big), vec![big]).unwrap().verify().unwrap_err();
    assert!(failures.iter().any(|f| matches!(f, VerifyFailure::Permutation { location: FailureLocation::OutsideRegion { row: 70 }, .. })));

    // mpc-shares: 7 inputs, all copied into the circuit.
    let shares = support::statement(&f.model_m, commitment(5), 5, Some(binding(CHAIN_ID, USER)));
    assert_eq!(shares.len(), MPC_SHARES_INSTANCES);
    let mpc = StandInCircuit::new(3, Submission::MpcShares, Some(shares.clone()));
    MockProver::run(K, &mpc, vec![shares.clone()]).unwrap().assert_satisfied();
    // The witness disagreeing with the instance on a share commitment or the binding fails.
    for row in [ROW_BINDING, ROW_SHARE_COMMITMENTS + 1] {
        let mut other = shares.clone();
        other[row] += Fr::ONE;
        let failures = MockProver::run(K, &mpc, vec![other]).unwrap().verify().unwrap_err();
        assert!(
            failures.iter().any(|f| matches!(f,
                VerifyFailure::Permutation { location: FailureLocation::OutsideRegion { row: r }, .. } if *r == row)),
            "row {row}: {failures:?}"
        );
    }
}

#[test]
fn mpc_verifier_needs_every_fixed_column_used() {
    // A pitfall found while building the mpc-shares stand-in, kept as a test because the real
    // mpc-shares circuit must avoid it too: if a complex selector is never enabled, its fixed
    // column is all zero (its commitment is the point at infinity). halo2 verifies such proofs
    // natively, but the snark-verifier EVM verifier rejects every one of them.
    use halo2_proofs::plonk::{keygen_pk, keygen_vk};
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
    use support::standin::StandInCircuit;
    use zkiris::testkit::prove_evm;
    let f = fixture();
    let instances = f.m_c4.instances.clone();
    let circuit = StandInCircuit { skip_private_range_check: true, ..StandInCircuit::new(3, Submission::MpcShares, None) };
    let vk = keygen_vk(&f.params, &circuit).unwrap();
    let pk = keygen_pk(&f.params, vk, &circuit).unwrap();
    let source = VerifierSource::render(&f.params, pk.get_vk(), instances.len()).unwrap();
    let witness = StandInCircuit { instances: Some(instances.clone()), ..circuit };
    let proof = prove_evm(&f.params, &pk, witness, &instances, ChaCha20Rng::seed_from_u64(9)).unwrap();
    verify_native_evm(&f.params, pk.get_vk(), &instances, &proof).expect("halo2 accepts the proof");
    let mut evm = LocalEvm::without_code_size_limit();
    let whole = f.solc.compile_contract(&[("Halo2Verifier.sol", source.solidity())], VERIFIER_CONTRACT).unwrap();
    let verifier = evm.deploy(ISSUER, whole.creation_code).unwrap().address;
    let out = evm.call(USER, verifier, encode_verifier_calldata(&instances, &proof)).unwrap();
    assert!(!out.success, "the EVM verifier accepted a proof of a circuit with an all-zero fixed column");
    // The fixture's mpc-shares stand-in (the same circuit with the selector used) verifies.
    let entry = f.model_m.compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    ok(evm.call(USER, entry, encode_verifier_calldata(&f.m_c4.instances, &f.m_c4.proof)).unwrap());
}
