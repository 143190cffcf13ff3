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

Writes, for each gabor model: ezkl-adapters/<name>/{model.onnx, spec.json, image.png, mask.png (all valid)}.
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

    d = os.path.join(OUT, f"ezkl-{name}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as fh:
        fh.write(model.SerializeToString())
    png_gray8(os.path.join(d, "image.png"), img)
    png_gray8(os.path.join(d, "mask.png"), np.full((h, wd), 255, dtype=np.uint8))
    spec = {
        "name": f"ezkl-{name}",
        "version": "1.0.0",
        "description": (f"BENCHMARK ONLY: ezkl's {name}.onnx Conv ({f} ch, {attrs['kernel_shape'][0]}x{attrs['kernel_shape'][1]}, "
                        f"stride {tuple(attrs['strides'])}, no pad) on a u8 {h}x{wd} image; iris bit = response > 0; the mask is committed but no rule reads it. "
                        "Generated by tests/bench-models/make_ezkl_adapters.py."),
        "onnx": "model.onnx",
        "rules": {
            "inputs": [{"name": "image", "role": "image", "shape": [h, wd], "dtype": "u8", "range": [0, 255]},
                       {"name": "mask", "role": "mask", "shape": [h, wd], "dtype": "u8", "range": [0, 1]}],
            "outputs": [{"name": "gabor_response", "shape": [f, oh, ow]}],
            "encoder": {"grid": [oh, ow],
                        "iris": [{"positive": {"output": "gabor_response", "channel": c}} for c in range(f)],
                        "mask": []},
            "code_layout": "world-v3",
            "min_valid_bits": 0,
            "liveness": None,
        },
    }
    with open(os.path.join(d, "spec.json"), "w") as fh:
        json.dump(spec, fh, indent=2)
        fh.write("\n")
    print(f"{d}: input u8 {h}x{wd}, Conv {list(w.shape)} stride {attrs['strides']}, code {f * oh * ow} bits")


if __name__ == "__main__":
    for n in sys.argv[1:] or ["gabor_small", "gabor_large"]:
        adapt(n)
