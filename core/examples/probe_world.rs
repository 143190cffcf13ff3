//! Temporary probe: full-size world-v3 statement (no commitment yet): plan, keygen, prove, verify.
use std::sync::Arc;
use std::time::Instant;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer};
use rand_chacha::rand_core::SeedableRng;
use zkiris::circuit::{IrisCircuit, StatementPlan, Witness};
use zkiris::model::{IssuerKeys, Model};

fn rss() -> u64 { std::fs::read_to_string("/proc/self/status").unwrap().lines().find(|l| l.starts_with("VmHWM")).unwrap().split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024 }

fn main() {
    let name = std::env::args().nth(1).unwrap_or("world-v3".into());
    let model = Model::load(std::path::Path::new(&format!("models/{name}/manifest.json")), &IssuerKeys::development()).unwrap();
    let t = Instant::now();
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let k = plan.min_k();
    println!("plan {:?}: rows {} k {} atoms {} instances {}", t.elapsed(), plan.rows, k, plan.atoms.len(), plan.instances);
    let (img, mask) = if name == "world-v3" {
        let d = "/work/shared/conformance/world-v3/constants";
        (zkiris::image::IrisImage::new(128, 1024, std::fs::read(format!("{d}/iris/test_image.bin")).unwrap()).unwrap(),
         zkiris::image::IrisMask::new(128, 1024, std::fs::read(format!("{d}/mask/test_image.bin")).unwrap()).unwrap())
    } else {
        (zkiris::image::IrisImage::read_png(std::path::Path::new("models/samples/synth-eye_128x512.png")).unwrap(),
         zkiris::image::IrisMask::read_png(std::path::Path::new("models/samples/synth-eye_128x512_mask.png")).unwrap())
    };
    let t = Instant::now();
    let params = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(1));
    println!("srs {:?}", t.elapsed());
    let t = Instant::now();
    let c0 = IrisCircuit::new(plan.clone());
    let vk = keygen_vk(&params, &c0).unwrap();
    let pk = keygen_pk(&params, vk, &c0).unwrap();
    println!("keygen {:?} rss {} MB", t.elapsed(), rss());
    let t = Instant::now();
    let w = Witness::new(&model, &plan, &img, &mask, Fr::from(3), Fr::from(0)).unwrap();
    println!("witness {:?}", t.elapsed());
    let inst = w.instances.clone();
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    let t = Instant::now();
    let mut tr = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<_>, _, _, _, _>(&params, &pk, &[c], &[&[&inst]], rand_chacha::ChaCha20Rng::seed_from_u64(2), &mut tr).unwrap();
    let proof = tr.finalize();
    println!("prove {:?} size {} rss {} MB", t.elapsed(), proof.len(), rss());
    let t = Instant::now();
    let mut tr = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
    let ok = verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<_>, _, _, _>(params.verifier_params(), pk.get_vk(), SingleStrategy::new(&params), &[&[&inst]], &mut tr);
    println!("verify {:?} {:?}", t.elapsed(), ok.is_ok());
}
