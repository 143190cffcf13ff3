#!/usr/bin/env python3
"""Trains the reference presentation-attack-detection (PAD) model `liveness-v1` and evaluates it.

The model reads the full normalized iris image (u8 [128, 1024], the committed image the proof is about)
and outputs one liveness logit (higher = more likely a live eye). The downsampling is inside the graph:

  image u8 [128,1024] -> Cast(float) -> Reshape [1,1,128,1024] -> AveragePool 4x4 -> [1,1,32,256]
  -> Conv 3x3 stride 2 pad 1 (4 ch) -> Relu -> [1,4,16,128]
  -> Conv 3x3 stride 2 pad 1 (8 ch) -> Relu -> [1,8,8,64]
  -> AveragePool 8x64 (global mean) -> Flatten -> Gemm 8->1 -> Reshape [1] = "liveness"

345 parameters. Training adds BatchNorm after each linear layer; the export folds it into the Conv /
Gemm weights. The pixel scale (x/255 during training) is folded into the first convolution, and a
positive per-layer rescaling (exact, because ReLU is positively homogeneous) balances the weight
magnitudes of the three linear layers so fixed-point weights lose the same relative precision in each.
Both pooling windows are powers of two (16 and 512), so zkiris lowers them exactly.

Subcommands (run from anywhere; paths are relative to this directory unless absolute):

  train --data DIR       generate the synthetic data (liveness_data.py), train with PyTorch on CPU
                         (1 thread, fixed seeds), write liveness-v1/model.onnx and liveness-v1/spec.json,
                         and save the held-out images (val, test: uint8 .npy) and their float scores
                         under DIR. DIR must not be inside the repository's tracked files (it holds
                         ~0.5 GB); .gitignore ignores models/.liveness-data/.
  evaluate --data DIR    read the integer scores written by the Rust example
                         (cargo run -p zkiris --example liveness_eval, see liveness-v1/README.md), compute
                         APCER per attack type and BPCER at tau for the float and the quantized model,
                         check that they agree within 0.5 percentage points, write liveness-v1/metrics.json
                         and liveness-v1/det.png, and print the model-card tables.

Threshold: tau is chosen on the validation split (never on test) as the largest multiple of 2^-8 with
validation BPCER <= 1 %. The manifest stores it in the integer output scale of zkiris's lowering,
tau_int = tau * 2^OUTPUT_SCALE_BITS; `evaluate` checks that the scale the Rust side reports is that one.

Requires requirements-liveness.txt (numpy, onnx, torch, matplotlib, pillow). Not run in CI.
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import liveness_data as ld  # noqa: E402
import make_models as mm  # noqa: E402  (deterministic JSON writer shared with the other specs)

OUT_DIR = os.path.join(HERE, "liveness-v1")
NAME, VERSION = "liveness-v1", "1.0.0"
OPSET, IR_VERSION = 13, 8
PRODUCER = "zkiris models/train_liveness.py"

COUNTS = {
    "train": {"bona_fide": 3000, **{a: 600 for a in ld.ATTACKS}},
    "val": {"bona_fide": 600, **{a: 120 for a in ld.ATTACKS}},
    "test": {"bona_fide": 1200, **{a: 300 for a in ld.ATTACKS}},
}
TORCH_SEED = 20260415
EPOCHS, BATCH, LR, WEIGHT_DECAY = 40, 64, 1e-2, 1e-4
TARGET_VAL_BPCER = 0.01
TAU_STEP_BITS = 8
# The integer scale of the `liveness` output after zkiris lowers the float graph with
# QuantConfig::default() (weights and activations at 2^-12): the Gemm multiplies an activation at
# 2^-12 by weights at 2^-12, so the logit is an integer at 2^-24. `evaluate` checks it.
OUTPUT_SCALE_BITS = 24
MAX_PP_DIFF = 0.5
C1, C2 = 4, 8


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def pool4(imgs):
    """Average pool 4x4 of uint8 images [N, 128, 1024] -> float32 [N, 32, 256] (exact)."""
    n = imgs.shape[0]
    return imgs.reshape(n, 32, 4, 256, 4).astype(np.float32).mean(axis=(2, 4))


def make_split(split, keep_full):
    items = ld.split_items(split, COUNTS[split])
    n = len(items)
    full = np.zeros((n, ld.H, ld.W), dtype=np.uint8) if keep_full else None
    pooled = np.zeros((n, 32, 256), dtype=np.float32)
    t0 = time.time()
    for i, (cls, seed) in enumerate(items):
        img = ld.render(cls, seed)
        pooled[i] = pool4(img[None])[0]
        if keep_full:
            full[i] = img
        if (i + 1) % 1000 == 0 or i + 1 == n:
            print(f"  {split}: {i + 1}/{n} images ({time.time() - t0:.0f} s)", flush=True)
    classes = [cls for cls, _ in items]
    return full, pooled, classes


# ---------------------------------------------------------------------------------------------
# The network (torch for training; numpy for the exported float graph)
# ---------------------------------------------------------------------------------------------
def build_torch_net(torch):
    """The training network: the exported graph plus BatchNorm after each linear layer (folded
    into the Conv/Gemm weights at export, exact in inference mode)."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, C1, 3, stride=2, padding=1)
            self.bn1 = nn.BatchNorm2d(C1)
            self.conv2 = nn.Conv2d(C1, C2, 3, stride=2, padding=1)
            self.bn2 = nn.BatchNorm2d(C2)
            self.bn3 = nn.BatchNorm1d(C2)
            self.fc = nn.Linear(C2, 1)

        def forward(self, x):                       # x: pooled image / 255, [N, 1, 32, 256]
            h = torch.relu(self.bn1(self.conv1(x)))
            h = torch.relu(self.bn2(self.conv2(h)))
            return self.fc(self.bn3(h.mean(dim=(2, 3))))[:, 0]
    return Net()


