#!/usr/bin/env bash
# The Kotlin and Swift examples in README.md and bindings/README.md must be the code the tests compile:
# the first ```kotlin block must equal the README-BEGIN/README-END region of
# android/jvm-tests/src/test/kotlin/dev/zkiris/ReadmeExampleTest.kt (compiled and run on the
# JVM by scripts/test), and the first ```swift block the region of
# ios/Tests/ZkirisTests/ZkirisTests.swift (compiled by the XCTests on a Mac).
set -euo pipefail
cd "$(dirname "$0")/.."

block() { awk -v lang="$1" '$0 == "```" lang { on = 1; next } on && $0 == "```" { exit } on { print }' "$readme"; }
region() { awk '/^\/\/ README-BEGIN$/ { on = 1; next } /^\/\/ README-END$/ { exit } on { print }' "$1"; }

status=0
# Both the top-level README and bindings/README.md show the examples.
for readme in README.md bindings/README.md; do
for pair in "kotlin:android/jvm-tests/src/test/kotlin/dev/zkiris/ReadmeExampleTest.kt" "swift:ios/Tests/ZkirisTests/ZkirisTests.swift"; do
  lang="${pair%%:*}" src="${pair#*:}"
  want="$(region "$src")"
  [ -n "$want" ] || { echo "no README-BEGIN/README-END region in $src"; status=1; continue; }
  if ! diff -u <(echo "$want") <(block "$lang") --label "$src" --label "$readme ($lang)"; then
    echo "the $lang example in $readme differs from $src; copy the region into the README"
    status=1
  fi
done
done
[ "$status" -eq 0 ] && echo "README examples match the tested code"
exit "$status"
