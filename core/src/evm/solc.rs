//! Compiling Solidity with a pinned `solc` (0.8.19, optimizer off) through its standard-JSON API.
//!
//! Which `solc` runs, first match wins:
//! 1. the program named by the environment variable [`SOLC_ENV`] (`ZKIRIS_SOLC`);
//! 2. the repository shim `contracts/scripts/solc` (a node script over solcjs), once
//!    `npm ci --prefix contracts` has installed the pinned `solc` npm package;
//! 3. `solc` on `PATH`.
//!
//! The compiler must report version [`PINNED_SOLC_VERSION`]: the generated verifiers say
//! `pragma solidity 0.8.19;` and gas numbers are measured with it. The optimizer stays off: the
//! legacy optimizer fails on generated verifiers with "stack too deep", and `viaIR` with the
//! optimizer has been seen to emit verifiers that always revert.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::verifier::{VerifierError, VerifierSource, EIP170_MAX_RUNTIME_BYTES, VERIFIER_CONTRACT};

/// Environment variable naming the `solc` program to run.
pub const SOLC_ENV: &str = "ZKIRIS_SOLC";

/// The compiler version everything is pinned to.
pub const PINNED_SOLC_VERSION: &str = "0.8.19";

/// EVM version compiled for. `paris` has no `PUSH0`, so the code runs on every EVM chain.
pub const EVM_VERSION: &str = "paris";

/// The most parts [`Solc::compile_verifier`] will split a verifier into.
pub const MAX_VERIFIER_PARTS: usize = 32;

const INSTALL_HINT: &str = "install the pinned compiler with `npm ci --prefix contracts` (it provides contracts/scripts/solc), \
     or set ZKIRIS_SOLC to a solc 0.8.19 executable";

/// Errors from locating or running the compiler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SolcError {
    /// No usable `solc` was found.
    #[error("no solc compiler found (tried: {tried}); {hint}", hint = INSTALL_HINT)]
    NotFound {
        /// The programs that were tried.
        tried: String,
    },
    /// The program could not be started or talked to.
    #[error("could not run {program}: {source}; {hint}", hint = INSTALL_HINT)]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The program is a different compiler version.
    #[error("{program} is solc {found}, but zkiris is pinned to solc {PINNED_SOLC_VERSION}; {hint}", hint = INSTALL_HINT)]
    WrongVersion {
        /// The program.
        program: PathBuf,
        /// The version line it printed.
        found: String,
    },
    /// The program exited with a failure status.
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        /// The program.
        program: PathBuf,
        /// Exit status.
        status: String,
        /// Its standard error output.
        stderr: String,
    },
    /// The compiler rejected the source.
    #[error("solc reported errors:\n{0}")]
    Compile(String),
    /// The compiler's output was not the expected standard JSON.
    #[error("unexpected solc output: {0}")]
    BadOutput(String),
    /// A contract expected in the output is missing.
    #[error("solc produced no contract named {name}")]
    MissingContract {
        /// Contract name.
        name: String,
    },
    /// A contract's runtime code exceeds the EIP-170 limit.
    #[error("contract {contract} has {size} bytes of runtime code, more than the EIP-170 limit of {limit}; split it")]
    CodeTooLarge {
        /// Contract name.
        contract: String,
        /// Runtime code size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A verifier did not fit the limit even split into [`MAX_VERIFIER_PARTS`] parts.
    #[error("the verifier does not fit in {parts} contracts of {limit} bytes (largest part: {largest} bytes)")]
    DoesNotFit {
        /// Parts tried last.
        parts: usize,
        /// Largest runtime code among them.
        largest: usize,
        /// The per-contract limit.
        limit: usize,
    },
    /// The verifier could not be split.
    #[error(transparent)]
    Split(#[from] VerifierError),
}

/// A compiled contract.
#[derive(Clone, PartialEq, Eq)]
pub struct CompiledContract {
    /// Contract name.
    pub name: String,
    /// ABI as JSON text.
    pub abi: String,
    /// Creation (deployment) code, without constructor arguments.
    pub creation_code: Vec<u8>,
    /// Runtime code (what EIP-170 limits).
    pub runtime_code: Vec<u8>,
}

impl std::fmt::Debug for CompiledContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledContract")
            .field("name", &self.name)
            .field("creation_code_len", &self.creation_code.len())
            .field("runtime_code_len", &self.runtime_code.len())
            .finish()
    }
}

