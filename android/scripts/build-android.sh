#!/usr/bin/env bash
# Cross-compiles the zkiris Rust library for Android and puts it where the Gradle library
# expects it:
#
#   android/zkiris/src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}/libzkiris_ffi.so
#
# Then `cd android && ./gradlew :zkiris:assembleRelease` packages the AAR
# (zkiris/build/outputs/aar/zkiris-release.aar). The Kotlin bindings do not depend on the
# target; they are committed and regenerated with bindings/generate.sh.
#
# Requirements (none of them exist on the CI machine, so CI does not run this script):
#   - the Android NDK (r26 or newer), with ANDROID_NDK_HOME pointing at it;
#   - cargo-ndk 3.x:            cargo install cargo-ndk
#   - the Rust targets:         rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#
# Options (environment):
#   PROFILE=mobile      cargo profile (workspace [profile.mobile]: opt-level z, fat LTO, stripped)
#   ANDROID_API=24      minimum API level to link against (the Gradle module's minSdk)
#
# Phone builds use --no-default-features: no x86_64 assembly, and no host-only tooling
# (revm and solc are never dependencies of zkiris-ffi). They use `cargo rustc --crate-type
# cdylib`, not `cargo build`: zkiris-ffi also has the `lib` crate type (for its Rust tests), and
# cargo silently drops LTO for a crate with mixed crate types (19.2 MB instead of 15.8 MB on the
# host proxy, bindings/README.md). Relocations are packed (Android APS2, API 23+), -0.9 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROFILE="${PROFILE:-mobile}"
# ZKIRIS_FEATURES=aggregatable: aggregatable (Poseidon-transcript) proofs, +0.64 MB (bindings/README.md).
FEATURES=()
if [ -n "${ZKIRIS_FEATURES:-}" ]; then FEATURES=(--features "$ZKIRIS_FEATURES"); fi
ANDROID_API="${ANDROID_API:-24}"
ABIS=(arm64-v8a armeabi-v7a x86_64)
TRIPLES=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
DEST=android/zkiris/src/main/jniLibs

die() { echo "build-android.sh: $*" >&2; exit 1; }

command -v cargo-ndk >/dev/null || die "cargo-ndk not found; install it with: cargo install cargo-ndk"
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
  die "set ANDROID_NDK_HOME to the Android NDK directory"
fi
installed="$(rustup target list --installed)"
for t in "${TRIPLES[@]}"; do
  grep -qx "$t" <<<"$installed" || die "Rust target $t missing; run: rustup target add ${TRIPLES[*]}"
done

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# Link flags of the final library only (after `--`): 16 KB page alignment (required on Android
# 15+ devices with 16 KB pages) and packed relocations.
# shellcheck disable=SC2054  # the commas belong to -Wl,..., they do not separate array elements
LINK_ARGS=(-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=android)

# Build into a temporary directory, then replace jniLibs in one step: a failed build never
# leaves a mix of old and new libraries.
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for i in "${!ABIS[@]}"; do
  abi="${ABIS[$i]}" triple="${TRIPLES[$i]}"
  # cargo-ndk sets the NDK linker and clang (tract-linalg assembles its kernels with it).
  cargo ndk --platform "$ANDROID_API" -t "$abi" \
    rustc -p zkiris-ffi --lib --profile "$PROFILE" --no-default-features ${FEATURES[@]+"${FEATURES[@]}"} --crate-type cdylib -- "${LINK_ARGS[@]}"
  lib="$TARGET_DIR/$triple/$PROFILE/libzkiris_ffi.so"
  [ -s "$lib" ] || die "the build produced no $lib"
  mkdir -p "$out/$abi"
  cp "$lib" "$out/$abi/"
done

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -R "$out" "$DEST"
echo "==> Android libraries:"
for abi in "${ABIS[@]}"; do
  printf '  %-12s %s bytes\n' "$abi" "$(wc -c <"$DEST/$abi/libzkiris_ffi.so")"
done
echo "==> next: cd android && ./gradlew :zkiris:assembleRelease (or :zkiris:publishToMavenLocal)"
