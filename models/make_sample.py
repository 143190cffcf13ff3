#!/usr/bin/env python3
"""Deterministic synthetic iris sample for demos and tests (no real biometric data).

Writes into samples/ (relative to this script):

  synth-eye_128x1024.png             normalized iris, 128 rows (rho, pupil -> limbus) x 1024 cols (phi)
  synth-eye_128x1024_mask.png        validity mask (255 = valid, 0 = eyelid / eyelash / specular)
  synth-eye_128x512.png / _mask.png  the same eye sampled at 512 columns (every other column,
                                     nearest-neighbour, as open-iris's normalization samples)
  synth-eye-recapture_*              a second "genuine" capture of the same eye: the iris texture
                                     rolled by +2 px at 1024 columns (+1 px at 512), fresh sensor
                                     noise, and slightly different eyelids

The texture is built from integer arithmetic only (numpy PCG64 integer draws, integer box filters,
integer ellipse tests), so the pixels do not depend on the platform's floating-point library:
  * a radial brightness profile (dark near the pupil, brighter towards the limbus) and a slow
    angular illumination change,
  * radial fibres: per-column random streaks, fine and coarse, slightly slanted and wavy along
    the radius, with a small 2-D texture on top,
  * a collarette ridge around row 28, contraction furrows in the outer iris,
  * about 45 crypts (dark ellipses with a soft rim),
  * an upper eyelid (a dome covering the outer rows over ~160 degrees) with an eyelash fringe and a
    few loose lashes, a smaller lower eyelid, and a specular highlight, all masked out,
  * +-3 grey levels of uniform sensor noise.
The contrast is tuned to the statistics of a real open-iris normalized image (valid-pixel std
about 17 grey levels, mean about 94, median normalized Gabor magnitude |z| about 0.07).

Usage: python3 make_sample.py [--out DIR] [--stats]
  --stats  also print image statistics and, if the models were generated (make_models.py), the
           codes' mask popcounts and the capture/recapture Hamming distance for each model.
PNG files are written with zlib level 9 and no ancillary chunks.
"""
import argparse
import hashlib
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
H, W = 128, 1024
EYE_SEED = 20240917          # the eye's structure (same for both captures)
CAPTURE_SEEDS = (1, 2)       # sensor noise of capture 1 and the recapture
RECAPTURE_ROLL = 2           # px at 1024 columns
SENSOR_ROWS = 72
NOISE = 1                    # sensor noise, +- grey levels
FINE = (28, 11)              # fine fibres: (amplitude, column box width)
COARSE = (60, 25)            # coarse radial streaks
TEX = (12, 9)                # small 2-D texture


# ---------------------------------------------------------------------------------------------
# Integer helpers
# ---------------------------------------------------------------------------------------------
def box_cols(a, width):
    """Circular box filter along columns (axis -1), floor-divided by `width` (odd)."""
    p = width // 2
    x = np.concatenate([a[..., -p:], a, a[..., :p]], axis=-1) if p else a
    cs = np.concatenate([np.zeros(a.shape[:-1] + (1,), dtype=np.int64), np.cumsum(x, axis=-1)], axis=-1)
    return (cs[..., width:] - cs[..., :-width]) // width


def box_rows(a, height):
    """Box filter along rows with edge replication, floor-divided by `height` (odd)."""
    p = height // 2
    x = np.concatenate([np.repeat(a[:1], p, axis=0), a, np.repeat(a[-1:], p, axis=0)], axis=0)
    cs = np.concatenate([np.zeros((1,) + a.shape[1:], dtype=np.int64), np.cumsum(x, axis=0)], axis=0)
    return (cs[height:] - cs[:-height]) // height


def smooth_walk(rng, n, step, width, periodic=True):
    """A smooth integer curve of length n: box-filtered random walk steps in [-step, step]."""
    v = np.cumsum(rng.integers(-step, step + 1, size=n)).astype(np.int64)
    if periodic:                                   # remove the linear trend so it wraps around
        v = v - (v[-1] * np.arange(n)) // n
    v = v - v.min()
    return box_cols(v[None, :], width)[0] if periodic else box_rows(v[:, None], width)[:, 0]


