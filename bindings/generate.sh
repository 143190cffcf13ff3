#!/usr/bin/env bash
# Regenerates every committed UniFFI binding from the host build of zkiris-ffi (library mode:
# the bindings are read from the metadata compiled into libzkiris_ffi, so they always match
# the Rust API):
#
#   android/zkiris/src/main/kotlin/dev/zkiris/ffi/zkiris_ffi.kt   Kotlin (Android and JVM)
#   ios/Sources/ZkirisFFI/ZkirisFFI.swift                         Swift
#   ios/Headers/zkiris_ffiFFI/{zkiris_ffiFFI.h,module.modulemap}  C header and module map
#                                                                 (packed into the XCFramework's
#                                                                 Headers/; see below)
#
# The module map sits in Headers/zkiris_ffiFFI/, a directory named after the C module, not at
# the root of Headers/: Xcode copies the Headers/ of every static-library XCFramework an app
# links into one include directory, so two of them with a root module.modulemap collide
# ("Multiple commands produce .../include/module.modulemap"). Clang also looks for a module map
# in a subdirectory named after the module it imports, so `import zkiris_ffiFFI` still resolves
# from -I Headers.
#
# Usage:
#   bindings/generate.sh           regenerate in place
#   bindings/generate.sh --check   regenerate into a temporary directory and fail if anything
#                                  differs from the committed files (what CI runs)
#
# The host library comes from `cargo build -p zkiris-ffi --lib` (dev profile), or from
# $ZKIRIS_FFI_LIB when that names an already built libzkiris_ffi (scripts/test passes the one
# its optimised test build made, so CI does not compile every dependency a second time).
#
# The bindings do not depend on the target: the host library describes the same API as the
# phone builds.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-target}"
case "$(uname -s)" in
  Darwin) lib="$target/debug/libzkiris_ffi.dylib" ;;
  *) lib="$target/debug/libzkiris_ffi.so" ;;
esac
prebuilt="${ZKIRIS_FFI_LIB:-}"

# The generators must be the UniFFI version the library is built with.
uniffi_version() { awk '/^name = "uniffi"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$1"; }
lib_uniffi="$(uniffi_version Cargo.lock)"
gen_uniffi="$(uniffi_version bindings/uniffi-bindgen/Cargo.lock)"
if [ -z "$lib_uniffi" ] || [ "$lib_uniffi" != "$gen_uniffi" ]; then
  echo "generate.sh: Cargo.lock has uniffi '$lib_uniffi' but bindings/uniffi-bindgen/Cargo.lock has '$gen_uniffi'; pin the same version in both" >&2
  exit 1
fi

if [ -n "$prebuilt" ]; then
  [ -f "$prebuilt" ] || { echo "generate.sh: ZKIRIS_FFI_LIB=$prebuilt is not a file" >&2; exit 1; }
  lib="$prebuilt"
else
  cargo build -p zkiris-ffi --lib
fi
[ -f "$lib" ] || { echo "generate.sh: $lib was not built" >&2; exit 1; }
# The generators are their own small workspace (bindings/uniffi-bindgen/Cargo.toml says why).
cargo build --release --manifest-path bindings/uniffi-bindgen/Cargo.toml
bindgen="$target/release/uniffi-bindgen"
[ -n "${CARGO_TARGET_DIR:-}" ] || bindgen="bindings/uniffi-bindgen/target/release/uniffi-bindgen"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$bindgen" generate --library "$lib" --crate zkiris_ffi --language kotlin --no-format --metadata-no-deps --out-dir "$out/kotlin"
"$bindgen-swift" --swift-sources --headers --modulemap \
  --module-name zkiris_ffiFFI --modulemap-filename module.modulemap --metadata-no-deps "$lib" "$out/swift"

kotlin_dir=android/zkiris/src/main/kotlin/dev/zkiris/ffi
swift_dir=ios/Sources/ZkirisFFI
# The whole of ios/Headers is generated: exactly zkiris_ffiFFI/{zkiris_ffiFFI.h,module.modulemap}
# (--check fails on anything else in it, such as a module map left at its root).
header_dir=ios/Headers
mkdir -p "$out/expected/kotlin" "$out/expected/swift" "$out/expected/headers/zkiris_ffiFFI"
cp "$out/kotlin/dev/zkiris/ffi/zkiris_ffi.kt" "$out/expected/kotlin/"
cp "$out/swift/"*.swift "$out/expected/swift/"
cp "$out/swift/zkiris_ffiFFI.h" "$out/swift/module.modulemap" "$out/expected/headers/zkiris_ffiFFI/"

if $check; then
  status=0
  diff -ru "$out/expected/kotlin" "$kotlin_dir" || status=1
  diff -ru "$out/expected/swift" "$swift_dir" || status=1
  diff -ru "$out/expected/headers" "$header_dir" || status=1
  if [ "$status" -ne 0 ]; then
    echo "generate.sh: the committed bindings are out of date with the Rust API; run bindings/generate.sh and commit the result" >&2
    exit 1
  fi
  echo "bindings are up to date"
else
  for pair in "kotlin:$kotlin_dir" "swift:$swift_dir" "headers:$header_dir"; do
    dest="${pair#*:}"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -R "$out/expected/${pair%%:*}/." "$dest/"
  done
  echo "regenerated: $kotlin_dir $swift_dir $header_dir"
fi
