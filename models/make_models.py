#!/usr/bin/env python3
"""Deterministic generator for zkiris's shipped exact-integer ONNX models and their specs.

Writes (relative to this directory):

  world-v3/model.onnx, world-v3/spec.json
  openiris-1.11/model.onnx, openiris-1.11/spec.json
  openiris-1.11/test-shapes/100x400/{model.onnx,spec.json}   (test only)
  openiris-1.11/test-shapes/100x512/{model.onnx,spec.json}   (test only)

from the integer Gabor kernels in `kernels/*.json`. Every file is byte-identical across
re-runs. The ONNX graphs use only exact integer ops (no floats anywhere):

  xi      = Cast(x, to=INT32)                       [R, C]
  xa      = Concat(xi, zero_row, axis=0)            [R+1, C]   (row R is all zeros)
  strips  = Gather(xa, row_idx, axis=0)             [16, 21, C]
  patches = Gather(strips, col_idx, axis=2)         [16, 21, 256, 41]
  out     = Einsum("irjk,rkf->fij", patches, W)     [F, 16, 256]

`row_idx[i, a]` is the image row that kernel row `a` of probe row `i` reads (or `R`, the zero
row, for kernel rows outside the clipped window), `col_idx[j, k] = (c_j - 20 + k) mod C`.
The first four nodes are shared by all outputs computed from the same input.

Options:
  --import-kernels DIR   (re)create kernels/*.json from the conformance directory DIR
                         (the one holding world-v3/ and openiris/); only needed once
  --verify DIR           after writing, check every model against the conformance vectors
                         in DIR (numpy evaluation of the written ONNX files, plus onnxruntime
                         if it is installed) and print flipped-bit counts; exit 1 on any flip
  --out DIR              write the models under DIR instead of next to this script

Requires numpy and onnx (versions pinned in requirements.txt). onnxruntime is optional and
only used by --verify as a second, independent executor.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import sys
from fractions import Fraction

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_DIR = os.path.join(HERE, "kernels")

OPSET = 13
IR_VERSION = 8
PRODUCER = "zkiris models/make_models.py"
PRODUCER_VERSION = "1"

GRID_ROWS, GRID_COLS = 16, 256
KH, KW = 21, 41                   # kernel window (rows = rho, cols = phi); 17-wide kernels embedded
PH, PW = KH // 2, KW // 2         # 10, 20
NARROW_W = 17
NARROW_C0 = PW - NARROW_W // 2    # 12: a 17-wide kernel occupies window columns 12..28
EINSUM_EQ = "irjk,rkf->fij"

# open-iris 1.11.2 FragileBitRefinement / IrisEncoder constants, as exact rationals.
RADIUS_LO_SQ = (1, 10 ** 8)       # |z| >= 1e-4
RADIUS_HI_SQ = (121, 1600)        # |z| <= 0.275
OCCLUSION_RATIO = (93, 100)       # mask_threshold 0.93
COS2_DEN_BITS = 32                # cos^2(5 deg) ~ COS2_NUM / 2^32, see cos2_ratio()
WORLD_COVERAGE_RATIO = (9, 10)    # world-v3 mask: coverage >= 0.9


# ---------------------------------------------------------------------------------------------
# Probe geometry (open-iris RegularProbeSchema(16, 256), boundary_rho [0, 1/16], periodic-left;
# ConvFilterBank row clipping). Exact rational arithmetic; Python's round() is half-to-even,
# as in open-iris.
# ---------------------------------------------------------------------------------------------
def probe_positions(rows, cols):
    """Probe image rows (16) and columns (256): r = min(round(rho*R), R-1), c = min(round(phi*C), C-1)
    with rho_i = i/16 (= linspace(0, 15/16, 16)) and phi_j = j/256."""
    r = [min(round(Fraction(i, 16) * rows), rows - 1) for i in range(GRID_ROWS)]
    c = [min(round(Fraction(j, 256) * cols), cols - 1) for j in range(GRID_COLS)]
    return r, c


def row_windows(r_probe, r_end):
    """Per probe row: (rtop, n, ktop). Image rows [rtop, rtop+n) meet kernel rows [ktop, ktop+n);
    rtop = max(0, r-10), rbot = min(r+11, r_end), n = rbot-rtop, ktop = 10 - n//2 (the patch is
    re-centred in the kernel, not zero-padded)."""
    out = []
    for r in r_probe:
        rtop = max(0, r - PH)
        rbot = min(r + PH + 1, r_end)
        n = rbot - rtop
        out.append((rtop, n, PH - n // 2))
    return out


def row_index(rows, windows):
    """int64 [16, 21]: image row read by kernel row a of probe row i, or `rows` (the zero row)."""
    idx = np.full((GRID_ROWS, KH), rows, dtype=np.int64)
    for i, (rtop, n, ktop) in enumerate(windows):
        for a in range(ktop, ktop + n):
            idx[i, a] = rtop + (a - ktop)
    return idx


def col_index(cols, c_probe):
    """int64 [256, 41]: (c_j - 20 + k) mod C."""
    c = np.asarray(c_probe, dtype=np.int64)
    return (c[:, None] - PW + np.arange(KW, dtype=np.int64)[None, :]) % cols


def embed(k):
    """Embed a [21, w] kernel (w odd, <= 41) centred in the [21, 41] window."""
    k = np.asarray(k, dtype=np.int64)
    assert k.shape[0] == KH and k.shape[1] % 2 == 1 and k.shape[1] <= KW
    out = np.zeros((KH, KW), dtype=np.int64)
    c0 = PW - k.shape[1] // 2
    out[:, c0:c0 + k.shape[1]] = k
    return out


# ---------------------------------------------------------------------------------------------
# Kernels (kernels/*.json, imported once from the conformance data; see --import-kernels)
# ---------------------------------------------------------------------------------------------
def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def import_kernels(conf_dir):
    """Writes kernels/world-v3.json and kernels/openiris-1.11.json from the conformance data."""
    os.makedirs(KERNEL_DIR, exist_ok=True)
    rh_path = os.path.join(conf_dir, "world-v3", "constants", "iris", "rh_multiplicand.bin")
    rh = np.fromfile(rh_path, dtype="<i4").reshape(1024, 4).astype(np.int64)
    assert np.all(rh[KH * KW:] == 0)
    k = rh[:KH * KW].reshape(KH, KW, 4).transpose(2, 0, 1)          # [f, row, col]
    assert np.all(k[2:, :, :NARROW_C0] == 0) and np.all(k[2:, :, NARROW_C0 + NARROW_W:] == 0)
    world = {
        "description": "World v3 Gabor kernels (Open-IRIS GaborFilter (41,21) lambda_phi 28 and (17,21) "
                       "lambda_phi 8, to_fixpoints), int32 taps, shape rows (rho) x cols (phi). "
                       "Taken from Remainder_CE (MIT/Apache-2.0) frontend/src/zk_iriscode_ss/constants/"
                       "v3-split-images/iris/rh_multiplicand.bin @ 2fc4de63, where tap (kr, kc) of "
                       "channel f sits at [kr*41 + kc, f]; filter B occupies columns 12..28 there.",
        "source": {"file": "world-v3/constants/iris/rh_multiplicand.bin", "sha256": sha256_file(rh_path)},
        "kernels": {
            "a_re": k[0].tolist(), "a_im": k[1].tolist(),
            "b_re": k[2][:, NARROW_C0:NARROW_C0 + NARROW_W].tolist(),
            "b_im": k[3][:, NARROW_C0:NARROW_C0 + NARROW_W].tolist(),
        },
    }
    kz_path = os.path.join(conf_dir, "openiris", "kernels.npz")
    kz = np.load(kz_path)
    oi = {
        "description": "open-iris 1.11.2 Gabor kernels (pipeline.yaml: GaborFilter (41,21) sigma_phi 7, "
                       "sigma_rho 6.13, lambda_phi 28 and (17,21) sigma_phi 2, sigma_rho 5.86, lambda_phi 8; "
                       "theta 90 deg, dc_correction, to_fixpoints = round(unit-norm * 2^15)), int32 taps, "
                       "rows (rho) x cols (phi); sumsq = [sum(re^2), sum(im^2)] (open-iris kernel_norm^2). "
                       "Data generated with open-iris (MIT).",
        "source": {"file": "openiris/kernels.npz", "sha256": sha256_file(kz_path)},
        "kernels": {},
        "sumsq": [],
    }
    for f in (0, 1):
        re = kz[f"kernel_{f}_re_int"].astype(np.int64)
        im = kz[f"kernel_{f}_im_int"].astype(np.int64)
        ss = [int((re * re).sum()), int((im * im).sum())]
        assert ss == [int(x) for x in kz[f"kernel_{f}_sumsq_re_im"]]
        oi["kernels"][f"filter{f}_re"] = re.tolist()
        oi["kernels"][f"filter{f}_im"] = im.tolist()
        oi["sumsq"].append(ss)
    write_bytes(os.path.join(KERNEL_DIR, "world-v3.json"), dumps(world).encode())
    write_bytes(os.path.join(KERNEL_DIR, "openiris-1.11.json"), dumps(oi).encode())


def load_kernels():
    with open(os.path.join(KERNEL_DIR, "world-v3.json")) as f:
        w = json.load(f)["kernels"]
    with open(os.path.join(KERNEL_DIR, "openiris-1.11.json")) as f:
        o = json.load(f)
    world = {k: np.array(v, dtype=np.int64) for k, v in w.items()}
    oi = {k: np.array(v, dtype=np.int64) for k, v in o["kernels"].items()}
    sumsq = [[int(x) for x in s] for s in o["sumsq"]]
    for f in (0, 1):
        assert sumsq[f] == [int((oi[f"filter{f}_re"] ** 2).sum()), int((oi[f"filter{f}_im"] ** 2).sum())]
    return world, oi, sumsq


# ---------------------------------------------------------------------------------------------
# cos^2(5 deg) as a rational with a power-of-two denominator
# ---------------------------------------------------------------------------------------------
def cos2_5deg_exact(digits=60):
    """cos^2(5 deg) = (1 + cos(pi/18)) / 2 to `digits` decimal digits, as a Fraction (Taylor series
    with a 70-digit pi; all arithmetic exact)."""
    pi = Fraction("3.1415926535897932384626433832795028841971693993751058209749445923078164")
    x = pi / 18
    term, total, k = Fraction(1), Fraction(1), 0
    while True:
        k += 2
        term = -term * x * x / (k * (k - 1))
        total += term
        if abs(term) < Fraction(1, 10 ** (digits + 5)):
            break
    return (1 + total) / 2


def cos2_ratio(den_bits=COS2_DEN_BITS):
    den = 1 << den_bits
    return int(round(cos2_5deg_exact() * den)), den


# ---------------------------------------------------------------------------------------------
# Model definitions
# ---------------------------------------------------------------------------------------------
def ratio(t):
    return {"num": int(t[0]), "den": int(t[1])}


def output_operand(name, channel):
    return {"output": {"output": name, "channel": int(channel)}}


def input_specs(rows, cols):
    return [
        {"name": "image", "role": "image", "shape": [rows, cols], "dtype": "u8", "range": [0, 255]},
        {"name": "mask", "role": "mask", "shape": [rows, cols], "dtype": "u8", "range": [0, 1]},
    ]


def world_v3_def(world):
    rows, cols = 128, 1024
    r_probe, c_probe = probe_positions(rows, cols)
    assert r_probe == [8 * i for i in range(16)] and c_probe == [4 * j for j in range(256)]
    windows = row_windows(r_probe, r_end=rows - 1)      # Remainder/World v3: image row 127 never read
    w_iris = np.stack([embed(world["a_re"]), embed(world["a_im"]),
                       embed(world["b_re"]), embed(world["b_im"])], axis=-1)          # [21, 41, 4]
    ones_a = np.ones((KH, KW), dtype=np.int64)
    ones_b = embed(np.ones((KH, NARROW_W), dtype=np.int64))
    w_mask = np.stack([ones_a, ones_b], axis=-1)                                       # [21, 41, 2]
    widths = [KW, KW, NARROW_W, NARROW_W]
    n_rows = [n for (_, n, _) in windows]
    iris_rules = [{"positive": {"output": "iris_response", "channel": f}} for f in range(4)]
    mask_rules = [{"at_least": {
        "num": output_operand("mask_count", f // 2),
        "den": {"per_row": [n * widths[f] for n in n_rows]},
        "ratio": ratio(WORLD_COVERAGE_RATIO),
    }} for f in range(4)]
    rules = {
        "inputs": input_specs(rows, cols),
        "outputs": [{"name": "iris_response", "shape": [4, GRID_ROWS, GRID_COLS]},
                    {"name": "mask_count", "shape": [2, GRID_ROWS, GRID_COLS]}],
        "encoder": {"grid": [GRID_ROWS, GRID_COLS], "iris": iris_rules, "mask": mask_rules},
        "code_layout": "world-v3",
        "min_valid_bits": 0,
        "liveness": None,
    }
    return {
        "dir": "world-v3",
        "name": "world-v3",
        "version": "3.0.0",
        "description": (
            "World v3 iris code as proven by Remainder_CE (v3-split-images): a 128x1024 normalized iris, "
            "16x256 probes at (8i, 4j), Gabor filters A (21x41) and B (21x17), channels A re, A im, B re, "
            "B im; columns wrap, edge patches are re-centred in the kernel (rows [max(0,r-10), "
            "min(r+11,127))). Iris bit = response > 0. Mask bit = valid pixels under the filter support "
            ">= 0.9 of the patch. Exact-integer ONNX generated by models/make_models.py."),
        "rows": rows, "cols": cols, "windows": windows, "c_probe": c_probe,
        "outputs": [("iris_response", "image", w_iris), ("mask_count", "mask", w_mask)],
        "rules": rules,
    }


def openiris_def(oi, sumsq, rows=128, cols=512, test_only=False):
    r_probe, c_probe = probe_positions(rows, cols)
    windows = row_windows(r_probe, r_end=rows)           # open-iris 1.11.1+: rbot = min(r+11, R)
    ks = [oi["filter0_re"], oi["filter0_im"], oi["filter1_re"], oi["filter1_im"]]
    w_resp = np.stack([embed(k) for k in ks], axis=-1)                                 # [21, 41, 4]
    w_occl = np.abs(w_resp)
    k_cols = [oi["filter0_re"].shape[1], oi["filter1_re"].shape[1]]                    # 41, 17
    c2 = cos2_ratio()
    iris_rules, mask_rules = [], []
    for p in range(4):
        f, comp = divmod(p, 2)
        iris_rules.append({"positive": {"output": "response", "channel": p}})
        abs_k = np.abs(ks[p])
        b = [int(abs_k[ktop:ktop + n].sum()) for (_, n, ktop) in windows]
        mask_rules.append({"all": [
            {"at_least": {"num": output_operand("occlusion", p), "den": {"per_row": b},
                          "ratio": ratio(OCCLUSION_RATIO)}},
            {"non_zero_pair": {"output": "response", "re": 2 * f, "im": 2 * f + 1}},
            {"fragile": {
                "output": "response", "re": 2 * f, "im": 2 * f + 1,
                "component": "re" if comp == 0 else "im",
                "kernel_sumsq": [int(sumsq[f][0]), int(sumsq[f][1])],
                "patch_size": [n * k_cols[f] for (_, n, _) in windows],
                "radius_lo_sq": ratio(RADIUS_LO_SQ),
                "radius_hi_sq": ratio(RADIUS_HI_SQ),
                "cos2": ratio(c2),
            }},
        ]})
    rules = {
        "inputs": input_specs(rows, cols),
        "outputs": [{"name": "response", "shape": [4, GRID_ROWS, GRID_COLS]},
                    {"name": "occlusion", "shape": [4, GRID_ROWS, GRID_COLS]}],
        "encoder": {"grid": [GRID_ROWS, GRID_COLS], "iris": iris_rules, "mask": mask_rules},
        "code_layout": "openiris",
        "min_valid_bits": 4096,
        "liveness": None,
    }
    base = (
        "open-iris 1.11.2 encoder (ConvFilterBank -> FragileBitRefinement polar -> IrisEncoder, "
        "pipeline.yaml defaults): a {R}x{C} normalized iris, 16x256 RegularProbeSchema probes, Q15 "
        "Gabor filters 0 (21x41) and 1 (21x17), channels f0 re, f0 im, f1 re, f1 im; columns wrap, "
        "rows clipped to [max(0,r-10), min(r+11,R)) and re-centred in the kernel. Iris bit = "
        "response > 0. Mask bit = |K|-weighted occlusion >= 0.93, response != 0, 1e-4 <= |z| <= "
        "0.275 and the bit's component >= sin(5 deg)|z|. Exact-integer ONNX generated by "
        "models/make_models.py.").format(R=rows, C=cols)
    if test_only:
        base = ("TEST ONLY (conformance vectors of this shape; not a production model). " + base)
    return {
        "dir": "openiris-1.11" if not test_only else f"openiris-1.11/test-shapes/{rows}x{cols}",
        "name": "openiris-1.11" if not test_only else f"openiris-1.11-test-{rows}x{cols}",
        "version": "1.11.2",
        "description": base,
        "rows": rows, "cols": cols, "windows": windows, "c_probe": c_probe,
        "outputs": [("response", "image", w_resp), ("occlusion", "mask", w_occl)],
        "rules": rules,
    }


# ---------------------------------------------------------------------------------------------
# ONNX construction
# ---------------------------------------------------------------------------------------------
def build_onnx(md):
    rows, cols = md["rows"], md["cols"]
    row_idx = row_index(rows, md["windows"])
    col_idx = col_index(cols, md["c_probe"])
    inits = [
        numpy_helper.from_array(np.zeros((1, cols), dtype=np.int32), "zero_row"),
        numpy_helper.from_array(row_idx, "row_idx"),
        numpy_helper.from_array(col_idx, "col_idx"),
    ]
    nodes, outputs, done_inputs = [], [], []
    for out_name, inp, w in md["outputs"]:
        if inp not in done_inputs:
            done_inputs.append(inp)
            nodes += [
                helper.make_node("Cast", [inp], [f"{inp}_i32"], name=f"{inp}_cast", to=TensorProto.INT32),
                helper.make_node("Concat", [f"{inp}_i32", "zero_row"], [f"{inp}_padded"],
                                 name=f"{inp}_pad", axis=0),
                helper.make_node("Gather", [f"{inp}_padded", "row_idx"], [f"{inp}_strips"],
                                 name=f"{inp}_rows", axis=0),
                helper.make_node("Gather", [f"{inp}_strips", "col_idx"], [f"{inp}_patches"],
                                 name=f"{inp}_patches", axis=2),
            ]
        assert np.abs(w).max() < 2 ** 31
        inits.append(numpy_helper.from_array(w.astype(np.int32), f"{out_name}_weights"))
        nodes.append(helper.make_node("Einsum", [f"{inp}_patches", f"{out_name}_weights"], [out_name],
                                      name=f"{out_name}_einsum", equation=EINSUM_EQ))
        outputs.append(helper.make_tensor_value_info(out_name, TensorProto.INT32,
                                                     [w.shape[-1], GRID_ROWS, GRID_COLS]))
    inputs = [helper.make_tensor_value_info(name, TensorProto.UINT8, [rows, cols]) for name in done_inputs]
    graph = helper.make_graph(nodes, md["name"], inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=PRODUCER, producer_version=PRODUCER_VERSION)
    model.ir_version = IR_VERSION
    model.doc_string = md["description"]
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def spec_json(md):
    return {"name": md["name"], "version": md["version"], "description": md["description"],
            "onnx": "model.onnx", "rules": md["rules"]}


# ---------------------------------------------------------------------------------------------
# Output helpers: compact, deterministic JSON (scalar lists on one line)
# ---------------------------------------------------------------------------------------------
def dumps(obj, level=0):
    pad, pad1 = "  " * level, "  " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(k)}: {dumps(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" + ("\n" if level == 0 else "")
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in obj):
            return "[" + ", ".join(dumps(x, level + 1) for x in obj) + "]"
        return "[\n" + ",\n".join(pad1 + dumps(x, level + 1) for x in obj) + "\n" + pad + "]"
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, (int, np.integer)):
        return str(int(obj))
    raise TypeError(f"unexpected {type(obj)} in JSON output (floats are not allowed)")


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def world_v3_1_def(world):
    """world-v3.1: the issuer's upgrade of world-v3 used by the upgrade demo. Same filters and
    ONNX graph; a stricter quality rule: a mask bit needs >= 0.93 coverage (open-iris's
    threshold) and a proof needs >= 8192 valid bits. Iris bits are unchanged, so a v3 code and
    its v3.1 upgrade match (Hamming distance 0 on the common mask)."""
    md = world_v3_def(world)
    md["dir"] = md["name"] = "world-v3.1"
    md["version"] = "3.1.0"
    for rule in md["rules"]["encoder"]["mask"]:
        rule["at_least"]["ratio"] = ratio((93, 100))
    md["rules"]["min_valid_bits"] = 8192
    md["description"] = (
        "World v3.1: world-v3 (same 128x1024 input, probes and Gabor filters A/B) with a stricter "
        "quality rule: mask bit = valid pixels under the filter support >= 0.93 of the patch, and "
        "a proof requires >= 8192 valid mask bits. Iris bits are identical to world-v3. "
        "Exact-integer ONNX generated by models/make_models.py.")
    return md


def all_defs():
    world, oi, sumsq = load_kernels()
    return [world_v3_def(world), world_v3_1_def(world), openiris_def(oi, sumsq),
            openiris_def(oi, sumsq, 100, 400, test_only=True),
            openiris_def(oi, sumsq, 100, 512, test_only=True)]


def generate(out_dir):
    written = []
    for md in all_defs():
        d = os.path.join(out_dir, md["dir"])
        onnx_bytes = build_onnx(md)
        spec = dumps(spec_json(md)).encode()
        for name, data in (("model.onnx", onnx_bytes), ("spec.json", spec)):
            path = os.path.join(d, name)
            write_bytes(path, data)
            written.append((os.path.relpath(path, out_dir), len(data), hashlib.sha256(data).hexdigest()))
    return written


# ---------------------------------------------------------------------------------------------
# Verification: a numpy interpreter for the graph, the encoder rules, conformance vectors
# ---------------------------------------------------------------------------------------------
I32 = (-(2 ** 31), 2 ** 31 - 1)


def run_onnx_numpy(path, feeds):
    """Evaluates the written ONNX file with numpy (int64 internally; every int32 result is checked
    to fit). Supports exactly the op set the generator emits."""
    m = onnx.load(path)
    assert m.ir_version == IR_VERSION and [(o.domain, o.version) for o in m.opset_import] == [("", OPSET)]
    env = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for vi in m.graph.input:
        x = feeds[vi.name]
        assert x.dtype == np.uint8 and list(x.shape) == [d.dim_value for d in vi.type.tensor_type.shape.dim]
        env[vi.name] = x
    for node in m.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        args = [env[n] for n in node.input]
        if node.op_type == "Cast":
            assert attrs["to"] == TensorProto.INT32
            y = args[0].astype(np.int64)
        elif node.op_type == "Concat":
            y = np.concatenate([a.astype(np.int64) for a in args], axis=attrs["axis"])
        elif node.op_type == "Gather":
            idx = args[1]
            assert idx.dtype == np.int64 and idx.min() >= 0 and idx.max() < args[0].shape[attrs["axis"]]
            y = np.take(args[0], idx, axis=attrs["axis"])
        elif node.op_type == "Einsum":
            eq = attrs["equation"]
            eq = eq.decode() if isinstance(eq, bytes) else eq
            y = np.einsum(eq, *[a.astype(np.int64) for a in args], optimize=True)
        else:
            raise ValueError(f"unsupported op {node.op_type}")
        assert y.min() >= I32[0] and y.max() <= I32[1], f"{node.name} leaves int32"
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in m.graph.output}


def run_onnx_ort(path, feeds):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def operand(op, outs):
    (kind, body), = op.items()
    if kind == "output":
        return outs[body["output"]][body["channel"]].astype(object)
    if kind == "per_row":
        return np.array([int(v) for v in body], dtype=object)[:, None]
    raise ValueError(kind)


def eval_rule(rule, outs):
    """Evaluates one BitRule (the semantics of core/src/model/manifest.rs) on a [16, 256] grid with
    exact Python integers."""
    (kind, b), = rule.items()
    if kind == "positive":
        return outs[b["output"]][b["channel"]] > 0
    if kind == "at_least":
        num, den = operand(b["num"], outs), operand(b["den"], outs)
        r = b["ratio"]
        return np.broadcast_to(r["den"] * num >= r["num"] * den, (GRID_ROWS, GRID_COLS)).astype(bool)
    if kind == "non_zero_pair":
        o = outs[b["output"]]
        return (o[b["re"]] != 0) | (o[b["im"]] != 0)
    if kind == "fragile":
        o = outs[b["output"]]
        re, im = o[b["re"]].astype(object), o[b["im"]].astype(object)
        s_re, s_im = b["kernel_sumsq"]
        n = np.array(b["patch_size"], dtype=object)[:, None]
        q = re * re * s_im + im * im * s_re
        big_m = n * n * s_re * s_im
        lo, hi, c2 = b["radius_lo_sq"], b["radius_hi_sq"], b["cos2"]
        ok = (lo["num"] * big_m <= lo["den"] * q) & (hi["den"] * q <= hi["num"] * big_m)
        other = im * im * s_re if b["component"] == "re" else re * re * s_im
        ok = ok & (c2["den"] * other <= c2["num"] * q)
        return ok.astype(bool)
    if kind == "all":
        acc = np.ones((GRID_ROWS, GRID_COLS), dtype=bool)
        for sub in b:
            acc &= eval_rule(sub, outs)
        return acc
    raise ValueError(kind)


def encode(rules, outs):
    enc = rules["encoder"]
    iris = np.stack([eval_rule(r, outs) for r in enc["iris"]])
    mask = np.stack([eval_rule(r, outs) for r in enc["mask"]])
    return iris, mask


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def evaluate(path, feeds, use_ort):
    outs = run_onnx_numpy(path, feeds)
    ort_ok = None
    if use_ort:
        o2 = run_onnx_ort(path, feeds)
        if o2 is not None:
            ort_ok = all(o2[k].dtype == np.int32 and np.array_equal(o2[k], outs[k]) for k in outs)
    return outs, ort_ok


def verify(out_dir, conf_dir):
    failures = []

    def check(cond, msg):
        print(("PASS  " if cond else "FAIL  ") + msg)
        if not cond:
            failures.append(msg)

    world_k, oi_k, sumsq = load_kernels()
    # kernels/*.json == conformance originals
    rh = np.fromfile(os.path.join(conf_dir, "world-v3", "constants", "iris", "rh_multiplicand.bin"),
                     dtype="<i4").reshape(1024, 4)
    k = np.stack([embed(world_k[n]) for n in ("a_re", "a_im", "b_re", "b_im")], axis=-1)
    check(np.array_equal(rh[:KH * KW].reshape(KH, KW, 4), k) and np.all(rh[KH * KW:] == 0),
          "kernels/world-v3.json == world-v3 rh_multiplicand.bin")
    kz = np.load(os.path.join(conf_dir, "openiris", "kernels.npz"))
    check(all(np.array_equal(kz[f"kernel_{f}_{c}_int"], oi_k[f"filter{f}_{c}"]) for f in (0, 1) for c in ("re", "im"))
          and all(list(kz[f"kernel_{f}_sumsq_re_im"]) == sumsq[f] for f in (0, 1)),
          "kernels/openiris-1.11.json == openiris kernels.npz (taps and sum of squares)")
    # probe geometry == open-iris's own (probe_schema.npz)
    ps = np.load(os.path.join(conf_dir, "openiris", "probe_schema.npz"))
    for shape in ("128x512", "100x400", "100x512"):
        rows, cols = map(int, shape.split("x"))
        r, c = probe_positions(rows, cols)
        win = row_windows(r, rows)
        for f in (0, 1):
            ref_w = ps[f"row_windows_{f}_{shape}"].tolist()
            check(r == ps[f"r_probe_{f}_{shape}"].tolist() and c == ps[f"c_probe_{f}_{shape}"].tolist()
                  and [[t, t + n, kt] for (t, n, kt) in win] == ref_w,
                  f"probe rows/cols and row windows {shape} filter {f} == probe_schema.npz")

    use_ort = True
    try:
        import onnxruntime  # noqa: F401
        print(f"onnxruntime {onnxruntime.__version__} available: outputs cross-checked against it")
    except ImportError:
        use_ort = False
        print("onnxruntime not installed: numpy evaluation only")

    # ---------------- world-v3 ----------------
    print("\n=== world-v3 ===")
    wdir = os.path.join(conf_dir, "world-v3")
    ref = load_module(os.path.join(wdir, "reference.py"), "world_v3_reference")
    with open(os.path.join(out_dir, "world-v3", "spec.json")) as f:
        spec = json.load(f)
    img = np.fromfile(os.path.join(wdir, "constants", "iris", "test_image.bin"), dtype=np.uint8).reshape(128, 1024)
    msk = np.fromfile(os.path.join(wdir, "constants", "mask", "test_image.bin"), dtype=np.uint8).reshape(128, 1024)
    onnx_path = os.path.join(out_dir, "world-v3", "model.onnx")
    outs, ort_ok = evaluate(onnx_path, {"image": img, "mask": msk}, use_ort)
    if ort_ok is not None:
        check(ort_ok, "onnxruntime outputs == numpy evaluation (exact int32)")
    resp_ref = ref.responses_direct(img, ref.kernels_from_rh(rh.astype(np.int64)))
    check(np.array_equal(outs["iris_response"], resp_ref), "iris_response == reference.py responses_direct (exact)")
    rh_m = np.fromfile(os.path.join(wdir, "constants", "mask", "rh_multiplicand.bin"), dtype="<i4").reshape(1024, 4)
    mresp_ref = ref.responses_direct(msk, ref.kernels_from_rh(rh_m.astype(np.int64)))
    check(np.array_equal(10 * outs["mask_count"][[0, 0, 1, 1]], mresp_ref),
          "10 * mask_count == reference.py mask responses (exact)")
    iris, mask = encode(spec["rules"], outs)
    for kind, bits in (("iris", iris), ("mask", mask)):
        rw = np.fromfile(os.path.join(wdir, "remainder_witness", f"{kind}_sign_bits_remainder.bin"), dtype=np.uint8)
        exp = rw[:4096 * 4].reshape(16, 256, 4).transpose(2, 0, 1).astype(bool)
        flips = int((exp != bits).sum())
        print(f"world-v3 {kind}: {flips} flipped bits of {bits.size} (popcount {int(bits.sum())})")
        check(flips == 0, f"world-v3 {kind} code == remainder_witness/{kind}_sign_bits_remainder.bin")
    tc = np.fromfile(os.path.join(wdir, "constants", "mask", "test_code.bin"), dtype=np.uint8).reshape(4, 16, 256)
    check(np.array_equal(tc.astype(bool), mask), "world-v3 mask code == constants/mask/test_code.bin")

    # ---------------- open-iris ----------------
    print("\n=== openiris-1.11 ===")
    odir = os.path.join(conf_dir, "openiris")
    oiref = load_module(os.path.join(odir, "oi_int_ref.py"), "oi_int_ref")
    model_dirs = {(128, 512): "openiris-1.11", (100, 400): "openiris-1.11/test-shapes/100x400",
                  (100, 512): "openiris-1.11/test-shapes/100x512"}
    c2_exact = cos2_5deg_exact()
    margins = {"angle": [], "angle_decisive": [], "radius_hi": [], "radius_lo": [], "occlusion": []}
    per_den = {}
    names = sorted(n[:-4] for n in os.listdir(os.path.join(odir, "samples")) if n.endswith(".npz"))
    total = [0, 0]
    for name in names:
        z = np.load(os.path.join(odir, "samples", name + ".npz"))
        img = z["normalized_image"]
        msk = z["normalized_mask"].astype(np.uint8)
        mdir = model_dirs[img.shape]
        with open(os.path.join(out_dir, mdir, "spec.json")) as f:
            spec = json.load(f)
        outs, ort_ok = evaluate(os.path.join(out_dir, mdir, "model.onnx"), {"image": img, "mask": msk}, use_ort)
        resp, occl = outs["response"], outs["occlusion"]
        # integer sums == the reference's own integer model (values, not just signs)
        exact = all(np.array_equal(resp[2 * f], z[f"int_re_{f}"]) and np.array_equal(resp[2 * f + 1], z[f"int_im_{f}"])
                    and np.array_equal(occl[2 * f], z[f"int_occl_a_re_{f}"])
                    and np.array_equal(occl[2 * f + 1], z[f"int_occl_a_im_{f}"]) for f in (0, 1))
        dens = [spec["rules"]["encoder"]["mask"][p]["all"][0]["at_least"]["den"]["per_row"] for p in range(4)]
        exact_b = all(np.all(z[f"int_occl_b_{c}_{f}"] == np.array(dens[2 * f + ci])[:, None])
                      for f in (0, 1) for ci, c in enumerate(("re", "im")))
        iris, mask = encode(spec["rules"], outs)
        exp_iris = np.stack([z["iris_codes"][p // 2, :, :, p % 2] for p in range(4)])
        exp_mask = np.stack([z["mask_codes"][p // 2, :, :, p % 2] for p in range(4)])
        fi, fm = int((iris != exp_iris).sum()), int((mask != exp_mask).sum())
        total[0] += fi
        total[1] += fm
        extra = "" if ort_ok is None else f", onnxruntime {'==' if ort_ok else '!='} numpy"
        print(f"{name:34s} {img.shape[0]}x{img.shape[1]} model {mdir:34s} iris flips {fi:2d}/16384  mask flips "
              f"{fm:2d}/16384  mask popcount {int(mask.sum())}{extra}")
        check(fi == 0 and fm == 0 and exact and exact_b and ort_ok is not False,
              f"{name}: codes, integer sums and occlusion denominators exact")
        # ---- margins of every threshold test (exact rationals) ----
        for f in (0, 1):
            s_re, s_im = sumsq[f]
            fr = spec["rules"]["encoder"]["mask"][2 * f]["all"][2]["fragile"]
            n = np.array(fr["patch_size"], dtype=object)[:, None]
            re, im = resp[2 * f].astype(object), resp[2 * f + 1].astype(object)
            q = re * re * s_im + im * im * s_re
            big_m = n * n * s_re * s_im
            occ_ok = [eval_rule(spec["rules"]["encoder"]["mask"][2 * f + c]["all"][0], outs) for c in (0, 1)]
            for idx in zip(*np.nonzero(q != 0)):
                qq, mm = q[idx], big_m[idx[0], 0]
                zz = Fraction(qq, mm)                                     # |z|^2
                margins["radius_hi"].append(abs(zz / Fraction(*RADIUS_HI_SQ) - 1))
                margins["radius_lo"].append(abs(zz / Fraction(*RADIUS_LO_SQ) - 1))
                rad_ok = Fraction(*RADIUS_LO_SQ) <= zz <= Fraction(*RADIUS_HI_SQ)
                for comp in (0, 1):
                    other = im[idx] * im[idx] * s_re if comp == 0 else re[idx] * re[idx] * s_im
                    t = Fraction(other, qq)
                    d = abs(t - c2_exact)
                    margins["angle"].append(d)
                    if rad_ok and occ_ok[comp][idx]:
                        margins["angle_decisive"].append(d)
            for c in (0, 1):
                b = np.array(dens[2 * f + c], dtype=object)[:, None]
                a = occl[2 * f + c].astype(object)
                for idx in zip(*np.nonzero(a != np.broadcast_to(b, a.shape))):
                    margins["occlusion"].append(abs(Fraction(a[idx], b[idx[0], 0]) - Fraction(*OCCLUSION_RATIO)))
        # smallest power-of-two cos2 denominator that still reproduces this sample
        for bits in range(4, 33):
            num, den = cos2_ratio(bits)
            sp = json.loads(json.dumps(spec))
            for r in sp["rules"]["encoder"]["mask"]:
                r["all"][2]["fragile"]["cos2"] = {"num": num, "den": den}
            _, m2 = encode(sp["rules"], outs)
            per_den.setdefault(bits, 0)
            per_den[bits] += int((m2 != exp_mask).sum())
        # cross-check against the shared integer reference too
        ks = {f: (oi_k[f"filter{f}_re"], oi_k[f"filter{f}_im"]) for f in (0, 1)}
        for f in (0, 1):
            ic = oiref.conv_int(img, msk.astype(bool), ks[f][0], ks[f][1])
            ok = np.array_equal(ic.re, resp[2 * f]) and np.array_equal(ic.im, resp[2 * f + 1])
            if not ok:
                check(False, f"{name}: filter {f} responses == oi_int_ref.conv_int")

    print(f"\nopeniris total: {total[0]} iris flips, {total[1]} mask flips over {len(names)} samples")
    num, den = cos2_ratio()
    err = abs(Fraction(num, den) - c2_exact)
    print(f"cos2 = {num}/{den} (2^{COS2_DEN_BITS}); |cos2 - cos^2(5 deg)| = {float(err):.3e}")
    for k in ("angle", "angle_decisive", "radius_hi", "radius_lo", "occlusion"):
        v = margins[k]
        if v:
            mn = min(v)
            unit = "|t - cos^2(5deg)|" if k.startswith("angle") else ("|ratio - threshold|" if k == "occlusion"
                                                                       else "relative |z^2/thr^2 - 1|")
            print(f"smallest margin {k:15s}: {float(mn):.3e}  ({unit}, over {len(v)} tests)")
    ok_bits = [b for b in sorted(per_den) if per_den[b] == 0]
    print("mask flips over all samples with cos2 = round(cos^2(5deg) * 2^k)/2^k: " +
          ", ".join(f"k={b}:{per_den[b]}" for b in sorted(per_den)))
    if ok_bits:
        first_bad = max([b for b in per_den if per_den[b] != 0], default=None)
        print(f"smallest k reproducing every sample: {min(b for b in ok_bits if first_bad is None or b > first_bad)}")
    check(total == [0, 0], "openiris: 0 flipped bits over all samples")
    print("\nRESULT:", "ALL CHECKS PASSED" if not failures else f"{len(failures)} FAILURE(S)")
    return not failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's directory)")
    ap.add_argument("--import-kernels", metavar="DIR", help="conformance dir to import kernels/*.json from")
    ap.add_argument("--verify", metavar="DIR", help="conformance dir (holding world-v3/ and openiris/) to verify against")
    args = ap.parse_args()
    if args.import_kernels:
        import_kernels(args.import_kernels)
    for rel, size, digest in generate(args.out):
        print(f"{digest}  {size:8d}  {rel}")
    if args.verify:
        return 0 if verify(args.out, args.verify) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