impl CompiledContract {
    /// Fails with [`SolcError::CodeTooLarge`] if the runtime code is over [`EIP170_MAX_RUNTIME_BYTES`].
    pub fn check_eip170(&self) -> Result<(), SolcError> {
        if self.runtime_code.len() > EIP170_MAX_RUNTIME_BYTES {
            return Err(SolcError::CodeTooLarge { contract: self.name.clone(), size: self.runtime_code.len(), limit: EIP170_MAX_RUNTIME_BYTES });
        }
        Ok(())
    }

    /// Creation code followed by ABI-encoded constructor arguments.
    pub fn deploy_code(&self, constructor_args: &[u8]) -> Vec<u8> {
        [self.creation_code.as_slice(), constructor_args].concat()
    }
}

/// A verifier compiled into one contract, or into a chain of parts (see `super::verifier`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledVerifier {
    parts: Vec<CompiledContract>,
    source: Option<VerifierSource>,
}

impl CompiledVerifier {
    /// The source that was compiled: the one given to [`Solc::compile_verifier`], or its
    /// [`VerifierSource::without_forwarding`] fallback.
    pub fn source(&self) -> Option<&VerifierSource> {
        self.source.as_ref()
    }

    /// The contracts in call order: `parts()[0]` is the entry the registry calls.
    pub fn parts(&self) -> &[CompiledContract] {
        &self.parts
    }

    /// Whether the verifier had to be split over several contracts.
    pub fn is_split(&self) -> bool {
        self.parts.len() > 1
    }

    /// Deploys the parts last to first with `deploy` (which takes full deployment code and
    /// returns the new contract's address), passing each part the address of the next one.
    /// Returns the entry address, the one to register as the model's verifier.
    pub fn deploy_with<E>(&self, mut deploy: impl FnMut(Vec<u8>) -> Result<[u8; 20], E>) -> Result<[u8; 20], E> {
        let mut next: Option<[u8; 20]> = None;
        for part in self.parts.iter().rev() {
            let args = next.map(|addr| {
                let mut word = [0u8; 32];
                word[12..].copy_from_slice(&addr);
                word.to_vec()
            });
            next = Some(deploy(part.deploy_code(args.as_deref().unwrap_or(&[])))?);
        }
        // `parts` is never empty (see `Solc::compile_verifier_parts`).
        Ok(next.unwrap_or([0u8; 20]))
    }
}

/// A located `solc` program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solc {
    program: PathBuf,
}

impl Solc {
    /// Uses `program` as the compiler (not checked until [`Solc::check_version`] or a compile).
    pub fn at(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }

    /// Finds the compiler (module docs) and checks that it is [`PINNED_SOLC_VERSION`].
    pub fn locate() -> Result<Self, SolcError> {
        let mut tried = Vec::new();
        let mut candidates = Vec::new();
        if let Some(path) = std::env::var_os(SOLC_ENV) {
            // An explicit choice is used or reported, never silently skipped.
            let solc = Self::at(path);
            solc.check_version()?;
            return Ok(solc);
        }
        let contracts = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("contracts");
        let shim = contracts.join("scripts").join("solc");
        if contracts.join("node_modules").join("solc").join("package.json").is_file() {
            candidates.push(shim);
        } else {
            tried.push(format!("{} (solcjs not installed)", shim.display()));
        }
        candidates.push(PathBuf::from("solc"));
        for program in candidates {
            let solc = Self::at(&program);
            match solc.check_version() {
                Ok(()) => return Ok(solc),
                Err(SolcError::WrongVersion { found, .. }) => tried.push(format!("{} (version {found})", program.display())),
                Err(_) => tried.push(format!("{} (not runnable)", program.display())),
            }
        }
        Err(SolcError::NotFound { tried: tried.join(", ") })
    }

    /// The program that is run.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The compiler's version line, e.g. `0.8.19+commit.7dd6d404.Emscripten.clang`.
    pub fn version(&self) -> Result<String, SolcError> {
        let out = self.run(&["--version"], None)?;
        out.lines()
            .find_map(|l| l.strip_prefix("Version:").map(|v| v.trim().to_string()))
            .ok_or_else(|| SolcError::BadOutput(format!("no version line in {out:?}")))
    }

