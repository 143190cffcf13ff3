//! The linear analysis finds the convolution structure of the shipped models, and the plans
//! reproduce the native executor exactly.

use super::common::*;
use crate::circuit::plan::linear::{detect_conv, Boundary, LinearAnalysis};

fn check_model(rel: &str, image: crate::image::IrisImage, mask: crate::image::IrisMask, expect: &[(&str, usize, usize, Boundary)]) {
    let model = bundled_model(rel);
    let g = model.graph();
    let t0 = std::time::Instant::now();
    let la = LinearAnalysis::new(g).unwrap();
    let enc = model.encode(&image, &mask).unwrap();
    for (name, stride, taps, boundary) in expect {
        let t = g.output(name).unwrap();
        let map = la.map(t);
        let src = map.source.unwrap();
        let plan = detect_conv(map, &g.info(src).shape, &g.info(t).shape).unwrap_or_else(|| panic!("{name}: no conv structure"));
        assert_eq!((plan.stride, plan.taps, plan.boundary), (*stride, *taps, *boundary), "{name}");
        assert_eq!(plan.eval(&enc.trace.get(src).data), enc.trace.get(t).data, "{name}: plan != executor");
        eprintln!(
            "{rel}/{name}: {} segments x {} outputs, {} chains x {}, {} blocks, {} kernels, pad {}+{}",
            plan.segments,
            plan.outputs,
            plan.chains,
            plan.width,
            plan.blocks.len(),
            plan.kernels.len(),
            plan.pad_lo,
            plan.pad_hi
        );
    }
    eprintln!("{rel}: analysis {:?}", t0.elapsed());
}

#[test]
fn world_v3_is_two_circular_stride_4_convolutions() {
    let (i, m) = world_v3_test_inputs();
    check_model("world-v3", i, m, &[("iris_response", 4, 41, Boundary::Circular), ("mask_count", 4, 41, Boundary::Circular)]);
}

#[test]
fn openiris_is_two_circular_stride_2_convolutions() {
    let (i, m) = openiris_sample("real_A_pipeline");
    check_model("openiris-1.11", i, m, &[("response", 2, 41, Boundary::Circular), ("occlusion", 2, 41, Boundary::Circular)]);
}