def circ_delta(c, c0):
    """Signed circular column distance c - c0 in [-W/2, W/2)."""
    return (c - c0 + W // 2) % W - W // 2


# ---------------------------------------------------------------------------------------------
# The eye
# ---------------------------------------------------------------------------------------------
def iris_texture(rng):
    """The eye's iris texture [H, W] int64 (before eyelids and noise)."""
    r = np.arange(H, dtype=np.int64)[:, None]
    c = np.arange(W, dtype=np.int64)[None, :]
    # radial profile: dark pupil margin, then a slow rise towards the limbus
    base = np.where(r < 16, 50 + (32 * r) // 16, 82 + (38 * (r - 16)) // 111)
    illum = smooth_walk(rng, W, 2, 101)
    illum = (illum - illum.sum() // W)[None, :] // 3
    # radial fibres (constant along rho up to a slow slant / wave)
    fine = box_cols(rng.integers(-FINE[0], FINE[0] + 1, size=(1, W)), FINE[1])[0]
    coarse = box_cols(rng.integers(-COARSE[0], COARSE[0] + 1, size=(1, W)), COARSE[1])[0]
    drift_f = smooth_walk(rng, H, 1, 9, periodic=False) // 2 + r[:, 0] // 16
    drift_c = smooth_walk(rng, H, 1, 15, periodic=False) // 2 - r[:, 0] // 24
    fibres = fine[(c + drift_f[:, None]) % W] + coarse[(c + drift_c[:, None]) % W]
    # fibres fade in and out along the radius: amplitude 1/4..4/4 on a coarse smoothed grid
    amp = rng.integers(1, 5, size=(H // 8 + 1, W // 16))
    amp = np.repeat(np.repeat(amp, 8, axis=0)[:H], 16, axis=1)
    amp = box_rows(box_cols(amp * 16, 17), 9)                      # in 1/16 units, 16..64
    fibres = (fibres * amp) // 64
    tex2d = box_rows(box_cols(rng.integers(-TEX[0], TEX[0] + 1, size=(H, W)), TEX[1]), 5) // 2
    img = base + illum + fibres + tex2d
    # collarette: a bright zig-zag ridge around row 28
    z = 24 + smooth_walk(rng, W, 1, 31) // 2
    d = np.abs(r - z[None, :])
    img = img + np.where(d <= 2, 12, np.where(d <= 4, 6, 0))
    # contraction furrows: dark concentric arcs in the outer iris
    for row0 in (74, 91, 107):
        wave = smooth_walk(rng, W, 1, 41) // 3
        start, length = int(rng.integers(0, W)), int(rng.integers(W // 4, 3 * W // 4))
        on = ((c - start) % W) < length
        dd = np.abs(r - (row0 + wave[None, :] - wave.min()))
        img = img - np.where(on & (dd <= 1), 11, np.where(on & (dd == 2), 5, 0))
    # crypts: dark ellipses with a soft rim (integer ellipse tests)
    for _ in range(45):
        r0 = int(rng.integers(18, 112))
        c0 = int(rng.integers(0, W))
        a = int(rng.integers(2, 8))                     # half-height (rows)
        b = int(rng.integers(4, 17))                    # half-width (cols)
        depth = int(rng.integers(18, 41))
        dr, dc = r - r0, circ_delta(c, c0)
        inner = dr * dr * b * b + dc * dc * a * a <= a * a * b * b
        rim = dr * dr * (b + 3) ** 2 + dc * dc * (a + 1) ** 2 <= (a + 1) ** 2 * (b + 3) ** 2
        img = img - np.where(inner, depth, np.where(rim, depth // 2, 0))
    return img


def occlusions(rng, variant):
    """Eyelid / eyelash / specular overlay: (value [H, W] int64 or -1 where the iris shows,
    mask [H, W] bool valid). `variant` 0/1 slightly changes the eyelids between captures."""
    r = np.arange(H, dtype=np.int64)[:, None]
    c = np.arange(W, dtype=np.int64)[None, :]
    over = np.full((H, W), -1, dtype=np.int64)
    valid = np.ones((H, W), dtype=bool)
    skin = 150 + box_rows(box_cols(rng.integers(-40, 41, size=(H, W)), 9), 5)
    lids = ((256 + 6 * variant, 232, 62 - 4 * variant),        # upper: centre col, half-width, depth
            (768 - 4 * variant, 150, 19 + 2 * variant))        # lower
    for cu, wu, du in lids:
        dcol = circ_delta(c, cu)
        inside = np.abs(dcol) < wu
        edge = np.where(inside, (H - 1) - (du * (wu * wu - dcol * dcol)) // (wu * wu), H)   # first lid row
        lid = r >= edge
        fringe = (r >= edge - 3) & ~lid & inside                 # eyelash fringe along the lid margin
        over = np.where(lid, skin, over)
        over = np.where(fringe, 40 + (skin - 150) // 4, over)
        valid &= ~(lid | fringe)
    # loose eyelashes: thin dark slanted streaks hanging from the upper lid into the iris
    cu, wu, du = lids[0]
    for _ in range(9):
        c0 = cu + int(rng.integers(-wu + 40, wu - 40))
        length = int(rng.integers(6, 16))
        slope = int(rng.integers(-2, 3))
        top = (H - 1) - (du * (wu * wu - (c0 - cu) ** 2)) // (wu * wu) - 3
        for k in range(length):
            rr = top - 1 - k
            cc = (c0 + (slope * k) // 3) % W
            if rr < 0:
                break
            over[rr, cc] = 35
            valid[rr, cc] = False
            valid[rr, (cc + 1) % W] = False                      # segmentation dilates lashes a bit
    # specular highlight near the pupil (saturated, masked as open-iris does for >= 254)
    sr, sc = 3 + variant, 610 + 3 * variant
    spec = (np.abs(r - sr) <= 2) & (np.abs(circ_delta(c, sc)) <= 7)
    over = np.where(spec, 255, over)
    valid &= ~spec
    return over, valid


def sensor_sample(texture, noise_seed):
    """Nearest-neighbour sampling of the eye through a camera: the iris ring covers SENSOR_ROWS
    sensor rows and, at normalized row r, only 260 (pupil side) .. 640 (limbus) distinct angular
    samples, so neighbouring normalized pixels repeat sensor pixels (as in real normalized irises).
    Each sensor pixel sees a 3-column optical blur of the texture plus +-NOISE grey levels of noise."""
    blurred = box_cols(texture, 3)
    r = np.arange(H, dtype=np.int64)[:, None]
    c = np.arange(W, dtype=np.int64)[None, :]
    rs = (r * SENSOR_ROWS) // H                                    # sensor row
    n_ang = 260 + (r * 380) // (H - 1)                             # sensor samples around the ring
    cs = (c * n_ang) // W                                          # sensor column
    src_r = (rs * H + H // 2) // SENSOR_ROWS
    src_c = (cs * W + W // 2) // n_ang
    noise = np.random.Generator(np.random.PCG64(noise_seed)).integers(-NOISE, NOISE + 1, size=(SENSOR_ROWS, 640))
    return blurred[np.broadcast_to(src_r, (H, W)), src_c] + noise[np.broadcast_to(rs, (H, W)), cs]


def capture(texture, roll, noise_seed, variant, structure_rng_state):
    rng_occ = np.random.Generator(np.random.PCG64(structure_rng_state + 1000 * (variant + 1)))
    img = np.clip(sensor_sample(np.roll(texture, roll, axis=1), noise_seed), 0, 253)
    over, valid = occlusions(rng_occ, variant)
    img = np.where(over >= 0, np.clip(over, 0, 255), img)
    return img.astype(np.uint8), valid


def make_eye():
    texture = iris_texture(np.random.Generator(np.random.PCG64(EYE_SEED)))
    cap1 = capture(texture, 0, CAPTURE_SEEDS[0], 0, EYE_SEED)
    cap2 = capture(texture, RECAPTURE_ROLL, CAPTURE_SEEDS[1], 1, EYE_SEED)
    return cap1, cap2


# ---------------------------------------------------------------------------------------------
# PNG (8-bit grayscale, deterministic: IHDR + one IDAT + IEND, zlib level 9, filter 0)
# ---------------------------------------------------------------------------------------------
def png_bytes(a):
    a = np.ascontiguousarray(a, dtype=np.uint8)
    h, w = a.shape

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def outputs():
    (img1, m1), (img2, m2) = make_eye()
    files = {}
    for tag, img, m in (("synth-eye", img1, m1), ("synth-eye-recapture", img2, m2)):
        for cols in (1024, 512):
            step = W // cols
            files[f"{tag}_128x{cols}.png"] = img[:, ::step]
            files[f"{tag}_128x{cols}_mask.png"] = np.where(m[:, ::step], 255, 0).astype(np.uint8)
    return files


# ---------------------------------------------------------------------------------------------
# Statistics (optional)
# ---------------------------------------------------------------------------------------------
def stats(files):
    for name, a in files.items():
        if name.endswith("_mask.png"):
            continue
        m = files[name.replace(".png", "_mask.png")] > 0
        v = a[m].astype(float)
        hd = np.abs(np.diff(a.astype(int), axis=1))[m[:, 1:] & m[:, :-1]].mean()
        vd = np.abs(np.diff(a.astype(int), axis=0))[m[1:] & m[:-1]].mean()
        rows = [round(float(a[r][m[r]].mean())) for r in range(0, H, 16)]
        print(f"{name:34s} valid {100 * m.mean():5.1f}%  mean {v.mean():6.1f}  std {v.std():5.1f}  "
              f"|dx| {hd:4.2f}  |dy| {vd:4.2f}  row means {rows}")
    sys.path.insert(0, HERE)
    import json
    import make_models as mm
    for model, cols in (("world-v3", 1024), ("openiris-1.11", 512)):
        path = os.path.join(HERE, model, "model.onnx")
        if not os.path.exists(path):
            print(f"({model}: model not generated, skipping code statistics)")
            continue
        with open(os.path.join(os.path.dirname(path), "spec.json")) as f:
            spec = json.load(f)
        codes = []
        for tag in ("synth-eye", "synth-eye-recapture"):
            img = files[f"{tag}_128x{cols}.png"]
            msk = (files[f"{tag}_128x{cols}_mask.png"] > 0).astype(np.uint8)
            outs = mm.run_onnx_numpy(path, {"image": img, "mask": msk})
            iris, mask = mm.encode(spec["rules"], outs)
            codes.append((iris, mask, outs))
            line = f"{model:14s} {tag:20s} mask popcount {int(mask.sum()):5d}/16384"
            if model == "openiris-1.11":
                r = outs["response"].astype(float)
                for f in (0, 1):
                    fr = spec["rules"]["encoder"]["mask"][2 * f]["all"][2]["fragile"]
                    ss, n = fr["kernel_sumsq"], np.array(fr["patch_size"])[:, None]
                    z = np.hypot(r[2 * f] / (n * np.sqrt(ss[0])), r[2 * f + 1] / (n * np.sqrt(ss[1])))
                    line += f"  median |z| filter{f} {np.median(z):.4f}"
            print(line)
        (c1, m1, _), (c2, m2, _) = codes
        best = None
        for s in range(-8, 9):
            both = m1 & np.roll(m2, s, axis=2)
            hd = ((c1 ^ np.roll(c2, s, axis=2)) & both).sum() / max(1, both.sum())
            if best is None or hd < best[0]:
                best = (hd, s)
        both0 = m1 & m2
        hd0 = ((c1 ^ c2) & both0).sum() / both0.sum()
        far = m1 & np.roll(m2, 64, axis=2)
        hdfar = ((c1 ^ np.roll(c2, 64, axis=2)) & far).sum() / far.sum()
        print(f"{model:14s} capture vs recapture: fractional HD {best[0]:.4f} at code shift {best[1]:+d} "
              f"(shift 0: {hd0:.4f}; shift 64, an impostor-like baseline: {hdfar:.4f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "samples"))
    ap.add_argument("--stats", action="store_true")
    args = ap.parse_args()
    files = outputs()
    os.makedirs(args.out, exist_ok=True)
    for name, a in files.items():
        data = png_bytes(a)
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"{hashlib.sha256(data).hexdigest()}  {len(data):7d}  samples/{name}")
    if args.stats:
        stats(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
