#!/usr/bin/env python3
"""Stages the host libraries a cargo build made, for the binding checks and the JVM tests.

Reads cargo's JSON messages (`cargo test ... --no-run --message-format=json`) on stdin and links
into OUT_DIR the two libraries the JVM tests load: `libzkiris_ffi.so` (the zkiris-ffi cdylib)
and `examples/libmpc_test_party.so` (the test-only MPC party library), the layout
android/jvm-tests/pom.xml expects for -Dzkiris.lib.dir. Prints the path of the staged
libzkiris_ffi.so. Fails, linking nothing, if the build did not make both.

    cargo test --workspace --no-run --message-format=json | scripts/host-libs.py OUT_DIR
"""
import json
import os
import sys

# Target name -> where it goes (the shared library among the target's files).
WANTED = {
    "zkiris_ffi": "libzkiris_ffi.so",
    "mpc_test_party": os.path.join("examples", "libmpc_test_party.so"),
}


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    found = {}
    for line in sys.stdin:
        line = line.strip()
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact":
            continue
        name = msg["target"]["name"]
        libs = [f for f in msg["filenames"] if f.endswith(".so")]
        if name in WANTED and libs:
            found[name] = libs[0]
    missing = [name for name in WANTED if name not in found]
    if missing:
        print(f"host-libs.py: the build made no {', '.join(missing)}", file=sys.stderr)
        return 1
    for key, rel in WANTED.items():
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.lexists(dest):
            os.remove(dest)
        os.symlink(os.path.abspath(found[key]), dest)
    print(os.path.join(out, WANTED["zkiris_ffi"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
