#!/usr/bin/env bash
# Builds the zkiris Rust library for iOS and packages it as the XCFramework the Swift package's
# binary target points at:
#
#   ios/zkiris_ffiFFI.xcframework/
#     ios-arm64/                    libzkiris_ffi.a  (aarch64-apple-ios: devices)
#     ios-arm64_x86_64-simulator/   libzkiris_ffi.a  (lipo of aarch64-apple-ios-sim + x86_64-apple-ios)
#     [macos-arm64_x86_64/          libzkiris_ffi.a  (WITH_MACOS=1: for `swift test` on a Mac)]
#   each with Headers/ = ios/Headers, i.e. Headers/zkiris_ffiFFI/{zkiris_ffiFFI.h,module.modulemap}
#   (C module `zkiris_ffiFFI`; the module map is in a subdirectory named after the module so it
#   cannot collide with another XCFramework's, see bindings/generate.sh)
#
# Then `cd ios && xcodebuild test -scheme Zkiris -destination 'platform=iOS Simulator,name=iPhone 16'`
# (or `swift test` with WITH_MACOS=1) runs the XCTests through ios/Package.swift, the
# local-development manifest that points at this XCFramework; ios/scripts/release-xcframework.sh
# zips it for the root Package.swift, which apps use.
#
# Requirements (macOS only; none exist on the CI machine, so CI does not run this script):
#   - Xcode with its command-line tools (xcodebuild, lipo);
#   - the Rust targets: rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#     (and aarch64-apple-darwin x86_64-apple-darwin for WITH_MACOS=1).
#
# Options (environment):
#   PROFILE=mobile                    cargo profile (workspace [profile.mobile])
#   IPHONEOS_DEPLOYMENT_TARGET=15.0   minimum iOS version (the Package.swift platform)
#   WITH_MACOS=0                      also build a macOS slice
#
# Phone builds use --no-default-features: no x86_64 assembly and no host-only tooling. The
# static library is built with `cargo rustc --crate-type staticlib` (zkiris-ffi's Cargo.toml
# lists only lib and cdylib, and cargo drops LTO for mixed crate types anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."

PROFILE="${PROFILE:-mobile}"
# ZKIRIS_FEATURES=aggregatable: aggregatable (Poseidon-transcript) proofs, +0.64 MB (bindings/README.md).
FEATURES=()
if [ -n "${ZKIRIS_FEATURES:-}" ]; then FEATURES=(--features "$ZKIRIS_FEATURES"); fi
WITH_MACOS="${WITH_MACOS:-0}"
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
NAME=zkiris_ffiFFI
DEST="ios/$NAME.xcframework"

die() { echo "build-xcframework.sh: $*" >&2; exit 1; }

[ "$(uname -s)" = Darwin ] || die "needs macOS with Xcode"
command -v xcodebuild >/dev/null || die "xcodebuild not found; install Xcode"
command -v lipo >/dev/null || die "lipo not found; install the Xcode command-line tools"

triples=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
[ "$WITH_MACOS" = 1 ] && triples+=(aarch64-apple-darwin x86_64-apple-darwin)
installed="$(rustup target list --installed)"
for t in "${triples[@]}"; do
  grep -qx "$t" <<<"$installed" || die "Rust target $t missing; run: rustup target add ${triples[*]}"
done
headers="ios/Headers/$NAME"
if [ ! -f "$headers/$NAME.h" ] || [ ! -f "$headers/module.modulemap" ]; then
  die "$headers is incomplete; run bindings/generate.sh"
fi

for t in "${triples[@]}"; do
  cargo rustc -p zkiris-ffi --lib --profile "$PROFILE" --no-default-features ${FEATURES[@]+"${FEATURES[@]}"} --target "$t" --crate-type staticlib
done
lib() { echo "$TARGET_DIR/$1/$PROFILE/libzkiris_ffi.a"; }

# Assemble in a temporary directory, then replace the XCFramework in one step.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sim" "$work/headers"
# Headers/zkiris_ffiFFI/{zkiris_ffiFFI.h,module.modulemap} in every slice.
cp -R ios/Headers/. "$work/headers/"
[ -f "$work/headers/$NAME/module.modulemap" ] || die "the module map is not at Headers/$NAME/module.modulemap"
[ ! -e "$work/headers/module.modulemap" ] || die "a module map at the root of Headers/ would collide with other XCFrameworks'"
# One fat library per platform: the two simulator architectures are joined with lipo.
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/sim/libzkiris_ffi.a"
args=(-library "$(lib aarch64-apple-ios)" -headers "$work/headers"
      -library "$work/sim/libzkiris_ffi.a" -headers "$work/headers")
if [ "$WITH_MACOS" = 1 ]; then
  mkdir -p "$work/macos"
  lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libzkiris_ffi.a"
  args+=(-library "$work/macos/libzkiris_ffi.a" -headers "$work/headers")
fi
xcodebuild -create-xcframework "${args[@]}" -output "$work/$NAME.xcframework"

rm -rf "$DEST"
mv "$work/$NAME.xcframework" "$DEST"
echo "==> $DEST"
du -sh "$DEST"/*/libzkiris_ffi.a
