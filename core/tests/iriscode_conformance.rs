//! `zkiris::iriscode` against the open-iris 1.11.2 and world-v3 reference vectors in
//! `tests/conformance/` (vendored; `$ZKIRIS_CONFORMANCE` overrides). A missing directory fails
//! the tests.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::npz::Npz;
use serde_json::Value;
use zkiris::iriscode::{BitPos, CodeBits, CodeLayout, HammingDistanceMatcher, IrisCode, IrisTemplate, MatcherParams, SimpleHammingDistanceMatcher};

/// Tolerance against serde_json's parse of matching.json (its float parsing can be 1 ulp off).
/// Distances are additionally checked bit for bit against `str::parse` of the raw JSON text.
const TOL: f64 = 1e-9;

fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("ZKIRIS_CONFORMANCE").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"));
    assert!(dir.join("openiris/matching.json").is_file(), "conformance vectors not found in {}", dir.display());
    dir
}

fn npz_array<T: npyz::Deserialize>(npz: &mut Npz, name: &str, shape: &[u64]) -> Vec<T> {
    let arr = npz.array(name);
    assert_eq!(arr.shape(), shape, "shape of {name}");
    arr.into_vec().unwrap()
}

/// open-iris new-format codes, shape (filter 2, row 16, col 256, component 2).
fn from_new_format(bits: &[bool]) -> CodeBits {
    assert_eq!(bits.len(), CodeBits::BITS);
    CodeBits::from_fn(|pos| {
        let i = ((pos.filter() * 16 + pos.row()) * 256 + pos.col()) * 2 + pos.component();
        bits[i]
    })
}

const NEW_SHAPE: [u64; 4] = [2, 16, 256, 2];

/// Every template matching.json names, by name.
fn load_templates(conf: &Path) -> BTreeMap<String, IrisCode> {
    let mut out = BTreeMap::new();
    let samples = conf.join("openiris/samples");
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("npz") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let mut npz = Npz::open(&path);
        let code = from_new_format(&npz_array::<bool>(&mut npz, "iris_codes", &NEW_SHAPE));
        let mask = from_new_format(&npz_array::<bool>(&mut npz, "mask_codes", &NEW_SHAPE));
        out.insert(name, IrisCode::new(code, mask));
    }
    let mut npz = Npz::open(&conf.join("openiris/fixture_templates.npz"));
    let names: Vec<String> = npz.names().iter().filter_map(|n| n.strip_suffix("__iris_codes")).map(str::to_owned).collect();
    for name in names {
        let code = from_new_format(&npz_array::<bool>(&mut npz, &format!("{name}__iris_codes"), &NEW_SHAPE));
        let mask = from_new_format(&npz_array::<bool>(&mut npz, &format!("{name}__mask_codes"), &NEW_SHAPE));
        out.insert(name, IrisCode::new(code, mask));
    }
    out
}

fn matching_json(conf: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(conf.join("openiris/matching.json")).unwrap()).unwrap()
}

fn matching_text(conf: &Path) -> String {
    std::fs::read_to_string(conf.join("openiris/matching.json")).unwrap()
}

/// The first `n` numbers written as `"key": <number>` after the first `anchor` in `text`, in
/// file order, parsed exactly (`str::parse` rounds correctly, as Python's `float` does).
fn raw_numbers(text: &str, anchor: &str, key: &str, n: usize) -> Vec<f64> {
    let start = text.find(anchor).unwrap_or_else(|| panic!("{anchor} not in matching.json"));
    let pat = format!("\"{key}\": ");
    let out: Vec<f64> = text[start..]
        .match_indices(&pat)
        .take(n)
        .map(|(i, _)| {
            let rest = &text[start + i + pat.len()..];
            let end = rest.find([',', '\n', '}']).unwrap();
            rest[..end].trim().parse().unwrap()
        })
        .collect();
    assert_eq!(out.len(), n, "{key} after {anchor}");
    out
}

