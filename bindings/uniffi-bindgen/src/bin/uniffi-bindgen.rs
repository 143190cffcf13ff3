//! `uniffi-bindgen` pinned to zkiris-ffi's UniFFI version. Library mode:
//! `uniffi-bindgen generate --library target/debug/libzkiris_ffi.so --language kotlin --out-dir …`.
//! Run it through `bindings/generate.sh`, which regenerates every committed binding.

fn main() {
    uniffi::uniffi_bindgen_main()
}
