//! World's MPC share vectors (`tests/conformance/world-mpc/vectors.json`, as published with
//! Remainder_CE): the native ring, encoding, sharing and reconstruction reproduce every one.

use std::path::{Path, PathBuf};

use zkiris::mpc::masked_value;
use zkiris::mpc::{decode, encode, GrElement, ENCODING_MATRIX, EVAL_POINTS};
use zkiris::mpc::{reconstruct, share, MaskedCode, Party, Share, Slopes};

fn vectors() -> serde_json::Value {
    let dir = std::env::var_os("ZKIRIS_CONFORMANCE").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"));
    let path = dir.join("world-mpc/vectors.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("vectors.json")
}

fn quads(v: &serde_json::Value) -> Vec<[u16; 4]> {
    v.as_array().expect("array").iter().map(|q| std::array::from_fn(|j| q[j].as_u64().expect("u16") as u16)).collect()
}

#[test]
fn constants_match_the_published_ones() {
    let v = vectors();
    assert_eq!(quads(&v["encoding_matrix_rows"]), ENCODING_MATRIX.to_vec());
    assert_eq!(quads(&v["evaluation_points"]), EVAL_POINTS.iter().map(|p| p.0).collect::<Vec<_>>());
    assert_eq!(v["modulus"], 65536);
}

#[test]
fn every_vector_encodes_shares_and_reconstructs() {
    let v = vectors();
    let masked = quads(&v["masked_codes"]);
    let elements = quads(&v["encoded_elements"]);
    let slopes = quads(&v["slopes"]);
    let published: Vec<Vec<[u16; 4]>> = (0..3).map(|p| quads(&v["shares"][p])).collect();
    assert_eq!(masked.len(), 20);
    for (k, (m, e)) in masked.iter().zip(&elements).enumerate() {
        assert_eq!(encode(*m).0, *e, "encode, vector {k}");
        assert_eq!(decode(GrElement(*e)), *m, "decode, vector {k}");
    }
    let code = MaskedCode::from_chunks(masked.clone());
    let shares = share(&code, &Slopes::from_elements(slopes.iter().map(|s| GrElement(*s)).collect())).unwrap();
    for p in 0..3 {
        assert_eq!(shares[p].elements().iter().map(|e| e.0).collect::<Vec<_>>(), published[p], "party {}", p + 1);
    }
    for a in 0..3 {
        for b in 0..3 {
            if a != b {
                let sa = Share::new(Party::ALL[a], published[a].iter().map(|e| GrElement(*e)).collect());
                let sb = Share::new(Party::ALL[b], published[b].iter().map(|e| GrElement(*e)).collect());
                let back = reconstruct(&sa, &sb).unwrap();
                assert_eq!(back.iter().map(|e| e.0).collect::<Vec<_>>(), elements, "parties {} and {}", a + 1, b + 1);
                assert_eq!(MaskedCode::from_elements(&back).chunks(), &masked[..]);
            }
        }
    }
    assert_eq!([masked_value(0, 1), masked_value(1, 1), masked_value(0, 0), masked_value(1, 0)], [1, 65535, 0, 0]);
}

#[test]
fn combined_shares_give_back_code_and_mask() {
    // The vectors' masked values as serialized code/mask bytes, and back through two shares.
    let v = vectors();
    let masked = quads(&v["masked_codes"]);
    let (code, mask) = MaskedCode::from_chunks(masked.clone()).to_codes().unwrap();
    let again = MaskedCode::new(&code, &mask, 80).unwrap();
    assert_eq!(again.chunks(), &masked[..]);
    let shares = share(&again, &Slopes::random(20)).unwrap();
    let back = MaskedCode::from_elements(&reconstruct(&shares[2], &shares[0]).unwrap());
    let (c2, m2) = back.to_codes().unwrap();
    assert_eq!((&c2[..], &m2[..]), (&code[..], &mask[..]));
}
