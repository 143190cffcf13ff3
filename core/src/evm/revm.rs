//! A local EVM (revm 27, mainnet rules, in-memory state) to deploy and call contracts.
//!
//! Host and test only (feature `evm-test`): revm links C code that phone builds must not carry.
//! The chain follows the Prague rules ([`SPEC`]). Gas numbers are those of a mainnet
//! transaction: they include the 21,000 base cost and the calldata cost ([`calldata_gas`]).
//! EIP-170 (24,576-byte runtime code) and EIP-3860 (49,152-byte init code) are enforced unless a
//! chain is made with [`LocalEvm::without_code_size_limit`] for measurements.

use revm::{
    context::{
        result::{ExecutionResult, Output},
        TxEnv,
    },
    database::InMemoryDB,
    primitives::{hardfork::SpecId, Address, TxKind, U256},
    Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm,
};

/// The hard fork whose rules the local chain follows.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// Gas limit of every transaction (below the EIP-7825 per-transaction cap of 2^24).
pub const TX_GAS_LIMIT: u64 = 16_000_000;

/// Chain id of [`LocalEvm::new`] (mainnet's; `block.chainid` in contracts).
pub const DEFAULT_CHAIN_ID: u64 = 1;

/// The address `CREATE` gives the `nonce`-th contract deployed by `deployer`
/// (`keccak256(rlp([deployer, nonce]))[12..]`).
pub fn create_address(deployer: [u8; 20], nonce: u64) -> [u8; 20] {
    Address::from(deployer).create(nonce).into_array()
}

/// Errors from the local EVM (not reverts: those are a [`CallOutcome`] with `success == false`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevmError {
    /// The transaction was invalid (revm refused to execute it).
    #[error("the EVM refused the transaction: {0}")]
    Transaction(String),
    /// A deployment reverted or halted (for example, code over the EIP-170 limit).
    #[error("deployment failed after {gas_used} gas: {reason}")]
    DeployFailed {
        /// Gas used.
        gas_used: u64,
        /// Revert data (hex) or halt reason.
        reason: String,
    },
}

/// The standard calldata gas of `data`: 4 per zero byte, 16 per other byte (EIP-2028). Under
/// EIP-7623 a transaction pays at least 10 / 40 per byte instead when it does little else.
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

/// A log emitted by a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmLog {
    /// Emitting contract.
    pub address: [u8; 20],
    /// Topics (topic 0 is the event signature hash).
    pub topics: Vec<[u8; 32]>,
    /// Non-indexed data.
    pub data: Vec<u8>,
}

/// What a call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Whether the call returned (`false`: reverted or halted).
    pub success: bool,
    /// Gas used by the whole transaction.
    pub gas_used: u64,
    /// Return data, or revert data.
    pub output: Vec<u8>,
    /// Logs (empty unless `success`).
    pub logs: Vec<EvmLog>,
    /// The halt reason if the call halted (out of gas, invalid opcode, …).
    pub halt: Option<String>,
}

impl CallOutcome {
    /// The 4-byte custom-error selector of a revert, if the revert data has one.
    pub fn revert_selector(&self) -> Option<[u8; 4]> {
        if self.success || self.output.len() < 4 {
            return None;
        }
        Some([self.output[0], self.output[1], self.output[2], self.output[3]])
    }
}

/// A deployed contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Its address.
    pub address: [u8; 20],
    /// Gas used by the deployment transaction.
    pub gas_used: u64,
}

/// An in-memory EVM chain. Any 20-byte address can send transactions (`msg.sender` is the
/// `from` of [`LocalEvm::call`]); gas is free.
pub struct LocalEvm {
    evm: MainnetEvm<revm::handler::MainnetContext<InMemoryDB>>,
}

impl std::fmt::Debug for LocalEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalEvm")
    }
}

impl Default for LocalEvm {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalEvm {
    /// A fresh chain with mainnet [`SPEC`] rules, chain id [`DEFAULT_CHAIN_ID`] and free gas.
    pub fn new() -> Self {
        Self::build(false, DEFAULT_CHAIN_ID)
    }

    /// A fresh chain like [`Self::new`] whose `block.chainid` is `chain_id` (transactions carry
    /// it too, and the chain checks them: EIP-155).
    pub fn with_chain_id(chain_id: u64) -> Self {
        Self::build(false, chain_id)
    }

    /// A chain that accepts contracts of any size. For measurements only (for example, the gas
    /// of a verifier as one contract, to see what splitting it costs): mainnet refuses them.
    pub fn without_code_size_limit() -> Self {
        Self::build(true, DEFAULT_CHAIN_ID)
    }

