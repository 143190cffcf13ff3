//! Issue 16 measurement: gas of the aggregation verifier written by `agg_spike --prove K`.
//!
//! ```text
//! ZKIRIS_SOLC=contracts/scripts/solc cargo run --release -p zkiris --features agg,dev-keys,evm-test \
//!     --example agg_gas -- VERIFIER.sol CALLDATA.hex
//! ```
//!
//! Compiles the snark-verifier-generated `Halo2Verifier` with the pinned solc (optimizer off),
//! deploys it on a local revm chain without the EIP-170 limit, and calls it with the calldata
//! (instances as 32-byte words, then the proof); also with one proof byte flipped.

use zkiris::evm::Solc;
use zkiris::evm::{calldata_gas, LocalEvm};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sol = std::fs::read_to_string(&args[1])?;
    let calldata = hex::decode(std::fs::read_to_string(&args[2])?.trim())?;
    let solc = Solc::locate()?;
    let t = std::time::Instant::now();
    let c = solc.compile_contract(&[("AggVerifier.sol", &sol)], "Halo2Verifier")?;
    println!(
        "compiled in {:.1} s: runtime {} bytes (EIP-170 limit 24,576), creation {} bytes",
        t.elapsed().as_secs_f64(),
        c.runtime_code.len(),
        c.creation_code.len()
    );
    let mut evm = LocalEvm::without_code_size_limit();
    let from = [0x11; 20];
    let d = evm.deploy(from, c.deploy_code(&[]))?;
    println!("deploy gas {}", d.gas_used);
    let out = evm.call(from, d.address, calldata.clone())?;
    println!("verify: success {} gas {} (calldata {} bytes, calldata gas {})", out.success, out.gas_used, calldata.len(), calldata_gas(&calldata));
    let mut bad = calldata.clone();
    let last = bad.len() - 40;
    bad[last] ^= 1;
    let out = evm.call(from, d.address, bad)?;
    println!("tampered proof: success {} (halt {:?})", out.success, out.halt);
    Ok(())
}
