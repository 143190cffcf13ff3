//! `uniffi-bindgen-swift` pinned to zkiris-ffi's UniFFI version: the Swift sources, the C
//! header and an XCFramework-style module map (`--xcframework`).

fn main() {
    uniffi::uniffi_bindgen_swift()
}
