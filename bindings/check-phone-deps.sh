#!/usr/bin/env bash
# Checks the dependency graph of the phone builds (what android/scripts/build-android.sh and
# ios/scripts/build-xcframework.sh compile: zkiris-ffi --no-default-features) for every phone
# target, without building anything (cargo tree reads Cargo.lock):
#
#   - no host-only crates: revm and its C libraries (blst, c-kzg, secp256k1-sys), compression
#     libraries in C (zstd-sys, bzip2-sys), the UniFFI generators;
#   - no x86_64 assembly feature (`asm`) on halo2 / halo2curves;
#   - no INSECURE development keys (zkiris feature `dev-keys`) and no test kit (`testkit`);
#   - the only crate that runs a C toolchain (`cc`) is tract-linalg, for its own hand-written
#     assembly kernels (built with the NDK's / Xcode's clang).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
forbidden='^(revm[a-z-]*|blst|c-kzg|secp256k1-sys|zstd-sys|bzip2-sys|openssl-sys|uniffi_bindgen|cargo_metadata|askama) '
status=0
# Each target twice: the default phone build, and with the opt-in `aggregatable` feature
# (ZKIRIS_FEATURES=aggregatable in the build scripts).
for t in "${targets[@]}" "${targets[@]/%/+aggregatable}"; do
  features=()
  if [[ "$t" == *+aggregatable ]]; then t="${t%+aggregatable}"; features=(--features aggregatable); fi
  tree="$(cargo tree -p zkiris-ffi --no-default-features "${features[@]+"${features[@]}"}" --target "$t" -e normal,build --prefix none -f '{p} [{f}]' | sed 's/ (\*)$//' | sort -u)"
  if bad="$(grep -E "$forbidden" <<<"$tree")"; then
    echo "phone build for $t pulls host-only crates:"; echo "$bad"; status=1
  fi
  if bad="$(grep -E '^halo2(-axiom|curves-axiom) .*[[,]asm[],]' <<<"$tree")"; then
    echo "phone build for $t enables x86_64 assembly:"; echo "$bad"; status=1
  fi
  if bad="$(grep -E '^zkiris .*[[,]testkit[],]' <<<"$tree")"; then
    echo "phone build for $t has the test kit (zkiris feature testkit):"; echo "$bad"; status=1
  fi
  if bad="$(grep -E '^zkiris .*[[,]dev-keys[],]' <<<"$tree")"; then
    echo "phone build for $t has the INSECURE development keys (zkiris feature dev-keys):"; echo "$bad"; status=1
  fi
  users="$(cargo tree -p zkiris-ffi --no-default-features "${features[@]+"${features[@]}"}" --target "$t" -e normal,build -i cc --depth 1 --prefix none -f '{p}' 2>/dev/null | sed 's/ (\*)$//' | grep -v '^cc ' | grep -v '^\[' | sort -u || true)"
  if [ -n "$users" ] && [ "$(awk '{print $1}' <<<"$users" | sort -u)" != "tract-linalg" ]; then
    echo "phone build for $t compiles C through cc for: $users"; status=1
  fi
done
# The check must be able to fail: the host build (default features) does enable asm.
host="$(cargo tree -p zkiris-ffi --target x86_64-unknown-linux-gnu -e normal --prefix none -f '{p} [{f}]')"
grep -qE '^halo2-axiom .*[[,]asm[],]' <<<"$host" || { echo "check-phone-deps.sh: the asm probe no longer matches the host build; fix the pattern"; status=1; }
# ... and so must the dev-keys check: the CLI does enable it.
cli="$(cargo tree -p zkiris-cli -e normal --prefix none -f '{p} [{f}]')"
grep -qE '^zkiris .*[[,]dev-keys[],]' <<<"$cli" || { echo "check-phone-deps.sh: the dev-keys probe no longer matches the CLI build; fix the pattern"; status=1; }
[ "$status" -eq 0 ] && echo "phone dependency graphs are clean for: ${targets[*]} (with and without aggregatable)"
exit "$status"
