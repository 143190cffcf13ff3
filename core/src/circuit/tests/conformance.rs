//! The statement's honest witness on the conformance vectors.

use super::common::*;

/// The circuit's rule atoms (comparators, merged square/non-zero rows, ANDs) reproduce the
/// native codes on every open-iris sample: the public code words of the honest witness are
/// the words of the native (reference-exact, see above) iris and mask codes.
#[test]
fn openiris_circuit_witness_states_the_native_codes_on_every_sample() {
    use crate::circuit::{StatementPlan, Witness};
    use crate::iriscode::serialize::serialize_bits;
    use crate::public::code_words;
    let mut cache: std::collections::HashMap<&str, (crate::model::Model, StatementPlan)> = Default::default();
    for name in openiris_samples() {
        let (image, mask) = openiris_sample(&name);
        let rel = openiris_model_for_shape(image.height(), image.width());
        let (model, plan) = cache.entry(rel).or_insert_with(|| {
            let m = bundled_model(rel);
            let p = StatementPlan::new(&m).unwrap();
            (m, p)
        });
        let enc = model.encode(&image, &mask).unwrap();
        let w = Witness::new(model, plan, &image, &mask, Default::default(), Default::default()).unwrap();
        let layout = model.manifest().rules.code_layout;
        for (what, pack, bits) in [("iris", &plan.iris_pack, &enc.bits.iris), ("mask", &plan.mask_pack, &enc.bits.mask)] {
            let words = code_words(&serialize_bits(layout, 4, 16, 256, bits));
            assert_eq!(w.instances[pack.first_instance..pack.first_instance + pack.words()], words[..], "{name}: {what} words");
        }
    }
}
