//! Build script: a digest of the source files that decide a circuit's keys.
//!
//! A cached proving key is only valid for the exact circuit that made it: its gates (checked at
//! run time through the constraint system's digest) but also its fixed columns and copy
//! constraints, which a code change can alter without touching any gate (a public input moved
//! to another row, a copy added). This script hashes every source file those come from, and the
//! key cache names its files after the hash, so a build whose circuit code differs in any way
//! never loads another build's key.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Everything that shapes keys: the circuit, its public statement, Poseidon's parameters, the
/// model lowering that becomes fixed columns, the commitment, and the key code itself.
const INPUTS: &[&str] = &["src/circuit", "src/public.rs", "src/poseidon", "src/model", "src/commitment.rs", "src/prover/keys.rs"];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path).expect("readable source directory").flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            files(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let mut paths = Vec::new();
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
        files(Path::new(input), &mut paths);
    }
    let mut h = Sha256::new();
    for p in &paths {
        let body = std::fs::read(p).expect("readable source file");
        h.update(p.to_string_lossy().replace('\\', "/").as_bytes());
        h.update((body.len() as u64).to_le_bytes());
        h.update(&body);
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=ZKIRIS_CIRCUIT_SOURCE_DIGEST={digest}");
}
