//! `zkiris bench`: proving time, memory, sizes and verification time of a bundled model, with
//! the machine's contention recorded next to each run (the machine is shared and noisy).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zkiris::commitment::Salt;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::Model;
use zkiris::mpc::{PartyPublicKey, PartySecretKey};
use zkiris::prover::{CancellationToken, NoProgress, ProveOptions};
use zkiris::public::{Binding, Submission};

use crate::common::models_dir;
use crate::prove_cmd::SetupArgs;

/// Arguments of `zkiris bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// Sample name in models/samples (`<name>.png`, `<name>_mask.png`); default by image width.
    #[arg(long)]
    sample: Option<String>,
    /// Image PNG to prove instead of a bundled sample (e.g. an ezkl adapter's `image.png`).
    #[arg(long, conflicts_with = "sample")]
    image: Option<std::path::PathBuf>,
    /// Mask PNG for `--image` (default: next to the image as `mask.png`, else every pixel valid).
    #[arg(long, requires = "image")]
    mask: Option<std::path::PathBuf>,
    /// Number of proofs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip the EVM gas measurements (verify, register, upgrade in revm).
    #[arg(long)]
    no_evm: bool,
    /// Also measure `upgrade` gas to this model (proves once more with it).
    #[arg(long, value_name = "MODEL")]
    upgrade_to: Option<String>,
    /// Alternate each proof with a proof of this model on the same sample, in the same
    /// process, and report both medians and their ratio (e.g. `--model world-v3-mpc
    /// --baseline world-v3`). Peak RSS then includes both proving keys: measure memory without it.
    #[arg(long, value_name = "MODEL")]
    baseline: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// CPU accounting from /proc: this process's CPU seconds and the machine's busy/total jiffies.
#[derive(Clone, Copy, Default)]
struct CpuSnapshot {
    own_ticks: u64,
    busy_ticks: u64,
    total_ticks: u64,
}

impl CpuSnapshot {
    fn now() -> Self {
        let own_ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // Fields after the `(comm)`: utime and stime are the 12th and 13th.
                let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
                Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        let (busy_ticks, total_ticks) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let v: Vec<u64> = s.lines().next()?.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                let total: u64 = v.iter().take(8).sum();
                let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
                Some((total - idle, total))
            })
            .unwrap_or((0, 0));
        Self { own_ticks, busy_ticks, total_ticks }
    }

    /// (own CPU seconds, share of the machine's CPU used by other processes) since `start`.
    fn since(self, start: Self) -> (f64, f64) {
        const HZ: f64 = 100.0;
        let own = self.own_ticks.saturating_sub(start.own_ticks);
        let busy = self.busy_ticks.saturating_sub(start.busy_ticks);
        let total = self.total_ticks.saturating_sub(start.total_ticks).max(1);
        (own as f64 / HZ, busy.saturating_sub(own) as f64 / total as f64)
    }
}

