//! Solidity/Yul verifier generation (snark-verifier 0.2.7, SHPLONK, Keccak transcript).
//!
//! [`VerifierSource::render`] turns a verifying key into the source of a contract whose
//! fallback function takes the calldata of [`super::calldata::encode_verifier_calldata`]
//! (the instances as 32-byte big-endian words, then the proof bytes), returns empty data if the
//! proof is valid and reverts otherwise. Rendering is pure: nothing is compiled or written.
//!
//! # Splitting (EIP-170)
//!
//! Contracts deployed on Ethereum may not have more than [`EIP170_MAX_RUNTIME_BYTES`] of runtime
//! code. snark-verifier emits a single straight-line block of Yul whose size grows with the
//! number of columns, gates, lookups and instances, and the optimizer must stay off (see
//! `DESIGN.md`), so a verifier for a large circuit does not fit. [`VerifierSource::split`]
//! cuts that block at top-level statement boundaries into `n` part contracts that run one after
//! another:
//!
//! ```text
//! caller ──calldata──▶ part 1 ──calldata ‖ memory──▶ part 2 ──…──▶ part n ──▶ return / revert
//! ```
//!
//! Part `i < n` runs its share of the statements, reverts at once if a check has already
//! failed, then `CALL`s part `i + 1` with its whole memory `[0, msize())` followed by the
//! original calldata (exactly [`VerifierSource::calldata_len`] bytes, zero-padded like
//! `calldataload` past the end), so the memory goes out in place, without a copy. Part `i + 1`
//! copies the memory image back, reads the calldata at offsets shifted by the image's length,
//! and continues where part `i` stopped, so the chain computes exactly what the single
//! contract computes. The generated code only ever clears its `success`
//! flag (`success := and(…, success)`, checked by [`VerifierSource::split`]), so reverting
//! early is equivalent to reverting at the end.
//!
//! Only part 1, the *entry*, can succeed. Parts after it trust the memory they are handed, so
//! they never return normally: the last part reports an accepted proof by reverting with a
//! 32-byte marker, the parts in between pass the revert data back, and the entry returns
//! (success) only if it receives that marker. Calling a later part directly therefore always
//! reverts, and registering a wrong part as a model's verifier fails closed. The entry ignores
//! calldata beyond the verifier's length (as the single contract does), so extra bytes appended
//! to a proof cannot smuggle in a memory image.
//!
//! Each part but the last takes the address of the next part as its constructor argument, so
//! the parts are deployed last to first; [`super::solc::CompiledVerifier::deploy_with`] does
//! that.

use std::{fmt, rc::Rc, sync::Arc};

use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fq, Fr, G1Affine},
    plonk::VerifyingKey,
    poly::{
        commitment::{Params, ParamsProver},
        kzg::commitment::ParamsKZG,
    },
};
use snark_verifier_sdk::{
    snark_verifier::{
        loader::evm::EvmLoader,
        system::halo2::{compile, transcript::evm::EvmTranscript, Config},
        verifier::SnarkVerifier,
    },
    PlonkVerifier, SHPLONK,
};

/// EIP-170: the largest runtime code a contract may have on Ethereum mainnet, in bytes.
pub const EIP170_MAX_RUNTIME_BYTES: usize = 24_576;

/// Instances that hold an aggregation circuit's KZG accumulator ([`VerifierSource::render_aggregation`]).
pub const ACCUMULATOR_INSTANCES: usize = 12;

/// Name of the single (unsplit) verifier contract in the rendered source.
pub const VERIFIER_CONTRACT: &str = "Halo2Verifier";

pub use super::error::VerifierError;

/// The rendered Solidity source of a verifier (one contract named [`VERIFIER_CONTRACT`]).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierSource {
    solidity: String,
    num_instances: usize,
    calldata_len: usize,
    memory: (usize, usize),
    forwarded: usize,
    /// snark-verifier's output, kept to re-apply the rewrites differently.
    generated: Option<Arc<String>>,
}

