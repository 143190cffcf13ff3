//! A local deployment of `IrisCodeRegistry` with real verifiers (feature `evm-test`, host only).
//!
//! [`LocalRegistry`] is what an issuer and a user do on chain, run in [`super::revm::LocalEvm`]:
//! deploy the registry, publish a model (render its verifier from the verifying key, compile it
//! with the pinned solc, deploy it, `setModel` with the model's submission mode), trust an
//! enrollment device, then `register` a first code (or share set) and `upgrade` it under a newer
//! model. Every call returns its gas, so the CLI's demo and benchmarks report what a contract
//! developer would pay.
//!
//! Proofs are bound to their submitter (public-input layout v2, [`crate::public::Binding`]):
//! prove with [`LocalRegistry::binding`] of the account that will call `register`/`upgrade`
//! (`prover::ProveOptions::binding`); the registry refuses the proof from any other account.

use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::VerifyingKey,
    poly::kzg::commitment::ParamsKZG,
};

use super::{
    calldata::{
        encode_verifier_calldata, register_batch_calldata, register_calldata, registry_constructor_args, registry_layout, revoke_device_calldata,
        set_aggregation_verifier_calldata, set_model_calldata, set_trusted_device_calldata, upgrade_batch_calldata, upgrade_calldata, ModelEntry,
        MPC_SHARES_INSTANCES, PUBLIC_CODE_INSTANCES,
    },
    revm::{CallOutcome, LocalEvm, RevmError},
    solc::{CompiledContract, Solc, SolcError},
    verifier::{VerifierError, VerifierSource},
};
use crate::{
    attest::{DeviceId, EnrollmentSignature},
    prover::ProofBundle,
    public::{Binding, Submission},
};

/// The registry contract's Solidity source (`contracts/IrisCodeRegistry.sol`), built in.
pub const REGISTRY_SOURCE: &str = include_str!("../../../contracts/IrisCodeRegistry.sol");
/// Name of the registry contract in [`REGISTRY_SOURCE`].
pub const REGISTRY_CONTRACT: &str = "IrisCodeRegistry";

