#!/usr/bin/env python3
"""Wraps ezkl's benchmark ONNX files (tests/bench-models/ezkl/, copied from ../shared/bench/ezkl/models/)
as zkiris model specs, so `zkiris bench` proves the same convolution on the same input.

What changes, and why (the README's Performance section repeats this):
- zkiris models read an 8-bit image (the enrolled, committed iris), so the wrapper's input is
  u8 [H, W] = round(255 * x) of ezkl's float input x in [0, 1]; Cast -> Reshape [1,1,H,W] feed
  ezkl's own Conv node with ezkl's own float weights (zkiris quantizes them to 2^-12).
- zkiris proves the IrisCode bits (sign of each response) as public outputs and keeps the image
  private behind a Poseidon commitment; ezkl (default run) makes the float input and the raw
  responses public. `ezkl --input-visibility hashed` is the closest ezkl statement to ours.
- Like every zkiris enrollment, the commitment binds the image and the mask (C = Poseidon(I, M, r)),
  so the wrapper has a mask input; no rule reads it (the mask code is empty, min_valid_bits 0).

Writes, for each model: ezkl-adapters/<name>/{model.onnx, spec.json, image.png, mask.png (all valid)}.
cnn_embed keeps ezkl's whole graph; its iris code is the sign bits of the `embedding` output and its
liveness rule reads the `liveness` output (see adapt_cnn).
Sign the specs with `zkiris model sign --spec .../spec.json --key dev` (the bench does not run Python).
Deterministic: byte-identical on re-run.  Needs numpy and onnx (models/requirements.txt).
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "ezkl")
OUT = os.path.join(HERE, "ezkl-adapters")


def png_gray8(path, img):
    """Writes an 8-bit grayscale PNG with no dependencies (deterministic: fixed zlib level)."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].astype(np.uint8).tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def image_and_mask_inputs(h, w):
    """The zkiris inputs of every adapter: the u8 image and the committed 0/1 mask."""
    return [{"name": "image", "role": "image", "shape": [h, w], "dtype": "u8", "range": [0, 255]},
            {"name": "mask", "role": "mask", "shape": [h, w], "dtype": "u8", "range": [0, 1]}]