impl fmt::Debug for VerifierSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierSource")
            .field("solidity_chars", &self.solidity.len())
            .field("num_instances", &self.num_instances)
            .field("calldata_len", &self.calldata_len)
            .field("memory", &self.memory)
            .finish()
    }
}

/// One contract of a split verifier (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierPart {
    /// Contract name, `Halo2VerifierPart{i}Of{n}` (1-based).
    pub contract: String,
    /// Complete Solidity source of this part.
    pub solidity: String,
    /// Whether the constructor takes the address of the next part (every part but the last).
    pub takes_next: bool,
}

impl VerifierSource {
    /// Renders the SHPLONK verifier for `vk` with one instance column of `num_instances` rows.
    ///
    /// `params` must be the KZG parameters the key was generated with (same `k`): the verifier
    /// embeds `g`, `[1]₂` and `[s]₂` from them.
    ///
    /// Two rewrites of the generated code follow, each keeping what every statement computes:
    /// values stored once and loaded once are forwarded into their load (`evm/inline.rs`), and
    /// the remaining memory words are reallocated by liveness (`evm/memory.rs`). For world-v3
    /// they cut 1,845 stores and loads and the memory from 95 KiB to about 24 KiB.
    pub fn render(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> Result<Self, VerifierError> {
        Self::render_generated(params, vk, num_instances)?.rewritten(super::inline::MAX_DEPTH)
    }

    /// Applies the rewrites to a [`Self::render_generated`] source: forwarding to calls nested at
    /// most `forward_depth` deep (0: no forwarding), then memory compaction.
    pub fn rewritten(&self, forward_depth: usize) -> Result<Self, VerifierError> {
        let generated = self.generated.clone().unwrap_or_else(|| Arc::new(self.solidity.clone()));
        let spans = Layout::parse(&generated)?.statement_spans(&generated);
        let forwarding = super::inline::inline_single_use_to_depth(&generated, &spans, forward_depth)?;
        let spans = Layout::parse(&forwarding.source)?.statement_spans(&forwarding.source);
        let compaction = super::memory::compact(&forwarding.source, &spans)?;
        Ok(Self {
            solidity: revert_before_curve_operations(&compaction.source),
            num_instances: self.num_instances,
            calldata_len: self.calldata_len,
            memory: (compaction.memory_before, compaction.memory_after),
            forwarded: forwarding.forwarded,
            generated: Some(generated),
        })
    }

    /// The same verifier with memory compaction but without store forwarding: what
    /// [`super::solc::Solc::compile_verifier`] falls back to if a forwarded expression nests too
    /// deep for the compiler ("stack too deep"). `None` if nothing was forwarded.
    pub fn without_forwarding(&self) -> Result<Option<Self>, VerifierError> {
        if self.forwarded == 0 {
            return Ok(None);
        }
        self.rewritten(0).map(Some)
    }

    /// Renders the verifier exactly as snark-verifier emits it, without the rewrites of
    /// [`Self::render`] (to compare against it, or to apply them with [`Self::rewritten`]).
    pub fn render_generated(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> Result<Self, VerifierError> {
        Self::render_generated_with(params, vk, num_instances, None)
    }

    /// Renders the verifier of an aggregation circuit: its first 12 instances are a KZG
    /// accumulator (`lhs.x, lhs.y, rhs.x, rhs.y` in three 88-bit limbs each, snark-verifier's
    /// `AggregationCircuit`), which the verifier folds into its own final pairing check, so
    /// one pairing decides both the aggregation proof and every proof it aggregates. The same
    /// rewrites as [`Self::render`] follow, and it splits and compiles like any verifier.
    pub fn render_aggregation(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> Result<Self, VerifierError> {
        if num_instances < ACCUMULATOR_INSTANCES {
            return Err(VerifierError::UnexpectedShape("an aggregation verifier has at least the 12 accumulator instances"));
        }
        let accumulator = (0..ACCUMULATOR_INSTANCES).map(|row| (0, row)).collect();
        Self::render_generated_with(params, vk, num_instances, Some(accumulator))?.rewritten(super::inline::MAX_DEPTH)
    }

    fn render_generated_with(
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        num_instances: usize,
        accumulator: Option<Vec<(usize, usize)>>,
    ) -> Result<Self, VerifierError> {
        let found = vk.cs().num_instance_columns();
        if found != 1 {
            return Err(VerifierError::InstanceColumns { found });
        }
        let (params_k, vk_k) = (params.k(), vk.get_domain().k());
        if params_k != vk_k {
            return Err(VerifierError::ParamsMismatch { params_k, vk_k });
        }
        let protocol = compile(params, vk, Config::kzg().with_num_instance(vec![num_instances]).with_accumulator_indices(accumulator));
        let dk = (params.get_g()[0], params.g2(), params.s_g2()).into();
        let loader = EvmLoader::new::<Fq, Fr>();
        let protocol = protocol.loaded(&loader);
        let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
        let instances = transcript.load_instances(vec![num_instances]);
        let proof = PlonkVerifier::<SHPLONK>::read_proof(&dk, &protocol, &instances, &mut transcript).map_err(|e| VerifierError::Generate(format!("{e:?}")))?;
        PlonkVerifier::<SHPLONK>::verify(&dk, &protocol, &instances, &proof).map_err(|e| VerifierError::Generate(format!("{e:?}")))?;
        let solidity = loader.solidity_code();
        let calldata_len = max_calldata_end(&solidity).ok_or(VerifierError::UnexpectedShape("the verifier reads no calldata"))?;
        let memory = (0, 0);
        Ok(Self { solidity, num_instances, calldata_len, memory, forwarded: 0, generated: None })
    }

    /// Bytes of memory the runtime touches as generated, and after compaction (`(0, 0)` for a
    /// source from [`Self::render_generated`]).
    pub fn memory_bytes(&self) -> (usize, usize) {
        self.memory
    }

    /// Stored values forwarded into their single load (0 for [`Self::render_generated`]).
    pub fn forwarded_stores(&self) -> usize {
        self.forwarded
    }

    /// The Solidity source (one contract, [`VERIFIER_CONTRACT`]).
    pub fn solidity(&self) -> &str {
        &self.solidity
    }

    /// Number of public inputs the verifier reads.
    pub fn num_instances(&self) -> usize {
        self.num_instances
    }

    /// Bytes of calldata the verifier reads: `32 · num_instances + proof length`.
    pub fn calldata_len(&self) -> usize {
        self.calldata_len
    }

    /// Length in bytes of the proofs this verifier reads.
    pub fn proof_len(&self) -> usize {
        self.calldata_len.saturating_sub(32 * self.num_instances)
    }

    /// Splits the verifier into `parts` contracts that run in a chain (module docs). The
    /// statements are distributed so that every part gets about the same amount of source.
    /// `parts == 1` returns the single contract renamed to `Halo2VerifierPart1Of1`.
    pub fn split(&self, parts: usize) -> Result<Vec<VerifierPart>, VerifierError> {
        let layout = Layout::parse(&self.solidity)?;
        let n = layout.statements.len();
        if parts == 0 || parts > n {
            return Err(VerifierError::TooManyParts { parts, statements: n });
        }
        // Cut where the running source length crosses i/parts of the total.
        let total: usize = layout.statements.iter().map(|s| s.len()).sum();
        let mut bounds = vec![0usize];
        let mut acc = 0usize;
        for (idx, stmt) in layout.statements.iter().enumerate() {
            acc += stmt.len();
            let next_cut = bounds.len();
            if next_cut < parts && acc * parts >= total * next_cut && n - (idx + 1) >= parts - next_cut {
                bounds.push(idx + 1);
            }
        }
        // Guarantee exactly `parts` non-empty ranges even for skewed statement sizes.
        while bounds.len() < parts {
            let last = *bounds.last().unwrap_or(&0);
            bounds.push(last + 1);
        }
        bounds.push(n);
        let calldata_len = self.calldata_len;
        Ok((0..parts)
            .map(|i| {
                let body = layout.statements[bounds[i]..bounds[i + 1]].concat();
                let first = i == 0;
                let last = i + 1 == parts;
                let contract = format!("Halo2VerifierPart{}Of{}", i + 1, parts);
                let solidity = part_source(&layout, &contract, &body, first, last, calldata_len);
                VerifierPart { contract, solidity, takes_next: !last }
            })
            .collect())
    }
}

/// The generated contract cut into its fixed prelude, its top-level statements and its end.
struct Layout<'a> {
    /// Everything from `assembly` up to and including the `validate_ec_point` function.
    prelude: &'a str,
    /// Top-level runtime statements (each with its trailing newline).
    statements: Vec<&'a str>,
}

const EPILOGUE: &str = "if iszero(success) { revert(0, 0) }";
/// Revert data by which the parts after the entry report an accepted proof
/// (`keccak256("zkiris/split-verifier/accept")`).
const SPLIT_OK_MARKER: &str = "0x4e4b5e2fc62d4f82e25d0c5b287976a262677f63e908a06adf4e4a3693e6756e";
const RETURN: &str = "return(0, 0)";

impl<'a> Layout<'a> {
    fn parse(code: &'a str) -> Result<Self, VerifierError> {
        let asm = code.find("assembly (\"memory-safe\") {").ok_or(VerifierError::UnexpectedShape("no assembly block"))?;
        let func = code[asm..]
            .find("function validate_ec_point(x, y) -> valid {")
            .map(|i| asm + i)
            .ok_or(VerifierError::UnexpectedShape("no validate_ec_point function"))?;
        let open = func + code[func..].find('{').ok_or(VerifierError::UnexpectedShape("function has no body"))?;
        let func_end = matching_brace(code, open).ok_or(VerifierError::UnexpectedShape("unbalanced braces"))? + 1;
        // The assembly block closes three braces before the end (assembly, fallback, contract).
        let asm_open = asm + code[asm..].find('{').ok_or(VerifierError::UnexpectedShape("no assembly body"))?;
        let asm_end = matching_brace(code, asm_open).ok_or(VerifierError::UnexpectedShape("unbalanced braces"))?;
        let prelude = &code[asm..func_end];
        let runtime = &code[func_end..asm_end];
        let mut statements = Vec::new();
        let mut depth = 0i64;
        let mut start = 0usize;
        let mut seen_code = false;
        for (i, ch) in runtime.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                '\n' if depth == 0 && seen_code => {
                    statements.push(&runtime[start..=i]);
                    start = i + 1;
                    seen_code = false;
                }
                c if !c.is_whitespace() => seen_code = true,
                _ => {}
            }
            if depth < 0 {
                return Err(VerifierError::UnexpectedShape("unbalanced braces in the runtime"));
            }
        }
        if depth != 0 {
            return Err(VerifierError::UnexpectedShape("unbalanced braces in the runtime"));
        }
        // Drop comment-only statements and check the fixed epilogue.
        let mut statements: Vec<&str> = statements.into_iter().filter(|s| s.lines().any(|l| !l.trim().is_empty() && !l.trim().starts_with("//"))).collect();
        let ret = statements.pop().map(str::trim);
        let epi = statements.pop().map(|s| s.lines().filter(|l| !l.trim().starts_with("//")).collect::<String>());
        if ret != Some(RETURN) || epi.as_deref().map(str::trim) != Some(EPILOGUE) {
            return Err(VerifierError::UnexpectedShape("the runtime does not end with the success check"));
        }
        // Calldata is only read at literal offsets (later parts shift them).
        for (pos, _) in runtime.match_indices("calldata") {
            let lit = runtime[pos..].strip_prefix("calldataload(0x").map(|r| r.split(')').next().unwrap_or(""));
            if !lit.is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())) {
                return Err(VerifierError::UnexpectedShape("calldata is accessed other than by calldataload(literal)"));
            }
        }
        for stmt in &statements {
            // Only memory carries state between parts: no variable may be declared at top level,
            // and `success` may only ever be cleared.
            let trimmed = stmt.trim_start();
            if trimmed.starts_with("let ") || trimmed.starts_with("function ") {
                return Err(VerifierError::UnexpectedShape("a top-level declaration would be lost between parts"));
            }
            for (pos, _) in stmt.match_indices("success :=") {
                if !stmt[pos..].starts_with("success := and(") {
                    return Err(VerifierError::UnexpectedShape("`success` is assigned something other than and(…, success)"));
                }
            }
        }
        Ok(Self { prelude, statements })
    }

    /// The byte ranges of the statements in `code` (the string this layout was parsed from).
    fn statement_spans(&self, code: &str) -> Vec<(usize, usize)> {
        let base = code.as_ptr() as usize;
        self.statements.iter().map(|s| (s.as_ptr() as usize - base, s.as_ptr() as usize - base + s.len())).collect()
    }
}

fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, ch) in code[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewrites every `calldataload(0x…)` into `calldataload(add(0x…, zk_m))`.
fn shift_calldata_reads(body: &str) -> String {
    const PAT: &str = "calldataload(";
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    let mut rest = body;
    while let Some(pos) = rest.find(PAT) {
        let (head, tail) = rest.split_at(pos + PAT.len());
        out.push_str(head);
        // `Layout::parse` checked that every argument is a hex literal.
        let end = tail.find(')').unwrap_or(tail.len());
        out.push_str("add(");
        out.push_str(&tail[..end]);
        out.push_str(", zk_m)");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The precompile calls of a verifier, counted in its straight-line code (exact: the generated
/// code has no loops or branches around them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PrecompileCalls {
    /// `ecAdd` (0x06) calls.
    pub ec_add: usize,
    /// `ecMul` (0x07) calls: one per commitment in the final multi-scalar multiplication.
    pub ec_mul: usize,
    /// `ecPairing` (0x08) calls.
    pub pairing_calls: usize,
    /// Pairs checked by those calls.
    pub pairs: usize,
    /// `modexp` (0x05) calls (field inversions).
    pub modexp: usize,
}

impl PrecompileCalls {
    /// `modexp` gas for one field inversion under EIP-2565: 32-byte operands, a 254-bit
    /// exponent (`p − 2`): `max(200, 16 · 253 / 3)`.
    pub const MODEXP_INVERSION_GAS: u64 = 1_349;

    /// Gas of these calls at the prices since Istanbul (EIP-1108) and Berlin (EIP-2565):
    /// `ecAdd` 150, `ecMul` 6,000, `ecPairing` 45,000 + 34,000 per pair.
    pub fn gas(&self) -> u64 {
        150 * self.ec_add as u64
            + 6_000 * self.ec_mul as u64
            + 45_000 * self.pairing_calls as u64
            + 34_000 * self.pairs as u64
            + Self::MODEXP_INVERSION_GAS * self.modexp as u64
    }
}

impl VerifierSource {
    /// Counts the precompile calls in the verifier's code.
    pub fn precompile_calls(&self) -> PrecompileCalls {
        let mut calls = PrecompileCalls::default();
        for (pos, pat) in self.solidity.match_indices("staticcall(gas(), ") {
            let args: Vec<&str> = self.solidity[pos + pat.len()..].splitn(4, ',').map(str::trim).collect();
            let input_len = args.get(2).and_then(|l| l.strip_prefix("0x")).and_then(|h| usize::from_str_radix(h, 16).ok());
            match args.first().copied() {
                Some("0x5") => calls.modexp += 1,
                Some("0x6") => calls.ec_add += 1,
                Some("0x7") => calls.ec_mul += 1,
                Some("0x8") => {
                    calls.pairing_calls += 1;
                    calls.pairs += input_len.unwrap_or(0) / 192;
                }
                _ => {}
            }
        }
        calls
    }
}

/// The elliptic-curve precompiles: `ecAdd`, `ecMul`, `ecPairing`.
const CURVE_PRECOMPILES: [&str; 3] = ["staticcall(gas(), 0x6,", "staticcall(gas(), 0x7,", "staticcall(gas(), 0x8,"];

/// Inserts the success check (`if iszero(success) { revert(0, 0) }`) before the first
/// elliptic-curve precompile call that follows a check of proof points.
///
/// snark-verifier's code clears `success` when a proof point read from calldata is not on the
/// curve, but goes on; the next `ecAdd`/`ecMul` on that point then fails, and a failing
/// precompile consumes all the gas it was given (`gas()`, 63/64 of what is left), so a
/// malformed proof ran the transaction out of gas instead of reverting. With the check, it
/// reverts as soon as its points have been read (the code reads every point before the first
/// curve operation, so this is one check: about 20 gas for an honest proof). A valid point
/// never makes a precompile fail, so nothing else can burn the gas.
fn revert_before_curve_operations(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 64);
    let mut unchecked_points = false;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if unchecked_points && CURVE_PRECOMPILES.iter().any(|call| line.contains(call)) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str(EPILOGUE);
            out.push('\n');
            unchecked_points = false;
        }
        if line.contains("validate_ec_point(") && !trimmed.starts_with("function ") {
            unchecked_points = true;
        }
        out.push_str(line);
    }
    out
}

