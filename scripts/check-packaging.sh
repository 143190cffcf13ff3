#!/usr/bin/env bash
# The packaging checks that can run on the CI machine (Linux: no Xcode, Swift, Gradle, Android SDK
# or NDK). scripts/test runs it with no arguments.
#
#   scripts/check-packaging.sh                                    every check below
#   scripts/check-packaging.sh swift-manifest FILE [--released]   only the release block of FILE
#                                                                 (ios/scripts/release-xcframework.sh
#                                                                 runs this on what it wrote)
#
# 1. Swift package: the root Package.swift's binary target is the URL and checksum between the
#    release-xcframework.sh markers, and those are an https URL of a .zip and a SHA-256 (64 hex
#    digits) -- or, before the first release, both empty (reported; ZKIRIS_REQUIRE_RELEASE=1
#    makes that an error, for a release pipeline); the C module map is at
#    ios/Headers/zkiris_ffiFFI/module.modulemap with its header beside it and nothing at the root
#    of ios/Headers; the source paths the manifest names exist; ios/Package.swift (local
#    development) declares the same package but for the binary target and the ios/ prefix.
# 2. The release script, run for real on a fixture XCFramework (a directory with the real
#    headers and a placeholder library, made here; no Xcode): the zip's SHA-256 is what it writes
#    into a copy of Package.swift, with the given URL, and nothing else in the manifest changes;
#    it refuses an http URL and a module map at the root of Headers/.
# 3. Gradle wrapper: android/gradlew (executable), gradlew.bat, gradle-wrapper.properties pinning
#    an https distribution URL of a released Gradle and its distributionSha256Sum, and
#    gradle-wrapper.jar whose SHA-256 is Gradle's published checksum for it.
# 4. Maven publication: android/zkiris/build.gradle.kts applies maven-publish and publishes the
#    release component as dev.zkiris:zkiris-android at the workspace version; its dependencies
#    block, read as Gradle writes it into the POM (api -> compile, implementation -> runtime,
#    @aar -> type aar), equals android/zkiris/pom-dependencies.expected, whose JNA and coroutines
#    versions are android/jvm-tests/pom.xml's; and Maven resolves those exact dependencies (JNA's
#    .aar included) from Maven Central. This reads the build script: Gradle cannot run here, so
#    the POM Gradle generates is not produced here; build.gradle.kts checks it against the same
#    list when it generates it.
# 5. Every shell script in the repository (*.sh, or a sh/bash shebang) passes `bash -n` and the
#    linter shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-packaging: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

NAME=zkiris_ffiFFI
URL_RE='^https://[^[:space:]"\\]+\.zip$'
SHA_RE='^[0-9a-f]{64}$'

