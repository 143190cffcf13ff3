//! Issue 16 measurement: how big is an `AggregationCircuit` (snark-verifier-sdk 0.2.7, halo2 loader)
//! that verifies N world-v3 proofs (public-code `world-v3`, or mpc-shares `world-v3-mpc`)?
//!
//! ```text
//! cargo run --release -p zkiris --features agg,dev-keys --example agg_spike -- \
//!     [--model world-v3] [--n 1,2] [--lookup-bits 20] [--cache DIR] [--prove K]
//! ```
//!
//! Prepares the model (development SRS, proving key cached in DIR, default `$TMPDIR/zkiris-agg`),
//! proves one bundled sample with the Poseidon transcript (`ProveOptions::transcript`), checks it
//! natively, then builds the aggregation circuit for each N in witness-generation mode only and
//! prints the builder statistics and the column counts `calculate_params` gives for several k.
//! `--prove K`: also keygen + prove the aggregation of the first N at k = K (lookup bits K − 1).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use zkiris::commitment::Salt;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::{IssuerKeys, Model};
use zkiris::mpc::PartySecretKey;
use zkiris::prover::agg::accumulator_holds as decide;
use zkiris::prover::{CancellationToken, NoProgress, ProofTranscript, ProveOptions, ProvingSetup, SrsSource};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model_name = arg(&args, "--model").unwrap_or_else(|| "world-v3".into());
    let ns: Vec<usize> = arg(&args, "--n").unwrap_or_else(|| "1,2".into()).split(',').map(|s| s.parse().unwrap()).collect();
    let lookup_bits: usize = arg(&args, "--lookup-bits").map(|s| s.parse().unwrap()).unwrap_or(20);
    let cache = arg(&args, "--cache").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("zkiris-agg"));
    let prove_k: Option<u32> = arg(&args, "--prove").map(|s| s.parse().unwrap());
    std::fs::create_dir_all(&cache)?;
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");

    let model = Arc::new(Model::load(&models.join(&model_name).join("manifest.json"), &IssuerKeys::development())?);
    let [h, w] = [model.manifest().rules.inputs[0].shape[0], model.manifest().rules.inputs[0].shape[1]];
    let samples = models.join("samples");
    let image = IrisImage::read_png(&samples.join(format!("synth-eye_{h}x{w}.png")))?;
    let mask = IrisMask::read_png(&samples.join(format!("synth-eye_{h}x{w}_mask.png")))?;

    let t = Instant::now();
    let setup = ProvingSetup::prepare(model, &SrsSource::Development, Some(&cache), &NoProgress, &CancellationToken::new())?;
    let vk = setup.verifying_key();
    println!(
        "setup {model_name}: k={} {:?} {:.1} s; inner: {} instances, {} advice cols, {} fixed, {} lookups, {} phases, {} challenges, peak RSS {:.0} MiB",
        setup.srs().k(),
        setup.key_source(),
        t.elapsed().as_secs_f64(),
        setup.plan().instances,
        vk.cs().num_advice_columns(),
        vk.cs().num_fixed_columns(),
        vk.cs().lookups().len(),
        vk.cs().advice_column_phase().iter().max().map(|p| p + 1).unwrap_or(0),
        vk.cs().num_challenges(),
        peak_rss_mib()
    );

    let t = Instant::now();
    // An mpc-shares model (world-v3-mpc) seals its shares to three parties: throwaway keys.
    let options = match setup.plan().shares {
        None => ProveOptions { transcript: ProofTranscript::Poseidon, ..ProveOptions::default() },
        Some(_) => ProveOptions {
            party_keys: Some([(); 3].map(|_| PartySecretKey::generate().public_key())),
            transcript: ProofTranscript::Poseidon,
            ..ProveOptions::default()
        },
    };
    let bundle = setup.prove(&image, &mask, &Salt::random(), None, &options, &NoProgress, &CancellationToken::new())?;
    let snark = Snark::new(setup.snark_protocol(), vec![bundle.instances()?], bundle.proof.clone());
    println!(
        "poseidon-transcript proof: {} bytes, {} public inputs, {} share envelopes, {:.1} s, peak RSS {:.0} MiB",
        snark.proof.len(),
        snark.instances[0].len(),
        bundle.envelopes.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    let t = Instant::now();
    setup.verifier().verify(&bundle)?;
    println!("native verify (Poseidon transcript): ok, {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let p = &snark.protocol;
    println!(
        "protocol: num_witness {:?}, num_challenge {:?}, {} preprocessed, {} evaluations, {} queries, quotient chunks {}",
        p.num_witness,
        p.num_challenge,
        p.preprocessed.len(),
        p.evaluations.len(),
        p.queries.len(),
        p.quotient.num_chunk()
    );

    let params = setup.srs().params().clone();
    for &n in &ns {
        let t = Instant::now();
        let mut agg = AggregationCircuit::new::<SHPLONK>(
            CircuitBuilderStage::Mock,
            AggregationConfigParams { degree: lookup_bits as u32 + 1, lookup_bits, ..Default::default() },
            &params,
            vec![snark.clone(); n],
            VerifierUniversality::None,
        );
        agg.expose_previous_instances(false);
        let witness_s = t.elapsed().as_secs_f64();
        let stats = agg.builder.statistics();
        let advice: usize = stats.gate.total_advice_per_phase.iter().sum();
        let lookup: usize = stats.total_lookup_advice_per_phase.iter().sum();
        println!(
            "N={n}: witness gen {witness_s:.1} s, peak RSS {:.0} MiB; advice cells {:?}, lookup cells {:?}, fixed (constants) {}, instances {}",
            peak_rss_mib(),
            stats.gate.total_advice_per_phase,
            stats.total_lookup_advice_per_phase,
            stats.gate.total_fixed,
            agg.num_instance()[0]
        );
        for k in (lookup_bits as u32 + 1)..=24 {
            let rows = (1usize << k) - 20;
            println!("   k={k}: ~{} advice cols, ~{} lookup cols (lookup_bits {lookup_bits})", advice.div_ceil(rows), lookup.div_ceil(rows));
        }
        let inst = agg.instances();
        println!(
            "   accumulator pairing check (native): {}; previous instances re-exposed: {}",
            decide(&params, &inst[0]),
            inst[0][12..] == snark.instances[0][..]
        );
        let cp = agg.calculate_params(Some(20));
        println!("   calculate_params @k={}: {cp:?}", lookup_bits + 1);
    }

    if let Some(k) = prove_k {
        let n = ns[0];
        let agg_srs = SrsSource::Development.get(k, &cache)?;
        let agg_params = agg_srs.params();
        let cfg = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
        let t = Instant::now();
        let mut agg = AggregationCircuit::new::<SHPLONK>(CircuitBuilderStage::Keygen, cfg, &params, vec![snark.clone(); n], VerifierUniversality::None);
        agg.expose_previous_instances(false);
        let cfg = agg.calculate_params(Some(20));
        println!("agg N={n} k={k}: {cfg:?}");
        let pk = snark_verifier_sdk::gen_pk(agg_params, &agg, None);
        let bp = agg.break_points();
        drop(agg);
        println!("agg keygen: {:.1} s, peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), peak_rss_mib());
        let t = Instant::now();
        let mut agg = AggregationCircuit::new::<SHPLONK>(CircuitBuilderStage::Prover, cfg, &params, vec![snark.clone(); n], VerifierUniversality::None)
            .use_break_points(bp);
        agg.expose_previous_instances(false);
        let instances = agg.instances();
        let proof = snark_verifier_sdk::evm::gen_evm_proof_shplonk(agg_params, &pk, agg, instances.clone());
        println!("agg prove (EVM transcript): {:.1} s, {} bytes, peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), proof.len(), peak_rss_mib());
        snark_verifier_sdk::evm::write_calldata(&instances, &proof, &cache.join(format!("agg_calldata_n{n}_k{k}.hex")))?;
        println!("agg accumulator pairing check with the k={k} SRS: {}", decide(agg_params, &instances[0]));
        let t = Instant::now();
        let sol = snark_verifier_sdk::evm::gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(agg_params, pk.get_vk(), vec![instances[0].len()]);
        std::fs::write(cache.join(format!("AggVerifier_n{n}_k{k}.sol")), &sol)?;
        println!("agg EVM verifier source: {} chars, {:.1} s", sol.len(), t.elapsed().as_secs_f64());
    }
    Ok(())
}