def train(pooled, labels, val_pooled, val_labels):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(TORCH_SEED)
    torch.use_deterministic_algorithms(True)
    net = build_torch_net(torch)
    x = torch.from_numpy(pooled / 255.0).float()[:, None]
    y = torch.from_numpy(labels.astype(np.float32))
    xv = torch.from_numpy(val_pooled / 255.0).float()[:, None]
    pos = float(labels.sum())
    pos_weight = torch.tensor((len(labels) - pos) / pos)        # balance bona fide vs attacks
    opt = torch.optim.Adam(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps = EPOCHS * ((len(y) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.15)
    lossf = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    cols = torch.arange(256)
    t0 = time.time()
    for epoch in range(EPOCHS):
        net.train()
        perm = torch.randperm(len(y), generator=gen)
        total = 0.0
        for b in range(0, len(y), BATCH):
            idx = perm[b:b + BATCH]
            xb = x[idx]
            # augmentation, exact in the pooled domain: a rotation of the eye (column roll by a
            # multiple of 4 px) and a mirror image (column reversal)
            shift = torch.randint(0, 256, (len(idx),), generator=gen)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            ci = (cols[None, :] + shift[:, None]) % 256
            ci = torch.where(flip[:, None], 255 - ci, ci)
            xb = torch.gather(xb, 3, ci[:, None, None, :].expand(-1, 1, 32, 256))
            loss = lossf(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if epoch % 5 == 4 or epoch == EPOCHS - 1:
            net.eval()
            with torch.no_grad():
                sv = net(xv).numpy()
            auc = roc_auc(sv[val_labels == 1], sv[val_labels == 0])
            print(f"  epoch {epoch + 1:2d}  loss {total / len(y):.4f}  val AUC {auc:.5f}  ({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    return net


def roc_auc(pos, neg):
    s = np.concatenate([pos, neg])
    ranks = np.empty(len(s))
    ranks[np.argsort(s, kind="stable")] = np.arange(1, len(s) + 1)
    return (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def bn_affine(bn):
    """Inference-mode BatchNorm as y = a*x + c per channel (float64)."""
    a = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    return a, bn.bias.detach().double().numpy() - a * bn.running_mean.detach().double().numpy()


def export_weights(net):
    """Float weights of the exported graph: BatchNorm folded into the linear layers, the pixel
    scale (x/255) folded into conv1, and the three layers rescaled to equal largest |weight|."""
    a1, c1 = bn_affine(net.bn1)
    a2, c2 = bn_affine(net.bn2)
    a3, c3 = bn_affine(net.bn3)
    w1 = net.conv1.weight.detach().double().numpy() * a1[:, None, None, None] / 255.0
    b1 = net.conv1.bias.detach().double().numpy() * a1 + c1
    w2 = net.conv2.weight.detach().double().numpy() * a2[:, None, None, None]
    b2 = net.conv2.bias.detach().double().numpy() * a2 + c2
    fw = net.fc.weight.detach().double().numpy()
    w3 = fw * a3[None, :]
    b3 = net.fc.bias.detach().double().numpy() + fw @ c3
    m1, m2, m3 = np.abs(w1).max(), np.abs(w2).max(), np.abs(w3).max()
    g = (m1 * m2 * m3) ** (1 / 3)
    s1 = g / m1                      # conv1 outputs are scaled by s1, conv2 outputs by s2 (> 0)
    s2 = s1 * g / m2
    return {
        "w1": (w1 * s1).astype(np.float32), "b1": (b1 * s1).astype(np.float32),
        "w2": (w2 * s2 / s1).astype(np.float32), "b2": (b2 * s2).astype(np.float32),
        "w3": (w3 / s2).astype(np.float32), "b3": b3.astype(np.float32),
    }


def conv_np(x, w, b):
    """Conv 3x3, stride 2, pad 1 in float64: x [N, C, H, W], w [O, C, 3, 3]."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (h + 2 - 3) // 2 + 1, (wd + 2 - 3) // 2 + 1
    out = np.zeros((n, w.shape[0], oh, ow))
    for ky in range(3):
        for kx in range(3):
            patch = xp[:, :, ky:ky + 2 * oh:2, kx:kx + 2 * ow:2]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx].astype(np.float64))
    return out + b.astype(np.float64)[None, :, None, None]


def forward_np(wts, imgs, batch=256):
    """The exported float graph evaluated in float64 on uint8 images [N, 128, 1024]."""
    out = []
    for s in range(0, len(imgs), batch):
        x = imgs[s:s + batch].reshape(-1, 1, 32, 4, 256, 4).astype(np.float64).mean(axis=(3, 5))
        h = np.maximum(conv_np(x, wts["w1"], wts["b1"]), 0)
        h = np.maximum(conv_np(h, wts["w2"], wts["b2"]), 0)
        f = h.mean(axis=(2, 3))
        out.append(f @ wts["w3"].astype(np.float64).T[:, 0] + wts["b3"].astype(np.float64)[0])
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------------
# ONNX and spec
# ---------------------------------------------------------------------------------------------
DESCRIPTION = (
    "Reference presentation-attack-detection (liveness) model, TRAINED ON SYNTHETIC DATA ONLY: a reference for "
    "the proving mechanism, not a certified PAD. Input: the 128x1024 normalized iris (u8). Graph: AveragePool 4x4 "
    "-> Conv 3x3/2 (4) -> Relu -> Conv 3x3/2 (8) -> Relu -> AveragePool 8x64 -> Gemm 8->1 = liveness logit. "
    "The threshold is in zkiris's integer output scale 2^-24 (QuantConfig default: weights and activations "
    "at 2^-12). Generated by models/train_liveness.py; see liveness-v1/README.md.")


def build_onnx(wts):
    inits = [
        numpy_helper.from_array(np.array([1, 1, ld.H, ld.W], dtype=np.int64), "shape_nchw"),
        numpy_helper.from_array(wts["w1"], "conv1_w"), numpy_helper.from_array(wts["b1"], "conv1_b"),
        numpy_helper.from_array(wts["w2"], "conv2_w"), numpy_helper.from_array(wts["b2"], "conv2_b"),
        numpy_helper.from_array(wts["w3"], "fc_w"), numpy_helper.from_array(wts["b3"], "fc_b"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "shape_out"),
    ]
    conv = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("Cast", ["image"], ["image_f"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["image_f", "shape_nchw"], ["image_nchw"], name="to_nchw"),
        helper.make_node("AveragePool", ["image_nchw"], ["pooled"], name="pool4", kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Conv", ["pooled", "conv1_w", "conv1_b"], ["conv1"], name="conv1", **conv),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "conv2_w", "conv2_b"], ["conv2"], name="conv2", **conv),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("AveragePool", ["relu2"], ["features_nchw"], name="global_mean", kernel_shape=[8, 64], strides=[8, 64]),
        helper.make_node("Flatten", ["features_nchw"], ["features"], name="flatten", axis=1),
        helper.make_node("Gemm", ["features", "fc_w", "fc_b"], ["logit"], name="fc", transB=1),
        helper.make_node("Reshape", ["logit", "shape_out"], ["liveness"], name="to_scalar"),
    ]
    graph = helper.make_graph(
        nodes, NAME,
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [ld.H, ld.W])],
        [helper.make_tensor_value_info("liveness", TensorProto.FLOAT, [1])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=PRODUCER, producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = DESCRIPTION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def spec(tau_int):
    rules = {
        "inputs": [{"name": "image", "role": "image", "shape": [ld.H, ld.W], "dtype": "u8", "range": [0, 255]}],
        "outputs": [{"name": "liveness", "shape": [1]}],
        # A liveness-only model derives no code bits: the encoder has no planes.
        "encoder": {"grid": [16, 256], "iris": [], "mask": []},
        "code_layout": "world-v3",
        "min_valid_bits": 0,
        "liveness": {"output": "liveness", "threshold": int(tau_int), "public": True},
    }
    return {"name": NAME, "version": VERSION, "description": DESCRIPTION, "onnx": "model.onnx", "rules": rules}


def choose_tau(val_scores, val_labels):
    """Largest multiple of 2^-TAU_STEP_BITS with validation BPCER <= TARGET_VAL_BPCER."""
    bf = np.sort(val_scores[val_labels == 1])
    k = int(np.floor(TARGET_VAL_BPCER * len(bf)))        # at most k bona fide rejected
    step = 2.0 ** -TAU_STEP_BITS
    return np.floor(bf[k] / step) * step                # every score >= bf[k] is accepted


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{hashlib.sha256(data).hexdigest()}  {len(data):7d}  {os.path.relpath(path, HERE)}")


def cmd_train(args):
    data = os.path.abspath(args.data)
    os.makedirs(data, exist_ok=True)
    t0 = time.time()
    print("generating data", flush=True)
    _, tr_pooled, tr_cls = make_split("train", keep_full=False)
    val_full, val_pooled, val_cls = make_split("val", keep_full=True)
    test_full, _, test_cls = make_split("test", keep_full=True)
    t_data = time.time() - t0
    tr_y = np.array([c == "bona_fide" for c in tr_cls], dtype=np.int64)
    val_y = np.array([c == "bona_fide" for c in val_cls], dtype=np.int64)
    print(f"training ({len(tr_y)} images, {EPOCHS} epochs)", flush=True)
    t1 = time.time()
    net = train(tr_pooled, tr_y, val_pooled, val_y)
    t_train = time.time() - t1
    wts = export_weights(net)
    import torch
    with torch.no_grad():
        torch_val = net(torch.from_numpy(val_pooled / 255.0).float()[:, None]).double().numpy()
    val_f = forward_np(wts, val_full)
    test_f = forward_np(wts, test_full)
    print(f"exported float graph vs torch (val): max |diff| {np.abs(val_f - torch_val).max():.2e}")
    tau = choose_tau(val_f, val_y)
    tau_int = int(round(tau * 2 ** OUTPUT_SCALE_BITS))
    print(f"tau = {tau} (validation BPCER target {TARGET_VAL_BPCER:.0%}) -> {tau_int} at 2^-{OUTPUT_SCALE_BITS}")
    write(os.path.join(OUT_DIR, "model.onnx"), build_onnx(wts))
    write(os.path.join(OUT_DIR, "spec.json"), mm.dumps(spec(tau_int)).encode())
    for split, full, cls, scores in (("val", val_full, val_cls, val_f), ("test", test_full, test_cls, test_f)):
        np.save(os.path.join(data, f"{split}_images.npy"), full)
        np.save(os.path.join(data, f"{split}_float.npy"), scores)
        with open(os.path.join(data, f"{split}_classes.json"), "w") as f:
            json.dump(cls, f)
    with open(os.path.join(data, "train_info.json"), "w") as f:
        json.dump({"tau": tau, "tau_int": tau_int, "data_seconds": t_data, "train_seconds": t_train,
                   "counts": COUNTS, "epochs": EPOCHS, "torch_seed": TORCH_SEED,
                   "weights": {k: v.tolist() for k, v in wts.items()}}, f)
    print(f"data {t_data:.0f} s, training {t_train:.0f} s; held-out data in {data}")
    return 0


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
def iso_metrics(scores, classes, tau):
    """APCER per attack type (attacks accepted: score >= tau) and BPCER (bona fide rejected)."""
    classes = np.asarray(classes)
    out = {"bpcer": float(np.mean(scores[classes == "bona_fide"] < tau))}
    for a in ld.ATTACKS:
        out[f"apcer_{a}"] = float(np.mean(scores[classes == a] >= tau))
    out["apcer_max"] = max(out[f"apcer_{a}"] for a in ld.ATTACKS)
    return out


def det_points(scores, classes, attack):
    classes = np.asarray(classes)
    bf, at = scores[classes == "bona_fide"], scores[classes == attack]
    ts = np.unique(np.concatenate([bf, at]))
    bpcer = np.array([np.mean(bf < t) for t in ts])
    apcer = np.array([np.mean(at >= t) for t in ts])
    return apcer, bpcer


def plot(path, float_s, int_s, classes, tau, scale):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "zkiris"
    import matplotlib.pyplot as plt
    nd = statistics.NormalDist()
    clip = lambda p: np.clip(p, 1e-4, 1 - 1e-4)          # noqa: E731
    probit = np.vectorize(lambda p: nd.inv_cdf(float(p)))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    colors = dict(zip(ld.ATTACKS, ["C0", "C1", "C2", "C3", "C4"]))
    for a in ld.ATTACKS:
        for s, style, lab in ((float_s, "-", "float"), (int_s / 2.0 ** scale, "--", "quantized")):
            apcer, bpcer = det_points(s, classes, a)
            ax1.plot(probit(clip(apcer)), probit(clip(bpcer)), style, color=colors[a], lw=1.2,
                     label=f"{a} ({lab})")
        m = iso_metrics(float_s, classes, tau)
        ax1.plot(probit(clip(m[f"apcer_{a}"])), probit(clip(m["bpcer"])), "o", color=colors[a], ms=5)
    ticks = [0.0001, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95]
    for set_t, set_l in ((ax1.set_xticks, ax1.set_xticklabels), (ax1.set_yticks, ax1.set_yticklabels)):
        set_t([nd.inv_cdf(t) for t in ticks])
        set_l([f"{100 * t:g}%" for t in ticks])
    ax1.set_xlim(nd.inv_cdf(1e-4), nd.inv_cdf(0.95))
    ax1.set_ylim(nd.inv_cdf(1e-4), nd.inv_cdf(0.95))
    ax1.set_xlabel("APCER (attack presentations accepted)")
    ax1.set_ylabel("BPCER (bona fide presentations rejected)")
    ax1.set_title("DET per attack type, test split (dots: at tau; 0 plotted at 0.01%)")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=6.5, ncol=2, loc="upper right")
    classes = np.asarray(classes)
    bins = np.linspace(min(float_s.min(), -30), max(float_s.max(), 10), 90)
    for c in ld.CLASSES:
        ax2.hist(float_s[classes == c], bins=bins, histtype="step", lw=1.4,
                 color="k" if c == "bona_fide" else colors[c], label=c)
    ax2.axvline(tau, color="r", ls=":", label=f"tau = {tau:g}")
    ax2.set_yscale("log")
    ax2.set_xlabel("liveness logit (float model)")
    ax2.set_ylabel("images")
    ax2.set_title("Score histogram, test split")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {os.path.relpath(path, HERE)}")


def read_png_gray(path):
    from PIL import Image
    a = np.asarray(Image.open(path))
    if a.ndim != 2 or a.dtype != np.uint8:
        raise ValueError(f"{path}: expected an 8-bit grayscale PNG")
    return a


def cmd_evaluate(args):
    data = os.path.abspath(args.data)
    with open(os.path.join(OUT_DIR, "spec.json")) as f:
        tau_int = json.load(f)["rules"]["liveness"]["threshold"]
    tau = tau_int / 2.0 ** OUTPUT_SCALE_BITS
    with open(os.path.join(data, "test_int.json")) as f:
        rust = json.load(f)
    if rust["scale_bits"] != OUTPUT_SCALE_BITS:
        raise SystemExit(f"the Rust lowering gives the liveness output at 2^-{rust['scale_bits']}, the spec's "
                         f"threshold assumes 2^-{OUTPUT_SCALE_BITS}: update OUTPUT_SCALE_BITS and re-run train")
    if rust.get("threshold") not in (None, tau_int):
        raise SystemExit(f"manifest threshold {rust['threshold']} != spec threshold {tau_int}")
    with open(os.path.join(data, "test_classes.json")) as f:
        classes = json.load(f)
    float_s = np.load(os.path.join(data, "test_float.npy"))
    int_s = np.array([it["score"] for it in rust["items"]], dtype=np.float64)
    tract_f = np.array([it["tract_float"] for it in rust["items"]])
    if len(int_s) != len(classes):
        raise SystemExit(f"{len(int_s)} integer scores for {len(classes)} test images")
    mf = iso_metrics(float_s, classes, tau)
    mq = iso_metrics(int_s, classes, tau_int)
    diffs = {k: 100 * abs(mf[k] - mq[k]) for k in mf}
    q_err = np.abs(int_s / 2.0 ** OUTPUT_SCALE_BITS - tract_f)
    np_err = np.abs(float_s - tract_f)
    flips = int(np.sum((float_s >= tau) != (int_s >= tau_int)))

    with open(os.path.join(data, "samples_int.json")) as f:
        samples = json.load(f)
    sample_rows = []
    with open(os.path.join(data, "train_info.json")) as f:
        info = json.load(f)
    wts = {k: np.array(v, dtype=np.float32) for k, v in info["weights"].items()}
    for it in samples["items"]:
        img = read_png_gray(it["source"])
        fs = float(forward_np(wts, img[None])[0])
        sample_rows.append({"image": os.path.relpath(it["source"], HERE), "float": fs, "int": it["score"],
                            "quantized": it["score"] / 2.0 ** OUTPUT_SCALE_BITS, "tract_float": it["tract_float"],
                            "passes": it["score"] >= tau_int and fs >= tau})
    counts = {c: int(np.sum(np.asarray(classes) == c)) for c in ld.CLASSES}
    metrics = {
        "tau": tau, "tau_int": tau_int, "scale_bits": OUTPUT_SCALE_BITS, "test_counts": counts,
        "float": mf, "quantized": mq, "abs_diff_pp": diffs, "decision_flips": flips,
        "quant_max_abs_err_vs_tract": float(q_err.max()), "quant_mean_abs_err_vs_tract": float(q_err.mean()),
        "numpy_vs_tract_max_abs": float(np_err.max()),
        "test_score_range": [float(float_s.min()), float(float_s.max())],
        "samples": sample_rows,
        "validation_tau_rule": f"largest multiple of 2^-{TAU_STEP_BITS} with validation BPCER <= {TARGET_VAL_BPCER:.0%}",
    }
    path = os.path.join(OUT_DIR, "metrics.json")
    with open(path, "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, HERE)}")
    plot(os.path.join(OUT_DIR, "det.png"), float_s, int_s, classes, tau, OUTPUT_SCALE_BITS)

    print(f"\ntau = {tau:g} (integer {tau_int} at 2^-{OUTPUT_SCALE_BITS}); test split {counts}\n")
    print("| metric | float model | quantized IR model | difference (pp) |")
    print("|---|---|---|---|")
    for k in ["bpcer"] + [f"apcer_{a}" for a in ld.ATTACKS] + ["apcer_max"]:
        label = "BPCER" if k == "bpcer" else ("APCER " + k[6:] if k != "apcer_max" else "APCER (max over types)")
        print(f"| {label} | {100 * mf[k]:.2f} % | {100 * mq[k]:.2f} % | {diffs[k]:.2f} |")
    print(f"\ndecision flips float vs quantized: {flips} / {len(classes)}")
    print(f"quantized logit vs tract float: max |err| {q_err.max():.3e}, mean {q_err.mean():.3e}")
    print(f"numpy float64 vs tract float32: max |diff| {np_err.max():.3e}")
    print("\n| sample | float logit | quantized logit (integer) | passes tau |")
    print("|---|---|---|---|")
    for r in sample_rows:
        print(f"| `{r['image']}` | {r['float']:.4f} | {r['quantized']:.4f} ({r['int']}) | {'yes' if r['passes'] else 'NO'} |")
    bad = [k for k, d in diffs.items() if d > MAX_PP_DIFF]
    if bad:
        print(f"FAIL: float and quantized metrics differ by more than {MAX_PP_DIFF} pp: {bad}")
        return 1
    if not all(r["passes"] for r in sample_rows):
        print("FAIL: a bundled bona fide sample does not pass tau")
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "evaluate"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=os.path.join(HERE, ".liveness-data"))
    args = ap.parse_args()
    return cmd_train(args) if args.cmd == "train" else cmd_evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