    /// Fails with [`SolcError::WrongVersion`] unless the compiler is [`PINNED_SOLC_VERSION`].
    pub fn check_version(&self) -> Result<(), SolcError> {
        let found = self.version()?;
        if found.split('+').next() != Some(PINNED_SOLC_VERSION) {
            return Err(SolcError::WrongVersion { program: self.program.clone(), found });
        }
        Ok(())
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String, SolcError> {
        let spawn_err = |source| SolcError::Spawn { program: self.program.clone(), source };
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input).map_err(spawn_err)?;
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        if !out.status.success() {
            return Err(SolcError::Failed {
                program: self.program.clone(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        String::from_utf8(out.stdout).map_err(|_| SolcError::BadOutput("output is not UTF-8".into()))
    }

    /// Compiles `sources` (`(file name, Solidity text)`) with the optimizer off and returns every
    /// contract they define, in file then name order.
    pub fn compile(&self, sources: &[(&str, &str)]) -> Result<Vec<CompiledContract>, SolcError> {
        let input = serde_json::json!({
            "language": "Solidity",
            "sources": sources.iter().map(|(name, text)| ((*name).to_string(), serde_json::json!({ "content": text })))
                .collect::<serde_json::Map<_, _>>(),
            "settings": {
                "optimizer": { "enabled": false },
                "evmVersion": EVM_VERSION,
                "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
            },
        });
        let raw = self.run(&["--standard-json"], Some(input.to_string().as_bytes()))?;
        parse_output(&raw, sources)
    }

    /// Compiles `sources` and returns the contract called `name`.
    pub fn compile_contract(&self, sources: &[(&str, &str)], name: &str) -> Result<CompiledContract, SolcError> {
        self.compile(sources)?.into_iter().find(|c| c.name == name).ok_or_else(|| SolcError::MissingContract { name: name.to_string() })
    }

    /// Compiles a verifier so that every contract fits EIP-170: as one contract if it fits,
    /// otherwise split into the fewest parts (up to [`MAX_VERIFIER_PARTS`]) that fit.
    ///
    /// If the compiler runs out of stack ("stack too deep") on a source with forwarded stores,
    /// the same verifier without forwarding is compiled instead; [`CompiledVerifier::source`]
    /// says which source the bytecode is.
    pub fn compile_verifier(&self, source: &VerifierSource) -> Result<CompiledVerifier, SolcError> {
        match self.compile_verifier_as_is(source) {
            Err(SolcError::Compile(msg)) if msg.contains("Stack too deep") => match source.without_forwarding()? {
                Some(plain) => self.compile_verifier_as_is(&plain),
                None => Err(SolcError::Compile(msg)),
            },
            other => other,
        }
    }

    fn compile_verifier_as_is(&self, source: &VerifierSource) -> Result<CompiledVerifier, SolcError> {
        let whole = self.compile_contract(&[("Halo2Verifier.sol", source.solidity())], VERIFIER_CONTRACT)?;
        if whole.check_eip170().is_ok() {
            return Ok(CompiledVerifier { parts: vec![whole], source: Some(source.clone()) });
        }
        // Start from the fewest parts that could fit (each part also carries a copy of the
        // prelude and the hand-over code) and add parts until every one fits: every extra part
        // costs a call and a memory hand-over per verification.
        let mut parts = whole.runtime_code.len().div_ceil(EIP170_MAX_RUNTIME_BYTES).max(2);
        let mut largest = whole.runtime_code.len();
        while parts <= MAX_VERIFIER_PARTS {
            let compiled = self.compile_verifier_parts(source, parts)?;
            largest = compiled.parts.iter().map(|p| p.runtime_code.len()).max().unwrap_or(0);
            if largest <= EIP170_MAX_RUNTIME_BYTES {
                return Ok(compiled);
            }
            parts += 1;
        }
        Err(SolcError::DoesNotFit { parts: MAX_VERIFIER_PARTS, largest, limit: EIP170_MAX_RUNTIME_BYTES })
    }

    /// Compiles a verifier split into exactly `parts` contracts (no size check; see
    /// [`CompiledContract::check_eip170`]). Useful to test the split chain on small verifiers.
    pub fn compile_verifier_parts(&self, source: &VerifierSource, parts: usize) -> Result<CompiledVerifier, SolcError> {
        let split = source.split(parts)?;
        let files: Vec<(String, &str)> = split.iter().map(|p| (format!("{}.sol", p.contract), p.solidity.as_str())).collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let compiled = self.compile(&refs)?;
        let parts = split
            .iter()
            .map(|p| compiled.iter().find(|c| c.name == p.contract).cloned().ok_or_else(|| SolcError::MissingContract { name: p.contract.clone() }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CompiledVerifier { parts, source: Some(source.clone()) })
    }
}

fn parse_output(raw: &str, sources: &[(&str, &str)]) -> Result<Vec<CompiledContract>, SolcError> {
    let out: serde_json::Value = serde_json::from_str(raw).map_err(|e| SolcError::BadOutput(format!("not JSON ({e}): {}", truncate(raw))))?;
    let errors: Vec<String> = out["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter(|e| e["severity"] == "error")
                .map(|e| e["formattedMessage"].as_str().or(e["message"].as_str()).unwrap_or("(no message)").to_string())
                .collect()
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(SolcError::Compile(errors.join("\n")));
    }
    let mut contracts = Vec::new();
    for (file, _) in sources {
        let Some(defined) = out["contracts"][*file].as_object() else { continue };
        for (name, c) in defined {
            let hex_field = |ptr: &str| -> Result<Vec<u8>, SolcError> {
                let text = c.pointer(ptr).and_then(|v| v.as_str()).ok_or_else(|| SolcError::BadOutput(format!("{name}: no {ptr}")))?;
                hex::decode(text).map_err(|_| SolcError::BadOutput(format!("{name}: {ptr} is not hex (unlinked library?)")))
            };
            contracts.push(CompiledContract {
                name: name.clone(),
                abi: c["abi"].to_string(),
                creation_code: hex_field("/evm/bytecode/object")?,
                runtime_code: hex_field("/evm/deployedBytecode/object")?,
            });
        }
    }
    Ok(contracts)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_compiler_is_a_typed_error_with_install_hint() {
        let solc = Solc::at("/nonexistent/zkiris-solc");
        let err = solc.check_version().unwrap_err();
        assert!(matches!(err, SolcError::Spawn { .. }), "{err:?}");
        assert!(err.to_string().contains("npm ci --prefix contracts"), "{err}");
    }

    #[test]
    fn reports_compile_errors_and_sizes() {
        let raw = r#"{"errors":[{"severity":"error","formattedMessage":"ParserError: Expected ';'"}]}"#;
        assert!(matches!(parse_output(raw, &[("a.sol", "")]), Err(SolcError::Compile(m)) if m.contains("ParserError")));
        assert!(matches!(parse_output("nope", &[]), Err(SolcError::BadOutput(_))));
        let big = CompiledContract { name: "Big".into(), abi: "[]".into(), creation_code: vec![], runtime_code: vec![0; EIP170_MAX_RUNTIME_BYTES + 1] };
        assert!(matches!(big.check_eip170(), Err(SolcError::CodeTooLarge { size, .. }) if size == EIP170_MAX_RUNTIME_BYTES + 1));
        let ok = CompiledContract { runtime_code: vec![0; EIP170_MAX_RUNTIME_BYTES], ..big };
        assert!(ok.check_eip170().is_ok());
    }

    #[test]
    fn deploys_parts_last_to_first_with_next_address() {
        let part = |n: u8| CompiledContract { name: format!("P{n}"), abi: "[]".into(), creation_code: vec![n], runtime_code: vec![] };
        let v = CompiledVerifier { parts: vec![part(1), part(2), part(3)], source: None };
        let mut seen = Vec::new();
        let entry = v
            .deploy_with(|code| -> Result<[u8; 20], ()> {
                seen.push(code.clone());
                Ok([code[0]; 20])
            })
            .unwrap();
        assert_eq!(entry, [1u8; 20]);
        assert_eq!(seen[0], vec![3]);
        let mut expect = vec![2u8];
        expect.extend([0u8; 12]);
        expect.extend([3u8; 20]);
        assert_eq!(seen[1], expect);
        assert_eq!(seen[2].len(), 33);
        assert_eq!(&seen[2][13..], &[2u8; 20]);
    }
}
