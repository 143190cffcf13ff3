#!/usr/bin/env bash
# Size of the phone library, measured on the x86_64 Linux host as a proxy for the phone ABIs
# (the phone targets cannot be built here): zkiris-ffi with the phone features
# (--no-default-features) and the workspace's [profile.mobile] (opt-level z, codegen-units 1,
# stripped, panic = unwind for the FFI panic guard), built
#   1. without LTO,
#   2. with fat LTO (as build-android.sh does: `cargo rustc --crate-type cdylib`),
#   3. with fat LTO and packed relocations (build-android.sh packs them for Android).
# Slow (three release links of the whole dependency graph); not part of scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
lib="$target/mobile/libzkiris_ffi.so"
# ZKIRIS_FEATURES=aggregatable measures the phone build with that opt-in feature.
FEATURES=()
if [ -n "${ZKIRIS_FEATURES:-}" ]; then FEATURES=(--features "$ZKIRIS_FEATURES"); fi
build() { cargo rustc -p zkiris-ffi --lib --profile mobile --no-default-features ${FEATURES[@]+"${FEATURES[@]}"} --crate-type cdylib "$@"; }
size_of() { wc -c <"$lib" | tr -d ' '; }

CARGO_PROFILE_MOBILE_LTO=off build
no_lto="$(size_of)"
build
lto="$(size_of)"
lto_gz="$(gzip -9 -c "$lib" | wc -c | tr -d ' ')"
build -- -C link-arg=-Wl,-z,pack-relative-relocs
relr="$(size_of)"

mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB (%.2f MiB)", b / 1e6, b / 1048576 }'; }
echo
echo "| build (x86_64 host proxy, stripped) | bytes | size |"
echo "|---|---:|---:|"
echo "| no LTO | $no_lto | $(mb "$no_lto") |"
echo "| fat LTO | $lto | $(mb "$lto") |"
echo "| fat LTO + packed relocations | $relr | $(mb "$relr") |"
echo "| fat LTO, gzip -9 (download proxy) | $lto_gz | $(mb "$lto_gz") |"