    fn build(unlimited: bool, chain_id: u64) -> Self {
        let ctx = Context::mainnet().modify_cfg_chained(|cfg| {
            cfg.spec = SPEC;
            cfg.chain_id = chain_id;
            cfg.tx_chain_id_check = true;
            if unlimited {
                cfg.limit_contract_code_size = Some(usize::MAX);
                cfg.limit_contract_initcode_size = Some(usize::MAX);
            }
        });
        Self { evm: ctx.with_db(InMemoryDB::default()).build_mainnet() }
    }

    /// A fork of this chain: the same accounts, code and storage under the same rules (chain
    /// id, block, code-size limit), evolving on its own from here.
    pub fn fork(&self) -> Self {
        let mut ctx = Context::mainnet().with_db(self.evm.ctx.journaled_state.database.clone());
        ctx.cfg = self.evm.ctx.cfg.clone();
        ctx.block = self.evm.ctx.block.clone();
        Self { evm: ctx.build_mainnet() }
    }

    fn nonce(&self, who: Address) -> u64 {
        self.evm.ctx.journaled_state.database.basic_ref(who).ok().flatten().map_or(0, |a| a.nonce)
    }

    /// The chain id (`block.chainid`).
    pub fn chain_id(&self) -> u64 {
        self.evm.ctx.cfg.chain_id
    }

    /// The transaction count of `account` (the nonce its next transaction uses).
    pub fn nonce_of(&self, account: [u8; 20]) -> u64 {
        self.nonce(Address::from(account))
    }

    /// The address the next [`Self::deploy`] from `deployer` will create.
    pub fn next_contract_address(&self, deployer: [u8; 20]) -> [u8; 20] {
        create_address(deployer, self.nonce_of(deployer))
    }

    fn transact(&mut self, from: [u8; 20], kind: TxKind, data: Vec<u8>) -> Result<ExecutionResult, RevmError> {
        let caller = Address::from(from);
        let tx = TxEnv {
            caller,
            gas_limit: TX_GAS_LIMIT,
            kind,
            data: data.into(),
            nonce: self.nonce(caller),
            chain_id: Some(self.chain_id()),
            value: U256::ZERO,
            ..Default::default()
        };
        self.evm.transact_commit(tx).map_err(|e| RevmError::Transaction(e.to_string()))
    }

    /// Deploys `code` (creation code with constructor arguments) from `from`.
    pub fn deploy(&mut self, from: [u8; 20], code: Vec<u8>) -> Result<Deployment, RevmError> {
        match self.transact(from, TxKind::Create, code)? {
            ExecutionResult::Success { output: Output::Create(_, Some(address)), gas_used, .. } => Ok(Deployment { address: address.into_array(), gas_used }),
            ExecutionResult::Success { gas_used, .. } => Err(RevmError::DeployFailed { gas_used, reason: "no address was created".into() }),
            ExecutionResult::Revert { gas_used, output } => {
                Err(RevmError::DeployFailed { gas_used, reason: format!("reverted with 0x{}", hex::encode(output)) })
            }
            ExecutionResult::Halt { reason, gas_used } => Err(RevmError::DeployFailed { gas_used, reason: format!("{reason:?}") }),
        }
    }

    /// Calls `to` from `from` with `calldata` in a committed transaction.
    pub fn call(&mut self, from: [u8; 20], to: [u8; 20], calldata: Vec<u8>) -> Result<CallOutcome, RevmError> {
        Ok(match self.transact(from, TxKind::Call(Address::from(to)), calldata)? {
            ExecutionResult::Success { gas_used, logs, output, .. } => CallOutcome {
                success: true,
                gas_used,
                output: output.into_data().to_vec(),
                logs: logs
                    .into_iter()
                    .map(|l| EvmLog { address: l.address.into_array(), topics: l.data.topics().iter().map(|t| t.0).collect(), data: l.data.data.to_vec() })
                    .collect(),
                halt: None,
            },
            ExecutionResult::Revert { gas_used, output } => CallOutcome { success: false, gas_used, output: output.to_vec(), logs: vec![], halt: None },
            ExecutionResult::Halt { reason, gas_used } => {
                CallOutcome { success: false, gas_used, output: vec![], logs: vec![], halt: Some(format!("{reason:?}")) }
            }
        })
    }

    /// Runtime code size of the contract at `address` (0 if none).
    pub fn code_size(&self, address: [u8; 20]) -> usize {
        let db = &self.evm.ctx.journaled_state.database;
        match db.basic_ref(Address::from(address)) {
            Ok(Some(info)) => match info.code {
                Some(code) => code.original_byte_slice().len(),
                None => db.code_by_hash_ref(info.code_hash).map(|c| c.original_byte_slice().len()).unwrap_or(0),
            },
            _ => 0,
        }
    }
}