# The URL and checksum between the markers of a manifest; $2 = true demands a release.
swift_manifest() {
  local file="$1" released="$2" block url sum
  [ -f "$file" ] || fail "$file not found"
  [ "$(grep -c '^// BEGIN release-xcframework\.sh' "$file")" = 1 ] || fail "$file: needs one '// BEGIN release-xcframework.sh' line"
  [ "$(grep -c '^// END release-xcframework\.sh' "$file")" = 1 ] || fail "$file: needs one '// END release-xcframework.sh' line"
  block="$(awk '/^\/\/ BEGIN release-xcframework\.sh/ { inside = 1; next } /^\/\/ END release-xcframework\.sh/ { inside = 0 } inside' "$file")"
  [ "$(grep -c '^let xcframeworkURL = "[^"]*"$' <<<"$block")" = 1 ] || fail "$file: needs one 'let xcframeworkURL = \"...\"' line between the markers"
  [ "$(grep -c '^let xcframeworkChecksum = "[^"]*"$' <<<"$block")" = 1 ] || fail "$file: needs one 'let xcframeworkChecksum = \"...\"' line between the markers"
  url="$(sed -n 's/^let xcframeworkURL = "\(.*\)"$/\1/p' <<<"$block")"
  sum="$(sed -n 's/^let xcframeworkChecksum = "\(.*\)"$/\1/p' <<<"$block")"
  grep -q "\.binaryTarget(name: \"$NAME\", url: xcframeworkURL, checksum: xcframeworkChecksum)" "$file" ||
    fail "$file: the binary target $NAME must use xcframeworkURL and xcframeworkChecksum"
  if [ "$released" = false ] && [ -z "$url" ] && [ -z "$sum" ]; then
    echo "  NOTE: $file names no released XCFramework yet (URL and checksum empty: none has been built with" \
      "Xcode and published; ios/scripts/release-xcframework.sh writes them). ZKIRIS_REQUIRE_RELEASE=1 makes this an error."
    return 0
  fi
  [[ "$url" =~ $URL_RE ]] || fail "$file: xcframeworkURL is not an https URL of a .zip: '$url'"
  [[ "$sum" =~ $SHA_RE ]] || fail "$file: xcframeworkChecksum is not a SHA-256 (64 lower-case hex digits): '$sum'"
  ok "$file: binary target $url, sha256 $sum"
}

sha256() { sha256sum "$1" | awk '{print $1}'; }

check_swift() {
  echo "==> Swift package"
  local released=false
  [ "${ZKIRIS_REQUIRE_RELEASE:-0}" = 1 ] && released=true
  swift_manifest Package.swift "$released"

  local modulemap="ios/Headers/$NAME/module.modulemap" header
  [ -f "$modulemap" ] || fail "$modulemap missing (bindings/generate.sh writes it)"
  grep -qE "^module $NAME \{" "$modulemap" || fail "$modulemap does not declare module $NAME"
  header="$(sed -n 's/^ *header "\(.*\)"$/\1/p' "$modulemap")"
  if [ -z "$header" ] || [ ! -f "ios/Headers/$NAME/$header" ]; then
    fail "$modulemap: its header '$header' is not beside it"
  fi
  local extra
  extra="$(find ios/Headers -mindepth 1 -maxdepth 1 ! -name "$NAME")"
  [ -z "$extra" ] || fail "ios/Headers must hold only $NAME/ (a module map or header at its root collides with other XCFrameworks'): $extra"
  ok "$modulemap (module $NAME, header $header), nothing else in ios/Headers"

  local path n=0
  while IFS= read -r path; do
    [ -d "$path" ] || fail "Package.swift names path \"$path\", which is not a directory"
    n=$((n + 1))
  done < <(sed -n 's/.*path: "\([^"]*\)".*/\1/p' Package.swift)
  [ "$n" -ge 3 ] || fail "Package.swift: expected the paths of ZkirisFFI, Zkiris and ZkirisTests, found $n"
  ok "Package.swift: the $n target paths exist"

  # The two manifests, without comments, blank lines and the release block, with the binary
  # target as a placeholder and the root's ios/ path prefix removed, must be identical.
  normalize() {
    awk '/^\/\/ BEGIN release-xcframework\.sh/ { skip = 1 } !skip { print } /^\/\/ END release-xcframework\.sh/ { skip = 0 }' "$1" |
      sed -e 's#^[[:space:]]*//.*##' -e '/^[[:space:]]*$/d' \
        -e "s#\.binaryTarget(name: \"$NAME\", [^)]*)#.binaryTarget(name: \"$NAME\", BINARY)#" \
        -e 's#path: "ios/#path: "#'
  }
  local drift
  # The root manifest's precondition on the release block has no counterpart in ios/Package.swift.
  drift="$(diff <(normalize Package.swift | sed '/^precondition(/,/^)$/d') <(normalize ios/Package.swift))" ||
    fail "Package.swift and ios/Package.swift declare different packages (beyond the binary target and the ios/ prefix):"$'\n'"$drift"
  ok "ios/Package.swift (local development) declares the same package"
}

check_release_script() {
  echo "==> ios/scripts/release-xcframework.sh on a fixture XCFramework"
  local tmp="$work/release" fw url zip sum written
  mkdir -p "$tmp"
  fw="$tmp/fixture/$NAME.xcframework"
  mkdir -p "$fw/ios-arm64/Headers"
  cp -R ios/Headers/. "$fw/ios-arm64/Headers/"
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict/></plist>\n' >"$fw/Info.plist"
  echo "fixture, not a library" >"$fw/ios-arm64/libzkiris_ffi.a"
  cp Package.swift "$tmp/Package.swift"
  url="https://example.invalid/zkiris/v0.0.0-test/$NAME.xcframework.zip"

  XCFRAMEWORK="$fw" OUT_DIR="$tmp/dist" MANIFEST="$tmp/Package.swift" ios/scripts/release-xcframework.sh "$url" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; fail "release-xcframework.sh failed on the fixture"; }
  zip="$tmp/dist/$NAME.xcframework.zip"
  [ -f "$zip" ] || fail "release-xcframework.sh wrote no $zip"
  # (Listings are read whole before grep -q: with pipefail, grep -q closing the pipe early would
  # fail the pipeline with SIGPIPE at random.)
  grep -qx "$NAME.xcframework/ios-arm64/Headers/$NAME/module.modulemap" <<<"$(unzip -Z1 "$zip")" ||
    fail "the zip lacks $NAME.xcframework/ios-arm64/Headers/$NAME/module.modulemap"
  sum="$(sha256 "$zip")"
  written="$(sed -n 's/^let xcframeworkChecksum = "\(.*\)"$/\1/p' "$tmp/Package.swift")"
  [ "$written" = "$sum" ] || fail "release-xcframework.sh wrote checksum '$written'; the zip's SHA-256 is $sum"
  grep -qxF "let xcframeworkURL = \"$url\"" "$tmp/Package.swift" || fail "release-xcframework.sh did not write the URL"
  [ "$(diff Package.swift "$tmp/Package.swift" | grep -c '^[<>]')" = 4 ] ||
    fail "release-xcframework.sh changed more than the URL and checksum lines:"$'\n'"$(diff Package.swift "$tmp/Package.swift")"
  swift_manifest "$tmp/Package.swift" true >/dev/null
  ok "zipped the fixture; wrote $url and its SHA-256 $sum; only those two lines changed"

  # A release check of the manifest as committed must fail while it names no release.
  if ! grep -qx 'let xcframeworkChecksum = ""' Package.swift; then
    : # Package.swift names a release; swift_manifest above checked it strictly already.
  elif (swift_manifest Package.swift true) >/dev/null 2>&1; then
    fail "swift-manifest --released accepted a manifest with no URL and checksum"
  fi
  cp Package.swift "$tmp/Package.swift"
  if XCFRAMEWORK="$fw" OUT_DIR="$tmp/dist" MANIFEST="$tmp/Package.swift" \
    ios/scripts/release-xcframework.sh "http://example.invalid/$NAME.xcframework.zip" >/dev/null 2>&1; then
    fail "release-xcframework.sh accepted an http:// URL"
  fi
  cp "$fw/ios-arm64/Headers/$NAME/module.modulemap" "$fw/ios-arm64/Headers/module.modulemap"
  if XCFRAMEWORK="$fw" OUT_DIR="$tmp/dist" MANIFEST="$tmp/Package.swift" ios/scripts/release-xcframework.sh "$url" >/dev/null 2>&1; then
    fail "release-xcframework.sh accepted a module map at the root of Headers/"
  fi
  cmp -s Package.swift "$tmp/Package.swift" || fail "a refused release-xcframework.sh run changed the manifest"
  ok "refuses an http URL and a root module map, and leaves the manifest alone then"
}

# Gradle's published SHA-256 of the wrapper JAR that Gradle 8.10 to 8.12.1 write (the same JAR for
# all of them; gradle.org/release-checksums, and the list of known wrapper checksums that Gradle's
# wrapper-validation action carries). A regenerated wrapper changes it: take the new value from
# that list, never from the file.
WRAPPER_JAR_SHA256=2db75c40782f5e8ba1fc278a5574bab070adccb2d21ca5a6e5ed840888448046

check_gradle_wrapper() {
  echo "==> Gradle wrapper"
  local props=android/gradle/wrapper/gradle-wrapper.properties jar=android/gradle/wrapper/gradle-wrapper.jar
  local f
  for f in android/gradlew android/gradlew.bat "$props" "$jar"; do
    [ -f "$f" ] || fail "$f missing"
  done
  [ "$(git ls-files -s android/gradlew | awk '{print $1}')" = 100755 ] || fail "android/gradlew is not committed as executable (git update-index --chmod=+x)"
  grep -q 'gradle/wrapper/gradle-wrapper.jar' android/gradlew || fail "android/gradlew does not run gradle/wrapper/gradle-wrapper.jar"

  [ "$(grep -c '^distributionUrl=' "$props")" = 1 ] || fail "$props: needs one distributionUrl"
  [ "$(grep -c '^distributionSha256Sum=' "$props")" = 1 ] || fail "$props: needs one distributionSha256Sum"
  local url sum version
  url="$(sed -n 's/^distributionUrl=//p' "$props")"
  sum="$(sed -n 's/^distributionSha256Sum=//p' "$props")"
  [[ "$url" =~ ^https\\://services\.gradle\.org/distributions/gradle-([0-9]+\.[0-9]+(\.[0-9]+)?)-(bin|all)\.zip$ ]] ||
    fail "$props: distributionUrl is not a released Gradle distribution over https: $url"
  version="${BASH_REMATCH[1]}"
  [[ "$sum" =~ $SHA_RE ]] || fail "$props: distributionSha256Sum is not a SHA-256 (64 lower-case hex digits): '$sum'"
  ok "$props pins Gradle $version ($url) with sha256 $sum"

  local jar_sum
  jar_sum="$(sha256 "$jar")"
  [ "$jar_sum" = "$WRAPPER_JAR_SHA256" ] || fail "$jar has SHA-256 $jar_sum, not Gradle's published $WRAPPER_JAR_SHA256"
  grep -qx 'org/gradle/wrapper/GradleWrapperMain.class' <<<"$(unzip -Z1 "$jar")" || fail "$jar has no GradleWrapperMain"
  ok "$jar is Gradle's wrapper JAR (sha256 $jar_sum)"
}

check_maven_publication() {
  echo "==> Maven publication of android/zkiris"
  local build=android/zkiris/build.gradle.kts expected_file=android/zkiris/pom-dependencies.expected pom=android/jvm-tests/pom.xml
  # shellcheck disable=SC2016  # the backticks are Kotlin's, not a command substitution
  grep -qE '^[[:space:]]*`maven-publish`$' "$build" || fail "$build does not apply maven-publish"
  grep -qF 'singleVariant("release")' "$build" || fail "$build: android.publishing has no singleVariant(\"release\")"
  grep -qF 'from(components["release"])' "$build" || fail "$build: the publication is not made from the release component"
  local group artifact version cargo_version
  group="$(sed -n 's/^ *groupId = "\(.*\)"$/\1/p' "$build")"
  artifact="$(sed -n 's/^ *artifactId = "\(.*\)"$/\1/p' "$build")"
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$build")"
  cargo_version="$(awk '/^\[workspace.package\]/ { inside = 1; next } /^\[/ { inside = 0 } inside && /^version = / { gsub(/"/, "", $3); print $3 }' Cargo.toml)"
  [ "$group" = dev.zkiris ] || fail "$build: groupId is '$group', not dev.zkiris"
  [ "$artifact" = zkiris-android ] || fail "$build: artifactId is '$artifact', not zkiris-android"
  if [ -z "$version" ] || [ "$version" != "$cargo_version" ]; then
    fail "$build: version '$version' is not the workspace version '$cargo_version' (Cargo.toml)"
  fi
  ok "publication $group:$artifact:$version from the release component"

  # The dependencies block as POM entries. Every line in it must be a comment, blank, or a plain
  # "group:artifact:version[@ext]" dependency, so nothing is declared in a way this cannot read.
  local block declared expected line
  block="$(awk '/^dependencies \{$/ { inside = 1; next } inside && /^\}$/ { inside = 0 } inside' "$build")"
  [ -n "$block" ] || fail "$build: no top-level dependencies block"
  declared="$(while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*(//.*)?$ ]] && continue
    if [[ "$line" =~ ^[[:space:]]*(api|implementation|compileOnly|runtimeOnly)\(\"([^:\"@]+):([^:\"@]+):([^:\"@]+)(@([a-z]+))?\"\)[[:space:]]*$ ]]; then
      conf="${BASH_REMATCH[1]}" ext="${BASH_REMATCH[6]:-jar}"
      case "$conf" in
        api) scope=compile ;;
        implementation | runtimeOnly) scope=runtime ;;
        compileOnly) continue ;; # not in the POM
      esac
      echo "${BASH_REMATCH[2]}:${BASH_REMATCH[3]}:${BASH_REMATCH[4]}:$ext:$scope"
    else
      echo "UNREADABLE: $line"
    fi
  done <<<"$block" | sort)"
  if grep -q '^UNREADABLE: ' <<<"$declared"; then
    fail "$build: dependency lines this check cannot read:"$'\n'"$(grep '^UNREADABLE: ' <<<"$declared")"
  fi
  expected="$(grep -vE '^[[:space:]]*(#|$)' "$expected_file" | sort)"
  [ "$declared" = "$expected" ] ||
    fail "$build declares other POM dependencies than $expected_file:"$'\n'"$(diff <(echo "$expected") <(echo "$declared") || true)"
  grep -q '^net\.java\.dev\.jna:jna:[^:]*:aar:compile$' <<<"$expected" || fail "$expected_file: JNA must be an aar dependency (scope compile)"
  grep -q '^org\.jetbrains\.kotlinx:kotlinx-coroutines-android:[^:]*:jar:compile$' <<<"$expected" || fail "$expected_file: kotlinx-coroutines-android is missing"

  local jna coroutines
  jna="$(sed -n 's#.*<jna.version>\(.*\)</jna.version>.*#\1#p' "$pom")"
  coroutines="$(sed -n 's#.*<coroutines.version>\(.*\)</coroutines.version>.*#\1#p' "$pom")"
  if [ -z "$jna" ] || [ -z "$coroutines" ]; then
    fail "$pom: no jna.version or coroutines.version property"
  fi
  grep -qx "net.java.dev.jna:jna:$jna:aar:compile" <<<"$expected" || fail "$expected_file: JNA is not at $pom's version $jna"
  local coords
  while IFS= read -r coords; do
    [ "$(cut -d: -f3 <<<"$coords")" = "$coroutines" ] || fail "$expected_file: $coords is not at $pom's coroutines version $coroutines"
  done < <(grep '^org\.jetbrains\.kotlinx:kotlinx-coroutines' <<<"$expected")
  ok "$build dependencies = $expected_file (JNA $jna as aar, coroutines $coroutines as in $pom):"
  while IFS= read -r line; do echo "      $line"; done <<<"$expected"

  # Maven resolves exactly these dependencies from Maven Central, as a Maven or Gradle consumer of
  # the POM would (type aar: Maven fetches jna-<version>.aar).
  local tmp="$work/maven" deps
  mkdir -p "$tmp"
  deps="$(while IFS=: read -r g a v t s; do
    printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version><type>%s</type><scope>%s</scope></dependency>\n' "$g" "$a" "$v" "$t" "$s"
  done <<<"$expected")"
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.zkiris.check</groupId>
  <artifactId>pom-dependencies</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
$deps
  </dependencies>
</project>
EOF
  mvn -B -q -f "$tmp/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:resolve \
    -DoutputFile="$tmp/resolved.txt" >"$tmp/mvn.log" 2>&1 ||
    { cat "$tmp/mvn.log"; fail "Maven cannot resolve the POM dependencies of $expected_file"; }
  grep -qE "net\.java\.dev\.jna:jna:aar:$jna(:compile)?" "$tmp/resolved.txt" || { cat "$tmp/resolved.txt"; fail "Maven did not resolve jna:$jna as an aar"; }
  ok "Maven Central serves them (jna-$jna.aar included)"
}

check_shell_scripts() {
  echo "==> shell scripts: bash -n and shellcheck"
  command -v shellcheck >/dev/null || fail "shellcheck not found; install it (Debian: apt-get install -y shellcheck; .ci/run does)"
  local scripts=() f
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    if [[ "$f" == *.sh ]] || [[ "$(head -n 1 "$f")" =~ ^\#!.*[/\ ](ba)?sh([[:space:]]|$) ]]; then
      scripts+=("$f")
    fi
  done < <(git ls-files --cached --others --exclude-standard)
  [ "${#scripts[@]}" -gt 0 ] || fail "found no shell scripts"
  for f in "${scripts[@]}"; do
    bash -n "$f" || fail "$f: bash -n failed"
  done
  shellcheck "${scripts[@]}" || fail "shellcheck found problems"
  ok "${#scripts[@]} scripts ($(shellcheck --version | sed -n 's/^version: //p')): ${scripts[*]}"
}

case "${1:-}" in
  "")
    check_swift
    check_release_script
    check_gradle_wrapper
    check_maven_publication
    check_shell_scripts
    echo "packaging checks passed"
    ;;
  swift-manifest)
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then fail "usage: $0 swift-manifest FILE [--released]"; fi
    released=false
    if [ $# = 3 ]; then
      [ "$3" = --released ] || fail "usage: $0 swift-manifest FILE [--released]"
      released=true
    fi
    swift_manifest "$2" "$released"
    ;;
  *) fail "usage: $0 [swift-manifest FILE [--released]]" ;;
esac