/// One past the last calldata byte the code reads (`calldataload(0x…)` + 32).
fn max_calldata_end(code: &str) -> Option<usize> {
    code.match_indices("calldataload(0x")
        .filter_map(|(pos, pat)| {
            let rest = &code[pos + pat.len()..];
            let end = rest.find(')')?;
            usize::from_str_radix(&rest[..end], 16).ok()
        })
        .max()
        .map(|offset| offset + 32)
}

fn part_source(layout: &Layout<'_>, contract: &str, body: &str, first: bool, last: bool, calldata_len: usize) -> String {
    // Parts after the entry receive `memory image ‖ original calldata`; the image's length is
    // `zk_m`, and every calldata read is shifted by it.
    let (restore, body, calldata_at) = if first {
        (String::new(), body.to_string(), "0")
    } else {
        (
            format!(
                "
            // zkiris split verifier: restore the memory image the previous part handed over.
            if lt(calldatasize(), {calldata_len:#x}) {{ revert(0, 0) }}
            let zk_m := sub(calldatasize(), {calldata_len:#x})
            calldatacopy(0, 0, zk_m)
"
            ),
            shift_calldata_reads(body),
            "zk_m",
        )
    };
    let tail = match (first, last) {
        // Not split: the original ending.
        (true, true) => format!("            {EPILOGUE}\n            {RETURN}\n"),
        // Last part: report success to the entry as revert data, so that calling this part
        // directly never looks like an accepted proof.
        (false, true) => format!(
            "
            // zkiris split verifier: report the verdict to the entry (always by reverting).
            {EPILOGUE}
            mstore(0, {SPLIT_OK_MARKER})
            revert(0, 0x20)
"
        ),
        (_, false) => {
            let verdict = if first {
                // The entry alone turns the marker into success.
                format!(
                    "if and(eq(returndatasize(), 0x20), eq(mload(0), {SPLIT_OK_MARKER})) {{ return(0, 0) }}
                revert(0, 0)"
                )
            } else {
                "revert(0, returndatasize())".to_string()
            };
            format!(
                "
            // zkiris split verifier: stop early on failure, else hand memory and calldata on.
            {EPILOGUE}
            {{
                // memory[0, msize) is the image; the original calldata goes right after it.
                let zk_image_len := msize()
                calldatacopy(zk_image_len, {calldata_at}, {calldata_len:#x})
                pop(call(gas(), zk_next_part, 0, 0, add(zk_image_len, {calldata_len:#x}), 0, 0))
                returndatacopy(0, 0, returndatasize())
                {verdict}
            }}
"
            )
        }
    };
    let (state, ctor, load_next) = if last {
        (String::new(), String::new(), String::new())
    } else {
        (
            "    address private immutable NEXT_PART;\n\n".to_string(),
            "    constructor(address nextPart) {\n        NEXT_PART = nextPart;\n    }\n\n".to_string(),
            "        address zk_next_part = NEXT_PART;\n".to_string(),
        )
    };
    format!(
        "// SPDX-License-Identifier: MIT

pragma solidity 0.8.19;

// Generated by zkiris::evm from snark-verifier output: part of a split verifier (see evm::verifier).
contract {contract} {{
{state}{ctor}    fallback(bytes calldata) external returns (bytes memory) {{
{load_next}        {prelude}{restore}{body}{tail}        }}
    }}
}}
",
        prelude = layout.prelude,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime shaped like snark-verifier's output, small enough to read.
    fn sample() -> VerifierSource {
        let solidity = r#"
// SPDX-License-Identifier: MIT

pragma solidity 0.8.19;

contract Halo2Verifier {
    fallback(bytes calldata) external returns (bytes memory) {
        assembly ("memory-safe") {
            // Enforce that Solidity memory layout is respected
            let data := mload(0x40)
            if iszero(eq(data, 0x80)) {
                revert(0, 0)
            }

            let success := true
            let f_p := 0x01
            let f_q := 0x02
            function validate_ec_point(x, y) -> valid {
                {
                    valid := 1
                }
            }
            mstore(0x80, mod(calldataload(0x0), f_q))
mstore(0xa0, mod(calldataload(0x20), f_q))

        {
            let x := calldataload(0x40)
            mstore(0xc0, x)
            let y := calldataload(0x60)
            success := and(validate_ec_point(x, y), success)
        }
success := and(eq(mload(0xc0), 1), success)

            // Revert if anything fails
            if iszero(success) { revert(0, 0) }

            // Return empty bytes on success
            return(0, 0)
        }
    }
}
        "#
        .to_string();
        VerifierSource { solidity, num_instances: 2, calldata_len: 0x80, memory: (0, 0), forwarded: 0, generated: None }
    }

    #[test]
    fn parses_statements_and_calldata_length() {
        let src = sample();
        assert_eq!(max_calldata_end(src.solidity()), Some(0x80));
        let layout = Layout::parse(src.solidity()).unwrap();
        assert_eq!(layout.statements.len(), 4);
        assert!(layout.statements[2].contains("validate_ec_point(x, y)"));
        assert!(layout.prelude.ends_with('}'));
        assert_eq!(src.proof_len(), 0x40);
    }

    #[test]
    fn split_distributes_every_statement_once() {
        let src = sample();
        for parts in 1..=4 {
            let split = src.split(parts).unwrap();
            assert_eq!(split.len(), parts);
            for (i, part) in split.iter().enumerate() {
                assert_eq!(part.takes_next, i + 1 < parts);
                assert_eq!(part.solidity.contains("calldatacopy(0, 0, zk_m)"), i > 0);
                // Only the entry can return; later parts always revert.
                assert_eq!(part.solidity.contains("return(0, 0)"), i == 0, "part {i} of {parts}");
                assert_eq!(part.solidity.contains(SPLIT_OK_MARKER), parts > 1 && (i == 0 || i + 1 == parts));
            }
            let count = |needle: &str| -> usize { split.iter().map(|p| p.solidity.matches(needle).count()).sum() };
            for offset in ["0x0", "0x20", "0x40"] {
                let reads = count(&format!("calldataload({offset})")) + count(&format!("calldataload(add({offset}, zk_m))"));
                assert_eq!(reads, 1, "calldata {offset} is read once across {parts} parts");
            }
            assert_eq!(count("eq(mload(0xc0), 1)"), 1);
            // Later parts read the calldata after the memory image.
            for part in &split[1..] {
                assert!(!part.solidity.contains("calldataload(0x"), "{}", part.solidity);
            }
        }
        assert_eq!(src.split(5), Err(VerifierError::TooManyParts { parts: 5, statements: 4 }));
        assert_eq!(src.split(0), Err(VerifierError::TooManyParts { parts: 0, statements: 4 }));
    }

    #[test]
    fn a_malformed_proof_point_reverts_before_any_curve_operation() {
        let code = [
            "        {\n",
            "            let x := calldataload(0x40)\n",
            "            success := and(validate_ec_point(x, y), success)\n",
            "        }\n",
            "mstore(0x80, 1)\n",
            "success := and(eq(staticcall(gas(), 0x5, 0x80, 0xc0, 0xa0, 0x20), 1), success)\n",
            "success := and(eq(staticcall(gas(), 0x7, 0x80, 0x60, 0x80, 0x40), 1), success)\n",
            "success := and(eq(staticcall(gas(), 0x6, 0x80, 0x80, 0x80, 0x40), 1), success)\n",
            "        {\n",
            "            success := and(validate_ec_point(x, y), success)\n",
            "        }\n",
            "    success := and(eq(staticcall(gas(), 0x8, 0x80, 0x180, 0x80, 0x20), 1), success)\n",
        ]
        .concat();
        let code = code.as_str();
        let out = revert_before_curve_operations(code);
        // One check before the first ecMul (modexp cannot fail on any input), none before the
        // ecAdd that follows it, and one before the pairing, after the second point check.
        assert_eq!(out.matches(EPILOGUE).count(), 2, "{out}");
        let first = out.find(EPILOGUE).unwrap();
        assert!(out.find("0x5,").unwrap() < first && first < out.find("0x7,").unwrap(), "{out}");
        assert!(out.contains("    if iszero(success) { revert(0, 0) }\n    success := and(eq(staticcall(gas(), 0x8,"), "{out}");
        // Only whole lines were added.
        assert_eq!(out.replace(&format!("    {EPILOGUE}\n"), "").replace(&format!("{EPILOGUE}\n"), ""), code);
        // Without point checks, nothing changes; the function definition is not a check.
        let plain = "            function validate_ec_point(x, y) -> valid {\n            }\nsuccess := and(eq(staticcall(gas(), 0x7, 0x80, 0x60, 0x80, 0x40), 1), success)\n";
        assert_eq!(revert_before_curve_operations(plain), plain);
    }

    #[test]
    fn shifts_calldata_reads_past_the_memory_image() {
        assert_eq!(
            shift_calldata_reads("let x := calldataload(0x40)\nmstore(0x80, mod(calldataload(0x0), f_q))"),
            "let x := calldataload(add(0x40, zk_m))\nmstore(0x80, mod(calldataload(add(0x0, zk_m)), f_q))"
        );
    }

    #[test]
    fn split_marker_is_the_documented_hash() {
        use sha3::{Digest, Keccak256};
        let hash = Keccak256::digest(b"zkiris/split-verifier/accept");
        assert_eq!(SPLIT_OK_MARKER, format!("0x{}", hex::encode(hash)));
    }

    #[test]
    fn refuses_code_it_cannot_split_safely() {
        let mut src = sample();
        src.solidity = src.solidity.replace("mstore(0xa0, mod(calldataload(0x20), f_q))", "let z := 1");
        assert!(matches!(src.split(2), Err(VerifierError::UnexpectedShape(_))));
        let mut src = sample();
        src.solidity = src.solidity.replace("success := and(eq(mload(0xc0), 1), success)", "success := 1");
        assert!(matches!(src.split(2), Err(VerifierError::UnexpectedShape(_))));
        let mut src = sample();
        src.solidity = src.solidity.replace("return(0, 0)", "stop()");
        assert!(matches!(src.split(2), Err(VerifierError::UnexpectedShape(_))));
        let mut src = sample();
        src.solidity = src.solidity.replace("calldataload(0x20)", "calldataload(add(0x20, 1))");
        assert!(matches!(src.split(2), Err(VerifierError::UnexpectedShape(_))));
    }
}
