"""Synthetic presentation-attack data for the reference PAD model `liveness-v1` (no real biometrics).

Every image is a normalized iris, 128 rows (rho: pupil -> limbus) x 1024 columns (phi), uint8, made the
way a real one is: a *scene* is rendered in front of a camera, the camera integrates it on a Cartesian
sensor (2x2 supersampling per sensor pixel, optical blur, gain, gamma, Gaussian noise, 8-bit clip), and
the iris ring of the sensor image is unwrapped to 128x1024 by nearest-neighbour sampling, with small
segmentation errors (pupil / limbus radius and centre off by about a pixel, a random rotation).

The camera and the eye geometry are drawn from the same ranges for every class, so only the
presentation differs:

  bona_fide       a live eye: iris texture (radial fibres, collarette, contraction furrows, crypts,
                  pigment spots; light to dark, low to high contrast), eyelids, eyelash fringe, loose
                  lashes and saturated corneal specular spots. A quarter of the textures come from
                  make_sample.iris_texture (the bundled sample eye's generator) with fresh seeds.
  print_halftone  a photo of a live eye printed on paper: paper white / ink black range and gamma, an
                  amplitude-modulated clustered-dot screen (period 1.5-6 sensor px, any angle) or a
                  stochastic (FM) screen, ink spread, paper grain, sometimes a gloss glare. The source
                  photo's specular is printed (paper white), not saturated.
  screen_replay   the photo shown on a display: pixel grid (pitch 1.2-4.5 px, +-12 deg), black matrix
                  (fill factor), sub-pixel stripes, display gamma / black level, refresh banding and
                  low-frequency moire bands, sometimes a reflection.
  contact_lens    a live eye wearing a patterned (cosmetic) lens: dot matrix, radial spokes or ring
                  patterns of printed dots, decentred from the iris, with an optional limbal ring; the
                  eye's own specular and eyelids stay on top.
  defocus_replay  a low-texture, defocused replay: print or screen far out of focus (blur sigma
                  2.4-5 px), compressed contrast, lifted black level.
  flat_print      a synthetic "flat" eye artwork: a few constant zones and crude radial stripes,
                  posterized to 3-8 grey levels, printed with a fine (unresolved) screen and paper grain.

A sample is a pure function of (class, seed): `render(cls, seed)`. Splits use disjoint seed ranges
(`split_items`). Floating point is used freely here: the data are not committed, only the trained model
is, so bit-exactness across platforms is not needed (on one platform re-runs are identical).
"""
import numpy as np

import make_sample as ms

H, W = 128, 1024
CLASSES = ("bona_fide", "print_halftone", "screen_replay", "contact_lens", "defocus_replay", "flat_print")
ATTACKS = CLASSES[1:]
SS = 2                                   # supersampling per sensor pixel and axis
SPLIT_BASE = {"train": 1_000_000, "val": 2_000_000, "test": 3_000_000}


# ---------------------------------------------------------------------------------------------
# Small float helpers
# ---------------------------------------------------------------------------------------------
def gauss_kernel(sigma):
    rad = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-rad, rad + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def conv_axis(a, k, axis, wrap):
    """1-D convolution of `a` with odd kernel `k` along `axis` (wrap-around or edge replication)."""
    rad = len(k) // 2
    if wrap:
        p = np.concatenate([np.take(a, range(a.shape[axis] - rad, a.shape[axis]), axis=axis), a,
                            np.take(a, range(rad), axis=axis)], axis=axis)
    else:
        pad = [(0, 0)] * a.ndim
        pad[axis] = (rad, rad)
        p = np.pad(a, pad, mode="edge")
    out = np.zeros_like(a, dtype=np.float64)
    n = a.shape[axis]
    for i, w in enumerate(k):
        out += w * np.take(p, range(i, i + n), axis=axis)
    return out


def blur2d(img, sigma):
    if sigma <= 0.05:
        return img
    k = gauss_kernel(sigma)
    return conv_axis(conv_axis(img, k, 0, False), k, 1, False)


