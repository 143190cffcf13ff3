#!/usr/bin/env bash
# Packages the XCFramework built by ios/scripts/build-xcframework.sh for a release and points the
# root Package.swift (the manifest apps use) at it:
#
#   ios/scripts/release-xcframework.sh https://HOST/PATH/zkiris_ffiFFI.xcframework.zip
#
#   1. zips ios/zkiris_ffiFFI.xcframework into ios/dist/zkiris_ffiFFI.xcframework.zip (the
#      XCFramework at the root of the zip, as SwiftPM requires), after checking that every slice
#      has Headers/zkiris_ffiFFI/module.modulemap and no module map at the root of Headers/;
#   2. computes the zip's SHA-256: `swift package compute-checksum` when swift is installed, and
#      sha256sum (or `shasum -a 256`) always; the script fails if they differ. They agree by
#      construction: SwiftPM's checksum of a binary artifact is the SHA-256 of the archive's bytes
#      in lower-case hex (Workspace's checksum(forBinaryArtifactAt:): hash(contents)
#      .hexadecimalRepresentation), which is what sha256sum and `shasum -a 256` print;
#   3. writes the URL and the checksum between the BEGIN/END release-xcframework.sh markers of
#      Package.swift (nothing else in the file changes) and checks the result with
#      scripts/check-packaging.sh swift-manifest --released.
#
# Then: upload the zip to exactly that URL (e.g. as a release asset), commit Package.swift, and tag
# that commit with the version apps ask for. SwiftPM downloads the zip and refuses it if its
# SHA-256 differs from the manifest's, so the zip must not be rebuilt after this script ran.
#
# The zip is made with `ditto -c -k --sequesterRsrc --keepParent` on macOS (what Apple's tools
# use for XCFramework archives) and with `zip -r -y -X` elsewhere (symlinks kept, no extra file
# attributes). Only the macOS path is used for real releases (build-xcframework.sh needs Xcode);
# scripts/check-packaging.sh runs this script on Linux against a fixture XCFramework to test
# steps 1-3.
#
# Options (environment; the defaults are the real release):
#   XCFRAMEWORK=ios/zkiris_ffiFFI.xcframework   the XCFramework to package
#   OUT_DIR=ios/dist                            where the zip goes (git-ignored)
#   MANIFEST=Package.swift                      the manifest to update
set -euo pipefail
cd "$(dirname "$0")/../.."

NAME=zkiris_ffiFFI
XCFRAMEWORK="${XCFRAMEWORK:-ios/$NAME.xcframework}"
OUT_DIR="${OUT_DIR:-ios/dist}"
MANIFEST="${MANIFEST:-Package.swift}"

die() { echo "release-xcframework.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 https://HOST/PATH/$NAME.xcframework.zip"
url="$1"
# The URL goes into a Swift string literal: no quotes, backslashes or whitespace.
[[ "$url" =~ ^https://[^[:space:]\"\\]+\.zip$ ]] || die "the URL must be https:// and end in .zip: $url"

[ "$(basename "$XCFRAMEWORK")" = "$NAME.xcframework" ] || die "$XCFRAMEWORK: the XCFramework must be named $NAME.xcframework (the binary target's name)"
[ -f "$XCFRAMEWORK/Info.plist" ] || die "$XCFRAMEWORK/Info.plist not found; build it with ios/scripts/build-xcframework.sh"
[ -f "$MANIFEST" ] || die "$MANIFEST not found"

# Every slice (a directory holding a Headers/ directory) carries the module map in
# Headers/zkiris_ffiFFI/, none at the root of Headers/.
slices=0
while IFS= read -r headers; do
  slices=$((slices + 1))
  [ -f "$headers/$NAME/module.modulemap" ] || die "$headers/$NAME/module.modulemap missing"
  [ -f "$headers/$NAME/$NAME.h" ] || die "$headers/$NAME/$NAME.h missing"
  [ ! -e "$headers/module.modulemap" ] || die "$headers/module.modulemap: a module map at the root of Headers/ collides with other XCFrameworks'"
done < <(find "$XCFRAMEWORK" -mindepth 2 -maxdepth 2 -type d -name Headers)
[ "$slices" -gt 0 ] || die "$XCFRAMEWORK has no slice with a Headers/ directory"

# 1. The zip, with the XCFramework at its root.
mkdir -p "$OUT_DIR"
zip_path="$(cd "$OUT_DIR" && pwd)/$NAME.xcframework.zip"
rm -f "$zip_path"
parent="$(cd "$(dirname "$XCFRAMEWORK")" && pwd)"
if [ "$(uname -s)" = Darwin ] && command -v ditto >/dev/null; then
  ditto -c -k --sequesterRsrc --keepParent "$parent/$NAME.xcframework" "$zip_path"
else
  command -v zip >/dev/null || die "zip not found (apt-get install zip)"
  (cd "$parent" && zip -q -r -y -X "$zip_path" "$NAME.xcframework")
fi
# (The listing is read whole first: with pipefail, grep -q closing a pipe early fails at random.)
grep -qx "$NAME.xcframework/Info.plist" <<<"$(unzip -Z1 "$zip_path")" || die "$zip_path does not hold $NAME.xcframework/Info.plist at its root"

# 2. The checksum.
if command -v sha256sum >/dev/null; then
  checksum="$(sha256sum "$zip_path" | awk '{print $1}')"
elif command -v shasum >/dev/null; then
  checksum="$(shasum -a 256 "$zip_path" | awk '{print $1}')"
else
  die "neither sha256sum nor shasum found"
fi
if command -v swift >/dev/null; then
  swift_checksum="$(swift package compute-checksum "$zip_path")"
  [ "$swift_checksum" = "$checksum" ] || die "swift package compute-checksum says $swift_checksum, sha-256 says $checksum"
  echo "swift package compute-checksum agrees: $swift_checksum"
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "not a SHA-256: $checksum"

# 3. The manifest: replace the two lines between the markers, exactly once each.
tmp="$(mktemp "${MANIFEST}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
awk -v url="$url" -v sum="$checksum" '
  /^\/\/ BEGIN release-xcframework\.sh/ { inside = 1; begins++ }
  /^\/\/ END release-xcframework\.sh/ { inside = 0; ends++ }
  inside && /^let xcframeworkURL = "[^"]*"$/ { print "let xcframeworkURL = \"" url "\""; urls++; next }
  inside && /^let xcframeworkChecksum = "[^"]*"$/ { print "let xcframeworkChecksum = \"" sum "\""; sums++; next }
  { print }
  END { if (begins != 1 || ends != 1 || urls != 1 || sums != 1) exit 1 }
' "$MANIFEST" >"$tmp" || die "$MANIFEST: expected one BEGIN/END release-xcframework.sh block with one xcframeworkURL and one xcframeworkChecksum line"
cat "$tmp" >"$MANIFEST"
scripts/check-packaging.sh swift-manifest "$MANIFEST" --released

echo "==> $zip_path"
echo "    sha256 $checksum"
echo "==> $MANIFEST now points at $url"
echo "    next: upload the zip to that URL, commit $MANIFEST, tag the commit"