/// Peak resident memory of this process (VmHWM), MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Resets the peak-RSS counter (Linux `clear_refs` 5), so each phase's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The proving options of a bench run: the binding to the local registry (with gas
/// measurements) and, for an mpc-shares model, three ephemeral party keys (made in memory for
/// this run; the secret keys are dropped at once, nothing is ever decrypted).
fn bench_options(model: &Model, binding: Option<Binding>) -> ProveOptions {
    let party_keys: Option<[PartyPublicKey; 3]> =
        (model.manifest().rules.submission == Submission::MpcShares).then(|| [0, 1, 2].map(|_| PartySecretKey::generate().public_key()));
    ProveOptions { binding, party_keys, ..ProveOptions::default() }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `zkiris bench`.
pub fn run(a: BenchArgs) -> Result<ExitCode> {
    anyhow::ensure!(a.runs >= 1, "--runs must be at least 1");
    if a.json {
        // stdout carries exactly one JSON document.
        crate::progress::reports_to_stderr();
    }
    let model = a.setup.model()?;
    let [h, w] = [model.manifest().rules.inputs[0].shape[0], model.manifest().rules.inputs[0].shape[1]];
    let (image, mask) = match &a.image {
        Some(path) => {
            let image = IrisImage::read_png(path).with_context(|| format!("image {}", path.display()))?;
            let beside = path.with_file_name("mask.png");
            let mask = match (&a.mask, beside.exists()) {
                (Some(m), _) => IrisMask::read_png(m).with_context(|| format!("mask {}", m.display()))?,
                (None, true) => IrisMask::read_png(&beside).with_context(|| format!("mask {}", beside.display()))?,
                (None, false) => IrisMask::all_valid(image.height(), image.width()),
            };
            (image, mask)
        }
        None => {
            let sample = a.sample.clone().unwrap_or_else(|| format!("synth-eye_{h}x{w}"));
            let samples = models_dir().join("samples");
            let image = IrisImage::read_png(&samples.join(format!("{sample}.png"))).with_context(|| format!("sample {sample}"))?;
            (image, IrisMask::read_png(&samples.join(format!("{sample}_mask.png")))?)
        }
    };
    let salt = Salt::random();
    // The registry first (when measuring gas): the proofs are bound to it and its submitter.
    let chain = if a.no_evm { None } else { Some(gas::Chain::deploy()?) };
    let options = bench_options(&model, chain.as_ref().map(gas::Chain::binding));

    reset_peak_rss();
    let (c0, t0) = (CpuSnapshot::now(), Instant::now());
    let setup = a.setup.prepare("proving key", model.clone())?;
    let keygen_s = t0.elapsed().as_secs_f64();
    let (keygen_cpu, keygen_others) = CpuSnapshot::now().since(c0);
    let keygen_rss = peak_rss_mib();

    // The baseline, proved alternately with the model so that both see the same machine.
    let baseline = match &a.baseline {
        None => None,
        Some(name) => {
            let args = SetupArgs { model: name.clone(), ..a.setup.clone() };
            let m = args.model()?;
            anyhow::ensure!(m.manifest().rules.inputs == model.manifest().rules.inputs, "the baseline {name} takes other inputs than the model");
            let opts = bench_options(&m, chain.as_ref().map(gas::Chain::binding));
            Some((args.prepare("baseline proving key", m)?, opts))
        }
    };
    let mut base_runs = Vec::new();
    let mut runs = Vec::new();
    let mut bundle = None;
    for i in 0..a.runs {
        if let Some((bs, bo)) = &baseline {
            let (c0, t0) = (CpuSnapshot::now(), Instant::now());
            bs.prove(&image, &mask, &salt, None, bo, &NoProgress, &CancellationToken::new())?;
            let prove_s = t0.elapsed().as_secs_f64();
            let (cpu_s, others) = CpuSnapshot::now().since(c0);
            if !a.json {
                println!("run {} baseline {}: prove {prove_s:.2} s ({cpu_s:.1} CPU-s, others {:.0}%)", i + 1, bs.model().manifest().name, others * 100.0);
            }
            base_runs.push(json!({"prove_s": prove_s, "prove_cpu_s": cpu_s, "others_cpu_frac": others}));
        }
        reset_peak_rss();
        let (c0, t0) = (CpuSnapshot::now(), Instant::now());
        let b = setup.prove(&image, &mask, &salt, None, &options, &NoProgress, &CancellationToken::new())?;
        let prove_s = t0.elapsed().as_secs_f64();
        let (cpu_s, others) = CpuSnapshot::now().since(c0);
        let rss = peak_rss_mib();
        let t1 = Instant::now();
        setup.verifier().verify(&b)?;
        let verify_ms = t1.elapsed().as_secs_f64() * 1e3;
        if !a.json {
            println!("run {}: prove {prove_s:.2} s ({cpu_s:.1} CPU-s, others {:.0}%), peak RSS {rss:.0} MiB, verify {verify_ms:.1} ms", i + 1, others * 100.0);
        }
        runs.push(json!({"prove_s": prove_s, "prove_cpu_s": cpu_s, "others_cpu_frac": others, "peak_rss_mib": rss, "verify_ms": verify_ms}));
        bundle = Some(b);
    }
    let b = bundle.context("no run")?;
    let gas = match chain {
        None => serde_json::Value::Null,
        Some(chain) => chain.measure(&a, &setup, &image, &mask, &salt, &b)?,
    };
    let shares = setup.plan().shares.as_ref();
    let col = |k: &str| -> Vec<f64> { runs.iter().map(|r| r[k].as_f64().unwrap_or(f64::NAN)).collect() };
    let base_col = |k: &str| -> Vec<f64> { base_runs.iter().map(|r| r[k].as_f64().unwrap_or(f64::NAN)).collect() };
    let baseline_json = baseline.as_ref().map(|(bs, _)| {
        let (w, c) = (median(&mut base_col("prove_s")), median(&mut base_col("prove_cpu_s")));
        json!({"model": bs.model().manifest().name, "submission": bs.model().manifest().rules.submission.as_str(),
               "prove_s_median": w, "prove_cpu_s_median": c,
               "ratio_wall": median(&mut col("prove_s")) / w, "ratio_cpu": median(&mut col("prove_cpu_s")) / c,
               "detail": base_runs})
    });
    let summary = json!({
        "model": model.manifest().name, "version": model.manifest().version, "model_id": model.id_hex(),
        "submission": model.manifest().rules.submission.as_str(),
        "k": setup.srs().k(), "rows": setup.plan().rows,
        // mpc-shares: the shares chip's own columns (x/y rows and Poseidon rows of S_1..S_3).
        "shares": shares.map(|s| json!({"chunks": s.chunks, "rows": s.rows, "poseidon_rows": s.poseidon_rows})),
        "envelope_bytes": b.envelopes.iter().map(Vec::len).sum::<usize>(), "advice_columns": setup.verifying_key().cs().num_advice_columns(),
        "lookups": setup.verifying_key().cs().lookups().len(),
        "fixed_columns": setup.verifying_key().cs().num_fixed_columns(),
        "permutation_columns": setup.verifying_key().cs().permutation().get_columns().len(),
        "advice_and_fixed_queries": setup.verifying_key().cs().advice_queries().len() + setup.verifying_key().cs().fixed_queries().len(),
        "keygen_s": keygen_s, "keygen_cpu_s": keygen_cpu, "keygen_others_cpu_frac": keygen_others, "keygen_peak_rss_mib": keygen_rss,
        "key_source": format!("{:?}", setup.key_source()),
        "runs": runs.len(),
        "prove_s_median": median(&mut col("prove_s")), "prove_cpu_s_median": median(&mut col("prove_cpu_s")),
        "prove_peak_rss_mib_max": col("peak_rss_mib").into_iter().fold(0.0, f64::max),
        "verify_ms_median": median(&mut col("verify_ms")),
        "others_cpu_frac_median": median(&mut col("others_cpu_frac")),
        "proof_bytes": b.proof.len(), "public_input_bytes": 32 * b.public_inputs.len(), "bundle_bytes": b.to_bytes().len(),
        "valid_bits": b.valid_bits,
        "gas": gas,
        "baseline": baseline_json,
        "detail": runs,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        if !summary["gas"].is_null() {
            println!("gas: {}", summary["gas"]);
        }
        if let Some(b) = summary["baseline"].as_object() {
            println!(
                "baseline {} ({}): prove median {:.2} s ({:.1} CPU-s); {} / baseline = {:.3} wall, {:.3} CPU",
                b["model"].as_str().unwrap_or("?"),
                b["submission"].as_str().unwrap_or("?"),
                b["prove_s_median"].as_f64().unwrap_or(0.0),
                b["prove_cpu_s_median"].as_f64().unwrap_or(0.0),
                summary["model"].as_str().unwrap_or("?"),
                b["ratio_wall"].as_f64().unwrap_or(0.0),
                b["ratio_cpu"].as_f64().unwrap_or(0.0),
            );
        }
        if let Some(s) = shares {
            println!(
                "submission mpc-shares: {} chunks, shares region {} rows (Poseidon {} rows), envelopes {} B",
                s.chunks, s.rows, s.poseidon_rows, summary["envelope_bytes"]
            );
        }
        println!(
            "{} {} ({}): k={} rows={} | prove median {:.2} s ({:.1} CPU-s, others {:.0}%) | peak RSS {:.0} MiB | proof {} B + {} B public inputs | verify {:.1} ms",
            summary["model"].as_str().unwrap_or("?"),
            summary["version"].as_str().unwrap_or("?"),
            summary["submission"].as_str().unwrap_or("?"),
            summary["k"],
            summary["rows"],
            summary["prove_s_median"].as_f64().unwrap_or(0.0),
            summary["prove_cpu_s_median"].as_f64().unwrap_or(0.0),
            summary["others_cpu_frac_median"].as_f64().unwrap_or(0.0) * 100.0,
            summary["prove_peak_rss_mib_max"].as_f64().unwrap_or(0.0),
            summary["proof_bytes"],
            summary["public_input_bytes"],
            summary["verify_ms_median"].as_f64().unwrap_or(0.0),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Gas in revm: the bare verifier call, `register` (with a development-device signature) and,
/// with `--upgrade-to`, `upgrade`.
#[cfg(feature = "evm")]
mod gas {
    use anyhow::{Context, Result};
    use serde_json::json;
    use zkiris::commitment::Salt;
    use zkiris::evm::{LocalRegistry, Solc};
    use zkiris::image::{IrisImage, IrisMask};
    use zkiris::prover::{CancellationToken, NoProgress, ProofBundle, ProvingSetup};
    use zkiris::public::Binding;

    use super::BenchArgs;

    const ISSUER: [u8; 20] = [0x15; 20];
    const USER: [u8; 20] = [0x42; 20];

    /// The registry in a local EVM, deployed before proving so the proofs can be bound to it.
    pub struct Chain(LocalRegistry);

    impl Chain {
        /// Deploys the registry.
        pub fn deploy() -> Result<Self> {
            let solc = Solc::locate().context("gas needs solc 0.8.19 (`npm ci --prefix contracts`), or pass --no-evm")?;
            Ok(Self(LocalRegistry::deploy(solc, ISSUER, false)?))
        }

        /// The binding of proofs that the bench's account submits to this registry.
        pub fn binding(&self) -> Binding {
            self.0.binding(USER)
        }

        /// Measures the gas of `bundle` (and of an upgrade proof with `--upgrade-to`).
        pub fn measure(
            self,
            a: &BenchArgs,
            setup: &ProvingSetup,
            image: &IrisImage,
            mask: &IrisMask,
            salt: &Salt,
            bundle: &ProofBundle,
        ) -> Result<serde_json::Value> {
            let mut chain = self.0;
            let device = zkiris::attest::dev_device_key();
            chain.trust_device(&device.id())?;
            let published = chain.publish(setup)?;
            let c = zkiris::commitment::commit(image, mask, salt)?;
            let mut b = bundle.clone();
            b.attestation = Some(zkiris::prover::Attestation { device: device.id(), signature: device.sign_commitment(&c.0) });
            let verify = chain.verify_directly(published.verifier, USER, &b)?;
            // The same verifier as one contract (over EIP-170, so on a chain without the limit): the
            // difference is what splitting costs. With the exact precompile count and the calldata
            // price, that gives where the verifier's gas goes.
            let breakdown = {
                use zkiris::evm::{calldata::encode_verifier_calldata, calldata_gas, LocalEvm, VerifierSource, VERIFIER_CONTRACT};
                let solc = Solc::locate()?;
                let rendered = VerifierSource::render(setup.srs().params(), setup.verifying_key(), setup.plan().instances)?;
                // The source the deployed verifier was compiled from (see `Solc::compile_verifier`).
                let source = solc.compile_verifier(&rendered)?.source().cloned().unwrap_or(rendered);
                let whole = solc.compile_contract(&[("Halo2Verifier.sol", source.solidity())], VERIFIER_CONTRACT)?;
                let mut unlimited = LocalEvm::without_code_size_limit();
                let address = unlimited.deploy(ISSUER, whole.creation_code)?.address;
                let calldata = encode_verifier_calldata(&b.instances()?, &b.proof);
                let calldata_cost = calldata_gas(&calldata);
                let out = unlimited.call(USER, address, calldata)?;
                anyhow::ensure!(out.success, "the single-contract verifier rejected the proof");
                let calls = source.precompile_calls();
                let (memory_generated, memory_compacted) = source.memory_bytes();
                json!({
                    "single_contract": out.gas_used,
                    "transaction_base": 21_000,
                    "calldata": calldata_cost,
                    "precompiles": calls.gas(),
                    "precompile_calls": calls,
                    "other_execution": out.gas_used.saturating_sub(21_000 + calldata_cost + calls.gas()),
                    "split_hand_over": verify.gas_used.saturating_sub(out.gas_used),
                    "memory_bytes_generated": memory_generated,
                    "memory_bytes_compacted": memory_compacted,
                })
            };
            // The registry takes layout v2 with 16,384-bit codes; other models measure the verifier only.
            let register = if zkiris::evm::registry_accepts(&b) { Some(chain.register(USER, &b)?) } else { None };
            let mut out = json!({
                "verify": verify.gas_used, "verify_calldata_bytes": verify.calldata_bytes, "verify_breakdown": breakdown,
                "register": register.as_ref().map(|r| r.gas_used), "register_calldata_bytes": register.as_ref().map(|r| r.calldata_bytes),
                "verifier_contracts": published.verifier_parts, "verifier_largest_runtime_bytes": published.largest_part_bytes,
                "verifier_deploy": published.deploy_gas,
            });
            if let Some(next) = &a.upgrade_to {
                let mut args = a.setup.clone();
                args.model = next.clone();
                let s2 = args.prepare("proving key (upgrade)", args.model()?)?;
                let options = super::bench_options(s2.model(), Some(chain.binding(USER)));
                let b2 = s2.prove(image, mask, salt, None, &options, &NoProgress, &CancellationToken::new())?;
                chain.publish(&s2)?;
                out["upgrade"] = json!(chain.upgrade(USER, &b2)?.gas_used);
            }
            Ok(out)
        }
    }
}

/// Without the `evm` feature there is no chain to measure gas on.
#[cfg(not(feature = "evm"))]
mod gas {
    use anyhow::Result;
    use zkiris::commitment::Salt;
    use zkiris::image::{IrisImage, IrisMask};
    use zkiris::prover::{ProofBundle, ProvingSetup};
    use zkiris::public::Binding;

    use super::BenchArgs;

    /// Never constructed.
    pub enum Chain {}

    impl Chain {
        pub fn deploy() -> Result<Self> {
            anyhow::bail!("built without the `evm` feature; pass --no-evm")
        }

        pub fn binding(&self) -> Binding {
            match *self {}
        }

        pub fn measure(self, _: &BenchArgs, _: &ProvingSetup, _: &IrisImage, _: &IrisMask, _: &Salt, _: &ProofBundle) -> Result<serde_json::Value> {
            match self {}
        }
    }
}