def blur_polar(img, sigma_rows, sigma_cols):
    """Blur a polar [H, W] image: rows with edge replication, columns wrapping around."""
    out = img
    if sigma_rows > 0.05:
        out = conv_axis(out, gauss_kernel(sigma_rows), 0, False)
    if sigma_cols > 0.05:
        out = conv_axis(out, gauss_kernel(sigma_cols), 1, True)
    return out


def lowfreq_noise(rng, shape, cell):
    """Smooth noise in [-1, 1]: a coarse uniform grid, bilinearly upsampled by `cell` pixels."""
    gh, gw = shape[0] // cell + 2, shape[1] // cell + 2
    g = rng.uniform(-1, 1, size=(gh, gw))
    y = np.arange(shape[0]) / cell
    x = np.arange(shape[1]) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx
    b = g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx
    return a * (1 - fy) + b * fy


def odd(rng, lo, hi):
    return int(rng.integers(lo // 2, hi // 2 + 1)) * 2 + 1


# ---------------------------------------------------------------------------------------------
# The eye (polar scene layers, [H, W] float grey levels)
# ---------------------------------------------------------------------------------------------
def window(r0, c0, hr, hc):
    """Rows (clipped) and columns (wrapping) within (hr, hc) of (r0, c0), with the offsets
    dr [n, 1] and dc [1, m] of each from the centre."""
    rows = np.arange(max(0, int(r0 - hr)), min(H, int(r0 + hr) + 2))
    cc = np.arange(int(np.floor(c0 - hc)), int(np.ceil(c0 + hc)) + 1)
    return rows, cc % W, (rows - r0)[:, None], (cc - c0)[None, :]


def iris_layer(rng):
    """Live iris texture. A quarter of them use the bundled sample eye's generator unchanged."""
    if rng.random() < 0.25:
        return ms.iris_texture(rng).astype(np.float64)
    r = np.arange(H)[:, None]
    c = np.arange(W)[None, :]
    margin = int(rng.integers(10, 22))
    level = rng.uniform(55, 135)
    dark = rng.uniform(30, level - 10)
    rise = rng.uniform(5, 50)
    base = np.where(r < margin, dark + (level - dark) * r / margin, level + rise * (r - margin) / (H - margin))
    illum = ms.smooth_walk(rng, W, 2, odd(rng, 41, 161)).astype(np.float64)
    illum = (illum - illum.mean())[None, :] * rng.uniform(0.1, 0.6)
    fa, fw = rng.uniform(10, 40), odd(rng, 5, 15)
    ca, cw = rng.uniform(20, 80), odd(rng, 13, 35)
    fine = ms.box_cols(rng.integers(-1000, 1001, size=(1, W)), fw)[0] * fa / 1000
    coarse = ms.box_cols(rng.integers(-1000, 1001, size=(1, W)), cw)[0] * ca / 1000
    drift_f = ms.smooth_walk(rng, H, 1, 9, periodic=False) // 2 + r[:, 0] * int(rng.integers(-2, 3)) // 32
    drift_c = ms.smooth_walk(rng, H, 1, 15, periodic=False) // 2 - r[:, 0] * int(rng.integers(-2, 3)) // 48
    fibres = fine[(c + drift_f[:, None]) % W] + coarse[(c + drift_c[:, None]) % W]
    amp = rng.integers(1, 5, size=(H // 8 + 1, W // 16))
    amp = np.repeat(np.repeat(amp, 8, axis=0)[:H], 16, axis=1)
    amp = ms.box_rows(ms.box_cols(amp * 16, 17), 9) / 64.0
    tex = rng.uniform(3, 16) * ms.box_rows(ms.box_cols(rng.integers(-1000, 1001, size=(H, W)), odd(rng, 5, 11)), 5) / 1000
    detail = fibres * amp + tex
    z = rng.integers(16, 40) + ms.smooth_walk(rng, W, 1, 31) / 2
    d = np.abs(r - z[None, :])
    detail = detail + rng.uniform(0, 16) * np.clip(1 - d / 4.5, 0, 1)
    for _ in range(int(rng.integers(0, 5))):
        wave = ms.smooth_walk(rng, W, 1, 41) / 3
        row0 = rng.uniform(60, 118)
        start, length = int(rng.integers(0, W)), int(rng.integers(W // 5, 3 * W // 4))
        on = ((c - start) % W) < length
        dd = np.abs(r - (row0 + wave[None, :] - wave.min()))
        detail = detail - on * rng.uniform(4, 14) * np.clip(1 - dd / 2.5, 0, 1)
    for _ in range(int(rng.integers(5, 70))):
        r0, c0 = rng.uniform(14, 118), rng.uniform(0, W)
        a, b = rng.uniform(1.5, 8), rng.uniform(3, 18)
        depth = rng.uniform(10, 45)
        rows, cols, dr, dc = window(r0, c0, 1.4 * a, 1.4 * b)
        e = (dr / a) ** 2 + (dc / b) ** 2
        detail[np.ix_(rows, cols)] -= depth * np.where(e <= 1, 1.0, np.where(e <= 1.7, 0.5, 0.0))
    for _ in range(int(rng.integers(0, 7))):
        r0, c0 = rng.uniform(10, 120), rng.uniform(0, W)
        s = rng.uniform(1.5, 4)
        rows, cols, dr, dc = window(r0, c0, 4 * s, 10 * s)
        detail[np.ix_(rows, cols)] += rng.choice([-1, 1]) * rng.uniform(10, 35) * np.exp(-(dr ** 2 + (dc / 2.5) ** 2) / (2 * s * s))
    return base + illum + rng.uniform(0.35, 1.4) * detail


def occlusion_layer(rng, specular=True):
    """Eyelids, eyelash fringe, loose lashes and corneal specular spots: [H, W] float, -1 where
    the iris shows. Specular values exceed 255 (they saturate the sensor)."""
    r = np.arange(H)[:, None]
    c = np.arange(W)[None, :]
    over = np.full((H, W), -1.0)
    skin = rng.uniform(120, 200) + rng.uniform(10, 45) * ms.box_rows(ms.box_cols(rng.integers(-1000, 1001, size=(H, W)), 9), 5) / 1000
    lids = ((256 + rng.uniform(-40, 40), rng.uniform(120, 270), rng.uniform(0, 80)),
            (768 + rng.uniform(-40, 40), rng.uniform(70, 210), rng.uniform(0, 40)))
    lash = rng.uniform(25, 60)
    for cu, wu, du in lids:
        dcol = (c - cu + W / 2) % W - W / 2
        inside = np.abs(dcol) < wu
        edge = np.where(inside, (H - 1) - du * (1 - (dcol / wu) ** 2), H + 10)
        lid = r >= edge
        fringe = (r >= edge - rng.uniform(1, 5)) & ~lid & inside
        over = np.where(lid, skin, over)
        over = np.where(fringe, lash + (skin - 150) / 4, over)
    cu, wu, du = lids[0]
    for _ in range(int(rng.integers(0, 20))):
        c0 = cu + rng.uniform(-0.8, 0.8) * wu
        top = (H - 1) - du * (1 - ((c0 - cu) / wu) ** 2) - 3
        length, slope = int(rng.integers(4, 22)), rng.uniform(-0.8, 0.8)
        for k in range(length):
            rr = int(top) - 1 - k
            if rr < 0:
                break
            cc = int(round(c0 + slope * k)) % W
            over[rr, cc] = lash
            over[rr, (cc + 1) % W] = lash + 10
    if specular:
        for _ in range(int(rng.integers(1, 4)) if rng.random() < 0.92 else 0):
            sr, sc = rng.uniform(0, 40), rng.uniform(0, W)
            hr, hc = rng.uniform(1, 4), rng.uniform(3, 14)
            e = ((r - sr) / hr) ** 2 + (((c - sc + W / 2) % W - W / 2) / hc) ** 2
            over = np.where(e <= 1, rng.uniform(300, 600), np.where(e <= 2, np.maximum(over, 240), over))
    return over


def flat_art_layer(rng):
    """A synthetic flat eye artwork: constant zones, crude stripes, posterized; crude lids."""
    r = np.arange(H)[:, None]
    c = np.arange(W)[None, :]
    zones = np.sort(rng.uniform(0, H, size=int(rng.integers(1, 4))))
    levels = rng.uniform(50, 150, size=len(zones) + 1)
    img = levels[np.searchsorted(zones, r[:, 0])][:, None] + np.zeros((1, W))
    n = int(rng.integers(6, 48))
    edges = np.sort(rng.uniform(0, W, size=2 * n))
    stripe = (np.searchsorted(edges, c[0]) % 2 == 1)
    amp = rng.uniform(8, 30) * rng.choice([-1, 1])
    rlo, rhi = rng.uniform(0, 40), rng.uniform(70, H)
    img = img + amp * (stripe[None, :] & (r >= rlo) & (r < rhi))
    if rng.random() < 0.5:
        z = rng.uniform(18, 40)
        img = img + rng.uniform(-20, 25) * (np.abs(r - z) < rng.uniform(1, 4))
    nl = int(rng.integers(3, 9))
    lo, hi = img.min(), img.max() + 1e-6
    img = lo + np.floor((img - lo) / (hi - lo) * nl) * (hi - lo) / max(1, nl - 1)
    if rng.random() < 0.7:
        cu, wu, du = 256 + rng.uniform(-40, 40), rng.uniform(120, 260), rng.uniform(5, 70)
        dcol = (c - cu + W / 2) % W - W / 2
        edge = np.where(np.abs(dcol) < wu, (H - 1) - du * (1 - (dcol / wu) ** 2), H + 10)
        img = np.where(r >= edge, rng.uniform(130, 200), img)
    if rng.random() < 0.6:
        sr, sc = rng.uniform(0, 40), rng.uniform(0, W)
        e = ((r - sr) / rng.uniform(2, 6)) ** 2 + (((c - sc + W / 2) % W - W / 2) / rng.uniform(4, 20)) ** 2
        img = np.where(e <= 1, 255.0, img)
    return img


# ---------------------------------------------------------------------------------------------
# Presentations (functions of the scene value and the Cartesian sample position)
# ---------------------------------------------------------------------------------------------
def rotate(x, y, angle):
    ca, sa = np.cos(angle), np.sin(angle)
    return ca * x + sa * y, -sa * x + ca * y


def print_tone(rng, v):
    """Paper print of grey levels `v`: returns (darkness in [0, 1], paper white, ink black)."""
    white, black = rng.uniform(170, 235), rng.uniform(15, 55)
    t = np.clip(v / 255.0, 0, 1) ** rng.uniform(0.8, 1.3)
    return 1 - t, white, black


def present_print(rng):
    period = rng.uniform(1.5, 6)
    angle = rng.uniform(0, np.pi / 2)
    phase = rng.uniform(0, 1, size=2)
    soft = rng.uniform(0.03, 0.3)
    fm = rng.random() < 0.3
    cell = rng.uniform(1.2, 2.5)
    table = rng.uniform(0, 1, size=(257, 257))
    grain = rng.uniform(1, 8)
    glare = rng.uniform(0, 60) if rng.random() < 0.3 else 0.0
    gx, gy, gs = rng.uniform(-60, 60), rng.uniform(-60, 60), rng.uniform(20, 60)
    gseed = int(rng.integers(0, 2 ** 31))
    local = np.random.Generator(np.random.PCG64(gseed))

    def f(v, x, y, lookup):
        d, white, black = print_tone(local, v)
        if fm:
            u, w = x / cell, y / cell
            s = table[np.floor(u).astype(int) % 257, np.floor(w).astype(int) % 257]
        else:
            u, w = rotate(x, y, angle)
            u, w = u / period + phase[0], w / period + phase[1]
            s = (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * w) + 2) / 4
        ink = 1 / (1 + np.exp(-(d - s) / soft))
        out = white - (white - black) * ink
        out = out + grain * lowfreq_noise(local, x.shape, 3)
        return out + glare * np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * gs * gs))
    return f


def present_screen(rng):
    pitch = rng.uniform(1.2, 4.5)
    angle = np.deg2rad(rng.uniform(-12, 12))
    fill = rng.uniform(0.55, 0.9)
    sub = rng.uniform(0.5, 1.0, size=3)
    gamma = rng.uniform(0.75, 1.25)
    white, black = rng.uniform(150, 250), rng.uniform(8, 35)
    band_a, band_l, band_p = rng.uniform(0, 0.1), rng.uniform(6, 40), rng.uniform(0, 2 * np.pi)
    moire_a, moire_l, moire_ang = rng.uniform(0, 0.12), rng.uniform(8, 50), rng.uniform(0, np.pi)
    refl = rng.uniform(0, 50) if rng.random() < 0.3 else 0.0
    rx, ry, rs = rng.uniform(-60, 60), rng.uniform(-60, 60), rng.uniform(20, 70)

    def f(v, x, y, lookup):
        u, w = rotate(x, y, angle)
        u, w = u / pitch, w / pitch
        iu, iw = np.floor(u), np.floor(w)
        cx, cy = rotate((iu + 0.5) * pitch, (iw + 0.5) * pitch, -angle)
        src = lookup(cx, cy)                               # each display pixel shows one value
        lum = black + (white - black) * np.clip(src / 255.0, 0, 1) ** gamma
        fu, fw = u - iu, w - iw
        lit = (fu < fill) & (fw < fill)
        stripe = sub[np.minimum((fu / fill * 3).astype(int), 2)]
        out = np.where(lit, lum * stripe, black * 0.3)
        out = out * (1 + band_a * np.sin(2 * np.pi * y / band_l + band_p))
        mu, _ = rotate(x, y, moire_ang)
        out = out * (1 + moire_a * np.sin(2 * np.pi * mu / moire_l))
        return out + refl * np.exp(-((x - rx) ** 2 + (y - ry) ** 2) / (2 * rs * rs))
    return f


def present_defocus(rng, mean_level):
    contrast = rng.uniform(0.3, 0.7)
    lift = rng.uniform(0, 40)
    screen = rng.random() < 0.5
    pitch = rng.uniform(1.2, 3.0)

    def f(v, x, y, lookup):
        out = mean_level + contrast * (np.clip(v, 0, 255) - mean_level) + lift
        if screen:
            u, w = x / pitch, y / pitch
            out = out * np.where(((u - np.floor(u)) < 0.75) & ((w - np.floor(w)) < 0.75), 1.0, 0.4)
        return out
    return f


def present_flat(rng):
    fine = rng.uniform(0.9, 1.8)
    angle = rng.uniform(0, np.pi / 2)
    grain = rng.uniform(1, 5)
    gseed = int(rng.integers(0, 2 ** 31))
    local = np.random.Generator(np.random.PCG64(gseed))

    def f(v, x, y, lookup):
        d, white, black = print_tone(local, v)
        u, w = rotate(x, y, angle)
        s = (np.cos(2 * np.pi * u / fine) + np.cos(2 * np.pi * w / fine) + 2) / 4
        ink = 1 / (1 + np.exp(-(d - s) / 0.1))
        return white - (white - black) * ink + grain * lowfreq_noise(local, x.shape, 4)
    return f


def lens_pattern(rng, Rp, Ri):
    """A patterned contact lens: returns f(v, x, y) applied to the iris layer only."""
    ox, oy = rng.uniform(-4, 4, size=2)
    ra = Rp + rng.uniform(0.1, 0.45) * (Ri - Rp)
    rb = Ri + rng.uniform(0, 8)
    kind = rng.choice(["dots", "spokes", "rings"])
    q = rng.uniform(2.5, 6)
    dot_r = rng.uniform(0.25, 0.48) * q
    ink = rng.uniform(20, 70) if rng.random() < 0.6 else rng.uniform(110, 180)
    alpha = rng.uniform(0.5, 0.95)
    n_spokes = int(rng.integers(36, 140))
    duty = rng.uniform(0.3, 0.6)
    ring_l = rng.uniform(3, 8)
    zig = rng.uniform(0, 0.3)
    limbal = rng.uniform(2, 6) if rng.random() < 0.5 else 0.0
    limbal_ink = rng.uniform(10, 50)

    def f(v, x, y):
        xl, yl = x - ox, y - oy
        rho = np.hypot(xl, yl)
        th = np.arctan2(yl, xl)
        # hexagonal dot lattice
        a = xl / q
        b = yl / (q * np.sqrt(3) / 2)
        row = np.floor(b + 0.5)
        col = np.floor(a - 0.5 * (row % 2) + 0.5)
        dx = (a - col - 0.5 * (row % 2)) * q
        dy = (b - row) * q * np.sqrt(3) / 2
        dots = (dx * dx + dy * dy <= dot_r * dot_r).astype(np.float64)
        if kind == "spokes":
            on = ((th / (2 * np.pi) * n_spokes + zig * np.sin(rho / 2)) % 1) < duty
            m = dots * on
        elif kind == "rings":
            m = dots * (((rho / ring_l) % 1) < duty)
        else:
            m = dots
        m = m * ((rho >= ra) & (rho <= rb))
        out = (1 - alpha * m) * v + alpha * m * ink
        if limbal:
            ring = np.clip(1 - np.abs(rho - (Ri - limbal / 2)) / limbal, 0, 1)
            out = (1 - 0.8 * ring) * out + 0.8 * ring * limbal_ink
        return out
    return f


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------
def polar_lookup(layer, rn, cn, inner, outer):
    """Bilinear lookup of a polar [H, W] layer at fractional (row, col); inner/outer values
    beyond the pupil / limbus."""
    r0 = np.floor(rn).astype(int)
    fr = rn - r0
    c0 = np.floor(cn).astype(int)
    fc = cn - c0
    r0c, r1c = np.clip(r0, 0, H - 1), np.clip(r0 + 1, 0, H - 1)
    c0w, c1w = c0 % W, (c0 + 1) % W
    v = (layer[r0c, c0w] * (1 - fc) + layer[r0c, c1w] * fc) * (1 - fr) + \
        (layer[r1c, c0w] * (1 - fc) + layer[r1c, c1w] * fc) * fr
    return np.where(rn < -0.5, inner, np.where(rn > H - 0.5, outer, v))


def capture(rng, scene, *, iris_mask=None, lens=None, present=None, extra_blur=0.0):
    """Renders the polar `scene` on the sensor and unwraps it to a normalized uint8 [H, W] image.

    `lens(Rp, Ri)` makes a function `f(v, x, y)` that alters the scene where `iris_mask` (polar bool)
    is set, for this capture's pupil and limbus radii; `present(v, x, y, lookup)`
    turns scene values into what the camera sees (print, display); `extra_blur` adds defocus."""
    Rp = rng.uniform(22, 50)
    Ri = min(118.0, Rp + rng.uniform(35, 70))
    pupil, outer = rng.uniform(8, 40), rng.uniform(130, 200)
    R = int(np.ceil(Ri)) + 6
    n = 2 * R + 1
    g = (np.arange(n * SS) + 0.5) / SS - (R + 0.5)
    X, Y = np.meshgrid(g, g)
    rot = rng.uniform(0, 2 * np.pi)

    def to_polar(x, y):
        rho = np.hypot(x, y)
        th = (np.arctan2(y, x) - rot) % (2 * np.pi)
        return (rho - Rp) / (Ri - Rp) * H - 0.5, th / (2 * np.pi) * W - 0.5

    def lookup(x, y):
        rn, cn = to_polar(x, y)
        return polar_lookup(scene, rn, cn, pupil, outer)

    rn, cn = to_polar(X, Y)
    v = polar_lookup(scene, rn, cn, pupil, outer)
    if lens is not None:
        m = polar_lookup(iris_mask.astype(np.float64), rn, cn, 0.0, 0.0) > 0.5
        v = np.where(m, lens(Rp, Ri)(v, X, Y), v)
    if present is not None:
        v = present(v, X, Y, lookup)
    sensor = v.reshape(n, SS, n, SS).mean(axis=(1, 3))
    sigma = rng.uniform(0.4, 1.8)
    if rng.random() < 0.15:
        sigma = rng.uniform(1.8, 2.2)                     # focus at the edge of the camera's range
    sensor = blur2d(sensor, np.hypot(sigma, extra_blur))
    # auto exposure: the iris ring's mean lands in a random target range (same for every class)
    yy, xx = np.mgrid[-R:R + 1, -R:R + 1]
    ring = (np.hypot(xx, yy) > Rp) & (np.hypot(xx, yy) < Ri)
    gain = rng.uniform(60, 140) / max(1.0, float(np.mean(sensor[ring])))
    offset, gamma = rng.uniform(-8, 8), rng.uniform(0.85, 1.15)
    sensor = 255 * (np.clip(sensor * gain + offset, 0, None) / 255) ** gamma
    sensor = sensor + rng.normal(0, rng.uniform(0.5, 4), size=sensor.shape)
    sensor = np.clip(np.round(sensor), 0, 255)
    # unwrap with segmentation errors
    rp, ri = Rp + rng.uniform(-1, 1), Ri + rng.uniform(-1.5, 1.5)
    dx, dy = rng.uniform(-1, 1, size=2)
    rho = rp + (ri - rp) * (np.arange(H)[:, None] + 0.5) / H
    th = rot + 2 * np.pi * np.arange(W)[None, :] / W + rng.uniform(-0.05, 0.05)
    ix = np.clip(np.round(rho * np.cos(th) + dx + R), 0, n - 1).astype(int)
    iy = np.clip(np.round(rho * np.sin(th) + dy + R), 0, n - 1).astype(int)
    return sensor[iy, ix].astype(np.uint8)


def compose(iris, over):
    return np.where(over >= 0, over, iris)


# ---------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------
def render(cls, seed):
    """One normalized image [128, 1024] uint8 of class `cls`, a pure function of (cls, seed)."""
    k = CLASSES.index(cls)
    rng = np.random.Generator(np.random.PCG64([seed, k]))
    if cls == "flat_print":
        return capture(rng, flat_art_layer(rng), present=present_flat(rng))
    iris = iris_layer(rng)
    over = occlusion_layer(rng)
    scene = compose(iris, over)
    if cls == "bona_fide":
        return capture(rng, scene)
    if cls == "contact_lens":
        return capture(rng, scene, iris_mask=over < 0, lens=lambda Rp, Ri: lens_pattern(rng, Rp, Ri))
    # replays of a photo: the photo itself is slightly soft (another camera) and its specular
    # highlight is at most paper / display white
    photo = blur_polar(np.minimum(scene, 255), rng.uniform(0.3, 1.5), rng.uniform(0.5, 3))
    if cls == "print_halftone":
        return capture(rng, photo, present=present_print(rng))
    if cls == "screen_replay":
        return capture(rng, photo, present=present_screen(rng))
    if cls == "defocus_replay":
        return capture(rng, photo, present=present_defocus(rng, float(np.mean(photo))), extra_blur=rng.uniform(2.4, 5))
    raise ValueError(f"unknown class {cls!r}")


def split_items(split, counts):
    """[(class, seed)] for a split; `counts` maps class -> number of samples. Seeds of different
    splits never overlap (SPLIT_BASE ranges are 10^6 apart)."""
    base = SPLIT_BASE[split]
    items = []
    for cls in CLASSES:
        for i in range(counts.get(cls, 0)):
            items.append((cls, base + i))
    return items