/// `got` equals the exactly parsed `exact`, which is the token `approx` came from.
fn bit_exact(got: f64, exact: f64, approx: f64, what: &str) {
    close(exact, approx, &format!("{what} (raw token lookup)"));
    assert_eq!(got.to_bits(), exact.to_bits(), "{what}: got {got:?}, open-iris {exact:?}");
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{v} is not an integer"))
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= TOL, "{what}: got {got:.17}, want {want:.17}");
}

#[test]
fn openiris_serialization_reproduces_every_sample() {
    let conf = conformance_dir();
    let mut n = 0;
    for entry in std::fs::read_dir(conf.join("openiris/samples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("npz") {
            continue;
        }
        let name = path.display().to_string();
        let mut npz = Npz::open(&path);
        let code = IrisCode::new(
            from_new_format(&npz_array::<bool>(&mut npz, "iris_codes", &NEW_SHAPE)),
            from_new_format(&npz_array::<bool>(&mut npz, "mask_codes", &NEW_SHAPE)),
        );
        let want_iris = String::from_utf8(npz_array::<u8>(&mut npz, "iris_codes_b64_utf8", &[2732])).unwrap();
        let want_mask = String::from_utf8(npz_array::<u8>(&mut npz, "mask_codes_b64_utf8", &[2732])).unwrap();

        // The flat old format (16, 256, 2, 2) is what gets packed.
        for (bits, key) in [(code.code(), "iris_codes_old_format"), (code.mask(), "mask_codes_old_format")] {
            let old = npz_array::<bool>(&mut npz, key, &[16, 256, 2, 2]);
            let packed = bits.to_packed(CodeLayout::Openiris);
            for (k, &want) in old.iter().enumerate() {
                assert_eq!(packed[k / 8] & (0x80 >> (k % 8)) != 0, want, "{name} {key}[{k}]");
            }
        }

        let (iris_b64, mask_b64) = code.to_base64(CodeLayout::Openiris);
        assert_eq!(iris_b64, want_iris, "{name} iris_codes");
        assert_eq!(mask_b64, want_mask, "{name} mask_codes");
        let back = IrisCode::from_base64(&want_iris, &want_mask, CodeLayout::Openiris).unwrap();
        assert_eq!(back, code, "{name} parse(serialize(x))");

        // The JSON template carries the same strings.
        let t = IrisTemplate::new([0x5a; 32], &code, CodeLayout::Openiris);
        assert_eq!((t.iris_codes.as_str(), t.mask_codes.as_str()), (want_iris.as_str(), want_mask.as_str()));
        assert_eq!(IrisTemplate::from_json(&t.to_json()).unwrap().decode().unwrap(), code);
        n += 1;
    }
    assert_eq!(n, 12, "expected the 12 samples of the README");
}

#[test]
fn fixture_templates_round_trip_in_both_layouts() {
    let conf = conformance_dir();
    let templates = load_templates(&conf);
    assert_eq!(templates.len(), 16);
    for (name, code) in &templates {
        assert!(code.valid_bits() > 4096, "{name}: open-iris rejects templates with < 4096 mask bits");
        for layout in [CodeLayout::Openiris, CodeLayout::WorldV3] {
            let (i, m) = code.to_base64(layout);
            assert_eq!((i.len(), m.len()), (2732, 2732));
            assert_eq!(&IrisCode::from_base64(&i, &m, layout).unwrap(), code, "{name} {layout:?}");
        }
    }
}

fn read_bits(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(bytes.len(), CodeBits::BITS, "{}", path.display());
    bytes
}

/// World-v3 witness order `(i*256 + j)*4 + f` → [`IrisCode`] bits (plane f, row i, col j).
fn from_witness_order(bits: &[u8]) -> CodeBits {
    CodeBits::from_fn(|pos| bits[(pos.row() * 256 + pos.col()) * 4 + pos.plane()] == 1)
}

