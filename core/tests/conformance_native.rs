//! Bit-exact conformance of the native executor + encoder against the shared reference vectors:
//! world-v3 (Remainder's own witness bits) and every open-iris 1.11.2 sample (fragile bits
//! included). Zero flipped bits is the only passing result.

mod common;

use common::*;

#[test]
fn world_v3_iris_and_mask_bits_match_remainder() {
    let model = bundled_model("world-v3");
    let (image, mask) = world_v3_test_inputs();
    let enc = model.encode(&image, &mask).unwrap();
    let d = conformance_dir().join("world-v3/remainder_witness");
    for (kind, ours) in [("iris", &enc.bits.iris), ("mask", &enc.bits.mask)] {
        let expected = std::fs::read(d.join(format!("{kind}_sign_bits_remainder.bin"))).unwrap();
        // Remainder order: (i*256 + j)*4 + f; ours: plane-major f*4096 + i*256 + j.
        let mut flips = 0;
        for f in 0..4 {
            for i in 0..16 {
                for j in 0..256 {
                    if ours[f * 4096 + i * 256 + j] != expected[(i * 256 + j) * 4 + f] {
                        flips += 1;
                    }
                }
            }
        }
        assert_eq!(flips, 0, "{kind}: {flips} flipped bits");
    }
}

#[test]
fn world_v3_mask_matches_published_test_code() {
    let model = bundled_model("world-v3");
    let (image, mask) = world_v3_test_inputs();
    let enc = model.encode(&image, &mask).unwrap();
    let code = std::fs::read(conformance_dir().join("world-v3/constants/mask/test_code.bin")).unwrap();
    assert_eq!(enc.bits.mask, code, "mask code differs from constants/mask/test_code.bin");
}

#[test]
fn openiris_every_sample_bit_exact_including_fragile_bits() {
    let samples = openiris_samples();
    assert!(samples.len() >= 12, "expected the 12 shared samples, found {samples:?}");
    let mut cache: std::collections::HashMap<&str, zkiris::model::Model> = Default::default();
    for name in samples {
        let (image, mask) = openiris_sample(&name);
        let rel = openiris_model_for_shape(image.height(), image.width());
        let model = cache.entry(rel).or_insert_with(|| bundled_model(rel));
        let enc = model.encode(&image, &mask).unwrap();
        let p = conformance_dir().join("openiris/samples").join(format!("{name}.npz"));
        for (key, ours) in [("iris_codes", &enc.bits.iris), ("mask_codes", &enc.bits.mask)] {
            // (filter, row, col, component) -> our plane-major (2*filter + component, row, col).
            let (shape, expected) = npz_bool(&p, key);
            assert_eq!(shape, vec![2, 16, 256, 2]);
            let mut flips = 0;
            for f in 0..2 {
                for i in 0..16 {
                    for j in 0..256 {
                        for c in 0..2 {
                            let e = expected[((f * 16 + i) * 256 + j) * 2 + c];
                            if ours[((2 * f + c) * 16 + i) * 256 + j] != e {
                                flips += 1;
                            }
                        }
                    }
                }
            }
            assert_eq!(flips, 0, "{name} {key}: {flips} flipped bits");
        }
    }
}

#[test]
fn openiris_integer_responses_match_the_reference_sums() {
    let model = bundled_model("openiris-1.11");
    let (image, mask) = openiris_sample("real_A_pipeline");
    let enc = model.encode(&image, &mask).unwrap();
    let g = model.graph();
    let resp = enc.trace().get(g.output("response").unwrap());
    let occl = enc.trace().get(g.output("occlusion").unwrap());
    let p = conformance_dir().join("openiris/samples/real_A_pipeline.npz");
    for (ch, key) in [(0, "int_re_0"), (1, "int_im_0"), (2, "int_re_1"), (3, "int_im_1")] {
        let (_, v) = npz_array::<i64>(&p, key);
        assert_eq!(&resp.data[ch * 4096..(ch + 1) * 4096], &v[..], "{key}");
    }
    for (ch, key) in [(0, "int_occl_a_re_0"), (1, "int_occl_a_im_0"), (2, "int_occl_a_re_1"), (3, "int_occl_a_im_1")] {
        let (_, v) = npz_array::<i64>(&p, key);
        assert_eq!(&occl.data[ch * 4096..(ch + 1) * 4096], &v[..], "{key}");
    }
}