/// Errors from the local registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The compiler failed or is missing.
    #[error(transparent)]
    Solc(#[from] SolcError),
    /// The verifier could not be generated.
    #[error(transparent)]
    Verifier(#[from] VerifierError),
    /// The EVM failed to execute a transaction.
    #[error(transparent)]
    Evm(#[from] RevmError),
    /// A transaction reverted.
    #[error("{call} reverted (gas {gas_used}): 0x{output}")]
    Reverted {
        /// Which call.
        call: &'static str,
        /// Gas used until the revert.
        gas_used: u64,
        /// Revert data, hex.
        output: String,
    },
    /// The bundle cannot be submitted.
    #[error("the proof bundle cannot be submitted: {0}")]
    Bundle(String),
    /// A model version is not `MAJOR.MINOR.PATCH` with each part below 1000.
    #[error("model version `{0}` is not MAJOR.MINOR.PATCH with parts below 1000")]
    Version(String),
}

/// The registry's `uint64` version of a model: `MAJOR·10⁶ + MINOR·10³ + PATCH`, so a later
/// semantic version is always a larger number (the registry only upgrades forwards).
pub fn registry_version(version: &str) -> Result<u64, RegistryError> {
    let bad = || RegistryError::Version(version.to_string());
    let parts: Vec<u64> = version.split('.').map(|p| p.parse::<u64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
    match parts[..] {
        [a, b, c] if a < 1000 && b < 1000 && c < 1000 => Ok(a * 1_000_000 + b * 1_000 + c),
        _ => Err(bad()),
    }
}

/// A model published on the local chain.
#[derive(Clone, Debug)]
pub struct PublishedModel {
    /// Entry address of its verifier.
    pub verifier: [u8; 20],
    /// Number of verifier contracts (more than one when split for EIP-170).
    pub verifier_parts: usize,
    /// Largest runtime code of a verifier part, bytes.
    pub largest_part_bytes: usize,
    /// Gas to deploy all parts.
    pub deploy_gas: u64,
}

/// The gas of one submitted transaction.
#[derive(Clone, Copy, Debug)]
pub struct Submitted {
    /// Gas used, including the 21,000 base and calldata.
    pub gas_used: u64,
    /// Calldata bytes.
    pub calldata_bytes: usize,
}

/// The registry and its verifiers in a local EVM.
pub struct LocalRegistry {
    evm: LocalEvm,
    solc: Solc,
    owner: [u8; 20],
    address: [u8; 20],
}

impl std::fmt::Debug for LocalRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalRegistry(0x{})", hex::encode(self.address))
    }
}

fn ok(call: &'static str, out: CallOutcome) -> Result<CallOutcome, RegistryError> {
    if out.success {
        Ok(out)
    } else {
        Err(RegistryError::Reverted { call, gas_used: out.gas_used, output: hex::encode(&out.output) })
    }
}

/// Whether the registry contract accepts bundles of this shape: public-input layout v2 of the
/// bundle's submission mode with 2048-byte codes (138 inputs for public-code, 7 for
/// mpc-shares).
pub fn registry_accepts(bundle: &ProofBundle) -> bool {
    registry_layout(bundle.submission).len() == bundle.public_inputs.len()
}

/// The public inputs of a bundle as field elements, checked against layout v2.
fn instances(bundle: &ProofBundle) -> Result<Vec<Fr>, RegistryError> {
    if !registry_accepts(bundle) {
        return Err(RegistryError::Bundle(format!(
            "{} public inputs; the registry takes layout v2 ({PUBLIC_CODE_INSTANCES} for public-code with 2048-byte codes, {MPC_SHARES_INSTANCES} for mpc-shares)",
            bundle.public_inputs.len()
        )));
    }
    bundle.instances().map_err(|e| RegistryError::Bundle(e.to_string()))
}

impl LocalRegistry {
    /// Deploys the registry from `owner` (the issuer), compiled with `solc`.
    pub fn deploy(solc: Solc, owner: [u8; 20], keep_old_code_on_upgrade: bool) -> Result<Self, RegistryError> {
        let compiled: CompiledContract = solc.compile_contract(&[("IrisCodeRegistry.sol", REGISTRY_SOURCE)], REGISTRY_CONTRACT)?;
        let mut evm = LocalEvm::new();
        let address = evm.deploy(owner, compiled.deploy_code(&registry_constructor_args(keep_old_code_on_upgrade)))?.address;
        Ok(Self { evm, solc, owner, address })
    }

    /// The registry's address.
    pub fn address(&self) -> [u8; 20] {
        self.address
    }

    /// The local EVM (for direct calls).
    pub fn evm_mut(&mut self) -> &mut LocalEvm {
        &mut self.evm
    }

    /// The chain id (`block.chainid`) of the local chain.
    pub fn chain_id(&self) -> u64 {
        self.evm.chain_id()
    }

    /// The binding a proof must carry (public input 3) to be submitted by `account` to this
    /// registry on this chain: pass it to the prover (`prover::ProveOptions::binding`).
    pub fn binding(&self, account: [u8; 20]) -> Binding {
        Binding { chain_id: self.chain_id(), registry: self.address, account }
    }

    /// Publishes the model of a proving setup (its verifier, version, submission mode,
    /// `min_valid_bits` and liveness threshold): see [`Self::publish_model`].
    pub fn publish(&mut self, setup: &crate::prover::ProvingSetup) -> Result<PublishedModel, RegistryError> {
        let m = setup.model().manifest();
        let tau = m.rules.liveness.as_ref().map_or(0, |l| l.threshold);
        self.publish_model(
            setup.srs().params(),
            setup.verifying_key(),
            setup.plan().instances,
            setup.model().id(),
            &m.version,
            m.rules.submission,
            m.rules.min_valid_bits,
            crate::evm::calldata::fr_from_i64(tau),
        )
    }

    /// Publishes a model: renders its verifier (for `num_instances` public inputs), compiles
    /// and deploys it, then `setModel`.
    #[allow(clippy::too_many_arguments)]
    pub fn publish_model(
        &mut self,
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        num_instances: usize,
        model_id: [u8; 32],
        version: &str,
        submission: Submission,
        min_valid_bits: u32,
        liveness_threshold: Fr,
    ) -> Result<PublishedModel, RegistryError> {
        let source = VerifierSource::render(params, vk, num_instances)?;
        let published = self.deploy_verifier(&source)?;
        let entry = ModelEntry {
            model_id,
            verifier: published.verifier,
            version: registry_version(version)?,
            submission,
            min_valid_bits,
            liveness_threshold,
            active: true,
        };
        ok("setModel", self.evm.call(self.owner, self.address, set_model_calldata(&entry))?)?;
        Ok(published)
    }

    /// Publishes the aggregation verifier for batches of `batch_size` proofs of a published
    /// model (`source`: the aggregation key's verifier, `prover::agg::AggregationKey::solidity_verifier`
    /// with feature `agg`): compiles and deploys it, then `setAggregationVerifier`.
    pub fn publish_aggregation_verifier(&mut self, model_id: [u8; 32], batch_size: u64, source: &VerifierSource) -> Result<PublishedModel, RegistryError> {
        let published = self.deploy_verifier(source)?;
        ok("setAggregationVerifier", self.evm.call(self.owner, self.address, set_aggregation_verifier_calldata(&model_id, batch_size, &published.verifier))?)?;
        Ok(published)
    }

    /// Compiles a verifier and deploys it from the owner (split into parts under EIP-170).
    fn deploy_verifier(&mut self, source: &VerifierSource) -> Result<PublishedModel, RegistryError> {
        let compiled = self.solc.compile_verifier(source)?;
        let mut deploy_gas = 0;
        let evm = &mut self.evm;
        let owner = self.owner;
        let verifier = compiled.deploy_with(|code| {
            evm.deploy(owner, code).map(|d| {
                deploy_gas += d.gas_used;
                d.address
            })
        })?;
        Ok(PublishedModel {
            verifier,
            verifier_parts: compiled.parts().len(),
            largest_part_bytes: compiled.parts().iter().map(|p| p.runtime_code.len()).max().unwrap_or(0),
            deploy_gas,
        })
    }

    /// A fork of the chain ([`LocalEvm::fork`]): the same registry, verifiers and records at
    /// the same addresses, evolving on their own from here (to try two futures of one state).
    pub fn fork(&self) -> Self {
        Self { evm: self.evm.fork(), solc: self.solc.clone(), owner: self.owner, address: self.address }
    }

    /// Trusts an enrollment device (`setTrustedDevice`).
    pub fn trust_device(&mut self, device: &DeviceId) -> Result<(), RegistryError> {
        ok("setTrustedDevice", self.evm.call(self.owner, self.address, set_trusted_device_calldata(device, true))?)?;
        Ok(())
    }

    /// Revokes an enrollment device (`revokeDevice`): its commitments can no longer register
    /// or upgrade.
    pub fn revoke_device(&mut self, device: &DeviceId) -> Result<(), RegistryError> {
        ok("revokeDevice", self.evm.call(self.owner, self.address, revoke_device_calldata(device))?)?;
        Ok(())
    }

    /// Calls a verifier directly with a bundle's proof: the gas of verification alone.
    pub fn verify_directly(&mut self, verifier: [u8; 20], from: [u8; 20], bundle: &ProofBundle) -> Result<Submitted, RegistryError> {
        // The bare verifier takes any model's public inputs; only the registry fixes the layout.
        let inst = bundle.instances().map_err(|e| RegistryError::Bundle(e.to_string()))?;
        let data = encode_verifier_calldata(&inst, &bundle.proof);
        let calldata_bytes = data.len();
        let out = ok("verifier", self.evm.call(from, verifier, data)?)?;
        Ok(Submitted { gas_used: out.gas_used, calldata_bytes })
    }

    /// `register(modelId, proof, publicInputs, deviceSignature)` from `from` (the bundle must
    /// be bound to [`Self::binding`]`(from)`).
    pub fn register(&mut self, from: [u8; 20], bundle: &ProofBundle) -> Result<Submitted, RegistryError> {
        let att = bundle.attestation.as_ref().ok_or_else(|| RegistryError::Bundle("a first registration needs the enrollment device's signature".into()))?;
        let data = register_calldata(&bundle.model_id, &bundle.proof, &instances(bundle)?, &att.signature);
        let calldata_bytes = data.len();
        let out = ok("register", self.evm.call(from, self.address, data)?)?;
        Ok(Submitted { gas_used: out.gas_used, calldata_bytes })
    }

    /// `registerBatch(modelId, proof, instances, accounts, deviceSignatures)` from a relayer:
    /// `instances` and `proof` are an aggregated proof's (a `.zka` file's), statement `i` bound
    /// to [`Self::binding`]`(accounts[i])` and signed by `signatures[i]`.
    pub fn register_batch(
        &mut self,
        relayer: [u8; 20],
        model_id: &[u8; 32],
        proof: &[u8],
        instances: &[[u8; 32]],
        accounts: &[[u8; 20]],
        signatures: &[EnrollmentSignature],
    ) -> Result<Submitted, RegistryError> {
        let data = register_batch_calldata(model_id, proof, instances, accounts, signatures);
        let calldata_bytes = data.len();
        let out = ok("registerBatch", self.evm.call(relayer, self.address, data)?)?;
        Ok(Submitted { gas_used: out.gas_used, calldata_bytes })
    }

    /// `upgradeBatch(newModelId, proof, instances, accounts)` from a relayer: `instances` and
    /// `proof` are an aggregated proof's of statements under the newer model, statement `i`
    /// bound to [`Self::binding`]`(accounts[i])`.
    pub fn upgrade_batch(
        &mut self,
        relayer: [u8; 20],
        new_model_id: &[u8; 32],
        proof: &[u8],
        instances: &[[u8; 32]],
        accounts: &[[u8; 20]],
    ) -> Result<Submitted, RegistryError> {
        let data = upgrade_batch_calldata(new_model_id, proof, instances, accounts);
        let calldata_bytes = data.len();
        let out = ok("upgradeBatch", self.evm.call(relayer, self.address, data)?)?;
        Ok(Submitted { gas_used: out.gas_used, calldata_bytes })
    }

    /// `upgrade(newModelId, proof, publicInputs)` from `from` (bound like [`Self::register`]).
    pub fn upgrade(&mut self, from: [u8; 20], bundle: &ProofBundle) -> Result<Submitted, RegistryError> {
        let data = upgrade_calldata(&bundle.model_id, &bundle.proof, &instances(bundle)?);
        let calldata_bytes = data.len();
        let out = ok("upgrade", self.evm.call(from, self.address, data)?)?;
        Ok(Submitted { gas_used: out.gas_used, calldata_bytes })
    }

    /// Sends arbitrary calldata to the registry (for checks such as a tampered proof).
    pub fn call(&mut self, from: [u8; 20], data: Vec<u8>) -> Result<CallOutcome, RegistryError> {
        Ok(self.evm.call(from, self.address, data)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_semver() {
        assert_eq!(registry_version("3.0.0").unwrap(), 3_000_000);
        assert_eq!(registry_version("1.11.2").unwrap(), 1_011_002);
        assert!(registry_version("3.1.0").unwrap() > registry_version("3.0.9").unwrap());
        for bad in ["3", "3.0", "3.0.0.1", "3.x.0", "1000.0.0", ""] {
            assert!(registry_version(bad).is_err(), "{bad}");
        }
    }
}