#[test]
fn world_v3_layout_and_plane_mapping() {
    let conf = conformance_dir().join("world-v3");
    let iris_w = read_bits(&conf.join("remainder_witness/iris_sign_bits_remainder.bin"));
    let mask_w = read_bits(&conf.join("remainder_witness/mask_sign_bits_remainder.bin"));
    let code = IrisCode::new(from_witness_order(&iris_w), from_witness_order(&mask_w));

    // WorldV3 packbits index is f*4096 + i*256 + j, MSB first.
    for (bits, witness) in [(code.code(), &iris_w), (code.mask(), &mask_w)] {
        let packed = bits.to_packed(CodeLayout::WorldV3);
        for plane in 0..4 {
            for row in 0..16 {
                for col in 0..256 {
                    let k = plane * 4096 + row * 256 + col;
                    let got = packed[k / 8] & (0x80 >> (k % 8)) != 0;
                    assert_eq!(got, witness[(row * 256 + col) * 4 + plane] == 1, "plane {plane} row {row} col {col}");
                }
            }
        }
    }

    // Remainder's mask test_code.bin is the [4, 16, 256] (plane-major) layout, one byte per bit.
    let mask_pm = read_bits(&conf.join("constants/mask/test_code.bin"));
    assert_eq!(CodeBits::from_plane_major(&mask_pm).unwrap(), *code.mask());
    assert_eq!(code.mask().to_plane_major(), mask_pm);

    // Plane mapping: world-v3 mask bits of re and im are identical per filter (README), so
    // planes (0, 1) and (2, 3) must be the two components of filters 0 and 1.
    for pos in BitPos::all() {
        let re = BitPos::from_filter(pos.filter(), pos.row(), pos.col(), 0).unwrap();
        assert_eq!(code.mask_bit(pos), code.mask_bit(re), "{pos:?}");
        assert_eq!(pos.plane(), 2 * pos.filter() + pos.component());
    }
    // ... and the iris code's components do differ (the mapping is not vacuous).
    let differ = BitPos::all()
        .filter(|&p| p.component() == 1)
        .filter(|&p| code.code_bit(p) != code.code_bit(BitPos::from_filter(p.filter(), p.row(), p.col(), 0).unwrap()));
    assert!(differ.count() > 3000);

    // Round trips, and conversion between the two layouts.
    let (wi, wm) = code.to_base64(CodeLayout::WorldV3);
    let back = IrisCode::from_base64(&wi, &wm, CodeLayout::WorldV3).unwrap();
    assert_eq!(back, code);
    let (oi, om) = back.to_base64(CodeLayout::Openiris);
    assert_ne!(oi, wi);
    assert_eq!(IrisCode::from_base64(&oi, &om, CodeLayout::Openiris).unwrap(), code);
    // Open-iris layout of a world-v3 code: bit (f, i, j) at ((i*256 + j)*2 + f/2)*2 + f%2.
    let packed = code.code().to_packed(CodeLayout::Openiris);
    for (k, &w) in iris_w.iter().enumerate() {
        let (ij, plane) = (k / 4, k % 4);
        let idx = (ij * 2 + plane / 2) * 2 + plane % 2;
        assert_eq!(packed[idx / 8] & (0x80 >> (idx % 8)) != 0, w == 1);
    }

    // The matcher applies to world-v3 codes: a gallery rolled by +5 columns matches exactly
    // at shift +5.
    let rolled = |c: &CodeBits| CodeBits::from_fn(|p| c.get(BitPos::new(p.plane(), p.row(), (p.col() + 256 - 5) % 256).unwrap()));
    let gallery = IrisCode::new(rolled(code.code()), rolled(code.mask()));
    let raw = SimpleHammingDistanceMatcher::default().run(&code, &gallery);
    assert_eq!((raw.distance, raw.shift), (0.0, 5));
    assert_eq!(raw.common_mask_bits, code.valid_bits());
    assert_eq!(HammingDistanceMatcher::default().run(&code, &gallery).shift, 5);
}