def write_adapter(name, model, img, spec):
    """Writes ezkl-adapters/ezkl-<name>/: model.onnx, image.png, mask.png (all valid), spec.json."""
    h, w = img.shape
    d = os.path.join(OUT, f"ezkl-{name}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as fh:
        fh.write(model.SerializeToString())
    png_gray8(os.path.join(d, "image.png"), img)
    png_gray8(os.path.join(d, "mask.png"), np.full((h, w), 255, dtype=np.uint8))
    with open(os.path.join(d, "spec.json"), "w") as fh:
        json.dump(spec, fh, indent=2)
        fh.write("\n")
    return d


def adapt(name):
    src = onnx.load(os.path.join(SRC, f"{name}.onnx"))
    g = src.graph
    conv = [n for n in g.node if n.op_type == "Conv"]
    assert len(conv) == 1 and len(g.node) == 1, f"{name}: expected a single Conv node"
    conv = conv[0]
    weights = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    w = weights[conv.input[1]]
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    _, _, h, wd = dims
    out_dims = [d.dim_value for d in g.output[0].type.tensor_type.shape.dim]
    _, f, oh, ow = out_dims

    x = np.load(os.path.join(SRC, f"{name}.input.npy")).reshape(h, wd)
    img = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)

    nodes = [
        helper.make_node("Cast", ["image"], ["image_f"], name="image_cast", to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["image_f", "nchw"], ["iris_strip"], name="image_nchw"),
        helper.make_node("Conv", ["iris_strip", "gabor_w"], ["response_nchw"], name="gabor",
                         kernel_shape=list(attrs["kernel_shape"]), strides=list(attrs["strides"]),
                         pads=list(attrs.get("pads", [0, 0, 0, 0]))),
        helper.make_node("Reshape", ["response_nchw", "fhw"], ["gabor_response"], name="response_fhw"),
    ]
    inits = [
        numpy_helper.from_array(w.astype(np.float32), "gabor_w"),
        numpy_helper.from_array(np.array([1, 1, h, wd], dtype=np.int64), "nchw"),
        numpy_helper.from_array(np.array([f, oh, ow], dtype=np.int64), "fhw"),
    ]
    graph = helper.make_graph(
        nodes, f"ezkl-{name}",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [h, wd]),
         helper.make_tensor_value_info("mask", TensorProto.UINT8, [h, wd])],
        [helper.make_tensor_value_info("gabor_response", TensorProto.FLOAT, [f, oh, ow])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkiris-bench")
    model.ir_version = 8
    model.doc_string = f"ezkl bench model {name} (same Conv and weights) behind a u8 image input; see make_ezkl_adapters.py"
    onnx.checker.check_model(model, full_check=True)

    spec = {
        "name": f"ezkl-{name}",
        "version": "1.0.0",
        "description": (f"BENCHMARK ONLY: ezkl's {name}.onnx Conv ({f} ch, {attrs['kernel_shape'][0]}x{attrs['kernel_shape'][1]}, "
                        f"stride {tuple(attrs['strides'])}, no pad) on a u8 {h}x{wd} image; iris bit = response > 0; the mask is committed but no rule reads it. "
                        "Generated by tests/bench-models/make_ezkl_adapters.py."),
        "onnx": "model.onnx",
        "rules": {
            "inputs": image_and_mask_inputs(h, wd),
            "outputs": [{"name": "gabor_response", "shape": [f, oh, ow]}],
            "encoder": {"grid": [oh, ow],
                        "iris": [{"positive": {"output": "gabor_response", "channel": c}} for c in range(f)],
                        "mask": []},
            "code_layout": "world-v3",
            "min_valid_bits": 0,
            "liveness": None,
        },
    }
    d = write_adapter(name, model, img, spec)
    print(f"{d}: input u8 {h}x{wd}, Conv {list(w.shape)} stride {attrs['strides']}, code {f * oh * ow} bits")


def adapt_cnn(name):
    """ezkl's cnn_embed graph (Conv+bias → Relu → Conv+bias → Relu → Flatten → Gemm `embedding`,
    Gemm `liveness`) behind a u8 image input. Iris code = sign bits of the 256-value embedding
    (a learned binary code); the liveness rule proves `liveness ≥ τ`, τ public, with τ below the
    sample's score. The embedding keeps ezkl's [1, 256] shape (one plane on a 1 × 256 grid)."""
    src = onnx.load(os.path.join(SRC, f"{name}.onnx"))
    g = src.graph
    assert [n.op_type for n in g.node] == ["Conv", "Relu", "Conv", "Relu", "Flatten", "Gemm", "Gemm"], f"{name}: unexpected graph"
    inp = g.input[0].name
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    _, _, h, wd = dims
    outs = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in g.output}
    assert outs == {"embedding": [1, 256], "liveness": [1, 1]}, outs
    x = np.load(os.path.join(SRC, f"{name}.input.npy")).reshape(h, wd)
    img = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)

    # ezkl's nodes and float weights, unchanged, fed by Cast → Mul 1/256 → Reshape of the u8
    # image: ezkl's input range [0, 1) (x ≈ pixel / 255 up to 0.4 %; 1/256 is exact in fixed
    # point, 1/255 is not, so the quantisation error below is that of ezkl's layers alone).
    nodes = [
        helper.make_node("Cast", ["image"], ["image_f"], name="image_cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["image_f", "pixel_scale"], ["image_x"], name="image_scale"),
        helper.make_node("Reshape", ["image_x", "nchw"], [inp], name="image_nchw"),
    ] + list(g.node)
    inits = list(g.initializer) + [numpy_helper.from_array(np.array(1.0 / 256.0, dtype=np.float32), "pixel_scale"),
                                   numpy_helper.from_array(np.array([1, 1, h, wd], dtype=np.int64), "nchw")]
    graph = helper.make_graph(
        nodes, f"ezkl-{name}",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [h, wd]),
         helper.make_tensor_value_info("mask", TensorProto.UINT8, [h, wd])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("liveness", TensorProto.FLOAT, [1, 1])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkiris-bench")
    model.ir_version = 8
    model.doc_string = f"ezkl bench model {name} (same graph and weights) behind a u8 image input; see make_ezkl_adapters.py"
    onnx.checker.check_model(model, full_check=True)

    # The sample's float liveness score (numpy, the same graph) sets τ below it.
    ws = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in g.initializer}

    def conv(a, w, b, s):
        c, ih, iw = a.shape
        f, _, kh, kw = w.shape
        oh, ow = (ih - kh) // s + 1, (iw - kw) // s + 1
        out = np.zeros((f, oh, ow))
        for u in range(kh):
            for v in range(kw):
                patch = a[:, u:u + s * (oh - 1) + 1:s, v:v + s * (ow - 1) + 1:s]
                out += np.einsum("fc,cij->fij", w[:, :, u, v], patch)
        return out + b[:, None, None]

    r1 = np.maximum(conv(img[None].astype(np.float64) / 256.0, ws["c1_w"], ws["c1_b"], 2), 0)
    r2 = np.maximum(conv(r1, ws["c2_w"], ws["c2_b"], 2), 0)
    feat = r2.reshape(-1)
    emb = ws["emb_w"] @ feat + ws["emb_b"]
    live = float((ws["live_w"] @ feat + ws["live_b"])[0])
    # τ in the score's integer scale (2^-24 after lowering), a round value below the sample's score.
    tau_float = np.floor(live * 10.0) / 10.0 - 0.1
    tau = int(round(tau_float * (1 << 24)))

    spec = {
        "name": f"ezkl-{name}",
        "version": "1.0.0",
        "description": (f"BENCHMARK ONLY: ezkl's {name}.onnx (Conv 8x5x5/2 + bias, Relu, Conv 16x3x3/2 + bias, Relu, Flatten 5952, "
                        f"Gemm 256 = embedding, Gemm 1 = liveness) on a u8 {h}x{wd} image scaled by 1/256; iris bit = embedding > 0 (256 bits); "
                        f"liveness >= tau (public, float {tau_float:g}; the sample scores {live:.4f}); the mask is committed but no rule reads it. "
                        "Generated by tests/bench-models/make_ezkl_adapters.py."),
        "onnx": "model.onnx",
        "rules": {
            "inputs": image_and_mask_inputs(h, wd),
            "outputs": [{"name": "embedding", "shape": [1, 256]}, {"name": "liveness", "shape": [1, 1]}],
            "encoder": {"grid": [1, 256],
                        "iris": [{"positive": {"output": "embedding", "channel": 0}}],
                        "mask": []},
            "code_layout": "world-v3",
            "min_valid_bits": 0,
            "liveness": {"output": "liveness", "threshold": tau, "public": True},
        },
    }
    d = write_adapter(name, model, img, spec)
    print(f"{d}: input u8 {h}x{wd}, embedding 256 bits ({int((emb > 0).sum())} set), liveness {live:.4f}, tau {tau_float:g}")


if __name__ == "__main__":
    for n in sys.argv[1:] or ["gabor_small", "gabor_large", "cnn_embed"]:
        adapt_cnn(n) if n == "cnn_embed" else adapt(n)