#[test]
fn every_matching_pair_reproduced() {
    let conf = conformance_dir();
    let templates = load_templates(&conf);
    let json = matching_json(&conf);
    let params = &json["matcher_params"];
    assert_eq!(i(&params["rotation_shift"]), 15);
    close(f(&params["norm_mean"]), 0.45, "norm_mean");
    close(f(&params["norm_gradient"]), 5e-5, "norm_gradient");
    assert_eq!(params["separate_half_matching"], true);

    let default = HammingDistanceMatcher::default();
    let simple = SimpleHammingDistanceMatcher::default();
    let no_half = HammingDistanceMatcher::new(MatcherParams { separate_half_matching: false, ..MatcherParams::default() }).unwrap();
    let pairs = json["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 120);
    let text = matching_text(&conf);
    let keys = ["HammingDistanceMatcher_default", "raw_hd_min_over_shifts", "raw_hd_shift0", "normalised_no_half_split"];
    let exact: Vec<Vec<f64>> = keys.iter().map(|k| raw_numbers(&text, "\"pairs\"", k, pairs.len())).collect();
    let mut max_err = 0.0f64;
    for (p, pair) in pairs.iter().enumerate() {
        let (pn, gn) = (pair["probe"].as_str().unwrap(), pair["gallery"].as_str().unwrap());
        let what = format!("{pn} vs {gn}");
        let probe = templates.get(pn).unwrap_or_else(|| panic!("no template {pn}"));
        let gallery = templates.get(gn).unwrap_or_else(|| panic!("no template {gn}"));

        let d = default.run(probe, gallery);
        close(d.distance, f(&pair["HammingDistanceMatcher_default"]), &format!("{what} default"));
        assert_eq!(i64::from(d.shift), i(&pair["best_shift_default"]), "{what} default shift");

        let r = simple.run(probe, gallery);
        close(r.distance, f(&pair["raw_hd_min_over_shifts"]), &format!("{what} raw"));
        assert_eq!(i64::from(r.shift), i(&pair["best_shift_raw"]), "{what} raw shift");
        assert_eq!(r.distance, f64::from(r.nonmatch_bits) / f64::from(r.common_mask_bits));

        let s0 = default.score_shift(probe, gallery, 0).raw_hd().unwrap();
        close(s0, f(&pair["raw_hd_shift0"]), &format!("{what} raw @0"));

        let n = no_half.run(probe, gallery);
        close(n.distance, f(&pair["normalised_no_half_split"]), &format!("{what} no half split"));
        assert_eq!(i64::from(n.shift), i(&pair["best_shift_no_half_split"]), "{what} no-half shift");

        for (k, got) in [d.distance, r.distance, s0, n.distance].into_iter().enumerate() {
            max_err = max_err.max((got - f(&pair[keys[k]])).abs());
            bit_exact(got, exact[k][p], f(&pair[keys[k]]), &format!("{what} {}", keys[k]));
        }
    }
    eprintln!("max |error| vs serde_json's parse over 120 pairs x 4 columns: {max_err:e} (bit-exact vs raw text)");
}

#[test]
fn per_shift_traces_reproduced() {
    let conf = conformance_dir();
    let templates = load_templates(&conf);
    let json = matching_json(&conf);
    let text = matching_text(&conf);
    let traces = json["per_shift_traces"].as_object().unwrap();
    assert_eq!(traces.len(), 4);
    let m = HammingDistanceMatcher::default();
    for (key, want) in traces {
        let (pn, gn) = key.split_once("__vs__").unwrap();
        let got = m.trace(&templates[pn], &templates[gn]);
        let want = want.as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{key}");
        let anchor = format!("\"{key}\": [");
        let fkeys = ["normalized_hd_total", "normalized_hd_half0", "normalized_hd_half1", "final_distance", "raw_hd"];
        let exact: Vec<Vec<f64>> = fkeys.iter().map(|k| raw_numbers(&text, &anchor, k, want.len())).collect();
        for (t, (g, w)) in got.iter().zip(want).enumerate() {
            let what = format!("{key} shift {}", g.shift);
            assert_eq!(i64::from(g.shift), i(&w["shift"]), "{what}: shift order");
            assert_eq!(i64::from(g.nonmatch_total()), i(&w["nonmatch_bits_common_mask"]), "{what}");
            assert_eq!(i64::from(g.common_mask_total()), i(&w["common_mask_bits"]), "{what}");
            close(g.raw_hd().unwrap(), f(&w["raw_hd"]), &format!("{what} raw_hd"));
            for h in 0..2 {
                close(2.0 * f64::from(g.nonmatch_bits[h]), f(&w["half_counts_x2"]["iris"][h]), &format!("{what} ib{h}"));
                close(2.0 * f64::from(g.common_mask_bits[h]), f(&w["half_counts_x2"]["mask"][h]), &format!("{what} mb{h}"));
            }
            let terms = g.normalised.unwrap();
            let halves = terms.halves.unwrap();
            close(terms.total, f(&w["normalized_hd_total"]), &format!("{what} total"));
            close(halves[0], f(&w["normalized_hd_half0"]), &format!("{what} half0"));
            close(halves[1], f(&w["normalized_hd_half1"]), &format!("{what} half1"));
            close(g.distance.unwrap(), f(&w["final_distance"]), &format!("{what} final"));
            let ours = [terms.total, halves[0], halves[1], g.distance.unwrap(), g.raw_hd().unwrap()];
            for (k, got) in ours.into_iter().enumerate() {
                bit_exact(got, exact[k][t], f(&w[fkeys[k]]), &format!("{what} {}", fkeys[k]));
            }
        }
        // run() is the first minimum of the trace.
        let best = m.run(&templates[pn], &templates[gn]);
        let first_min = got.iter().fold(None::<(f64, i32)>, |acc, s| match (acc, s.distance) {
            (Some((d, _)), Some(x)) if x < d => Some((x, s.shift)),
            (None, Some(x)) => Some((x, s.shift)),
            (acc, _) => acc,
        });
        assert_eq!(Some((best.distance, best.shift)), first_min, "{key}");
    }
}

#[test]
fn real_code_edge_cases() {
    let conf = conformance_dir();
    let templates = load_templates(&conf);
    let a = &templates["real_A_pipeline"];

    // Identical codes: raw distance 0 at shift 0; the default normalisation scores > 0.
    let raw = SimpleHammingDistanceMatcher::default().run(a, a);
    assert_eq!((raw.distance, raw.shift, raw.nonmatch_bits, raw.common_mask_bits), (0.0, 0, 0, a.valid_bits()));
    let d = HammingDistanceMatcher::default().run(a, a);
    assert_eq!(d.shift, 0);
    assert!(d.distance > 0.0 && d.distance < 0.01, "{}", d.distance);

    // The two v1.9.2 Worldcoin fixtures have identical codes: matching.json says 0.0039 at 0.
    let (o, s) = (&templates["wc_expected_orb_v1.9.2"], &templates["wc_expected_simple_v1.9.2"]);
    assert_eq!(o.code(), s.code());

    // All-zero mask on either side: every shift is skipped, distance 1 at shift 0, no NaN.
    let blind = IrisCode::new(a.code().clone(), CodeBits::zeros());
    for m in [HammingDistanceMatcher::default(), HammingDistanceMatcher::new(MatcherParams::OPENIRIS_SIMPLE_DEFAULT).unwrap()] {
        for (p, g) in [(a, &blind), (&blind, a), (&blind, &blind)] {
            let r = m.run(p, g);
            assert_eq!((r.distance, r.shift, r.common_mask_bits), (1.0, 0, 0));
        }
    }
}
