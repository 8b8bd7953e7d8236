"""Font-rendered digit data set for the Stepwise default model.

Finds every .ttf/.otf font installed by the Debian font packages, keeps those
that really draw ten distinct digits, de-duplicates fonts whose digits are
pixel-identical (e.g. the many Noto script fonts that share Noto Sans digits),
splits by font family into train / held-out fonts, and renders augmented
28x28 digits (white on black, values in [-1, 1]) saved as .npy.
"""
import glob
import hashlib
import json
import os
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
FONT_DIRS = ["/usr/share/fonts", "/usr/share/texmf/fonts/opentype"]
BIG = 112     # render canvas (px)
SIZE = 28     # output size (px)
DIGITS = "0123456789"


def list_font_files():
    """All .ttf/.otf files under FONT_DIRS, sorted for reproducibility."""
    files = []
    for d in FONT_DIRS:
        for ext in ("ttf", "otf", "TTF", "OTF"):
            files += glob.glob(os.path.join(d, "**", "*." + ext), recursive=True)
    return sorted(set(os.path.realpath(f) for f in files))


def _render_char(font, ch, stroke=0):
    """Render one character tightly cropped; returns uint8 array or None if blank."""
    l, t, r, b = font.getbbox(ch, stroke_width=stroke)
    w, h = r - l, b - t
    if w <= 0 or h <= 0:
        return None
    img = Image.new("L", (w + 4, h + 4), 0)
    ImageDraw.Draw(img).text((2 - l, 2 - t), ch, fill=255, font=font,
                             stroke_width=stroke, stroke_fill=255)
    a = np.asarray(img)
    if a.max() < 128:
        return None
    ys, xs = np.nonzero(a > 32)
    return a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _signature(font):
    """16x16 thumbnails of the ten digits (and of a missing glyph), or None."""
    thumbs = []
    for ch in DIGITS + "\U000F0000":      # private-use char -> .notdef box
        a = _render_char(font, ch)
        if a is None:
            if ch in DIGITS:
                return None
            thumbs.append(np.zeros((16, 16), np.float32))
            continue
        thumbs.append(np.asarray(Image.fromarray(a).resize((16, 16), Image.BILINEAR), np.float32) / 255.0)
    return np.stack(thumbs)


def family_key(font):
    """Coarse family key: first word of the family name (Noto, DejaVu, Nimbus...)."""
    fam = font.getname()[0] or "?"
    return fam.split()[0].lower()


def scan_fonts(verbose=True):
    """Return list of dicts {path, family} of usable, de-duplicated fonts."""
    kept, sigs, seen = [], [], set()
    rejected = 0
    for path in list_font_files():
        if re.search(r"dingbat|d050000l|emoji|symbol", os.path.basename(path), re.I):
            rejected += 1      # symbol fonts: digits are not digits
            continue
        try:
            font = ImageFont.truetype(path, 64)
            sig = _signature(font)
        except Exception:
            rejected += 1
            continue
        if sig is None:
            rejected += 1
            continue
        dig, notdef = sig[:10], sig[10]
        # every digit must differ from the .notdef box and from the other digits
        d_notdef = np.abs(dig - notdef[None]).mean(axis=(1, 2))
        pair = np.abs(dig[:, None] - dig[None]).mean(axis=(2, 3))
        pair[np.arange(10), np.arange(10)] = 1.0
        if d_notdef.min() < 0.03 or pair.min() < 0.03:
            rejected += 1
            continue
        h = hashlib.sha1((dig * 8).round().astype(np.uint8).tobytes()).hexdigest()
        if h in seen:   # identical digit shapes already kept
            continue
        if any(np.abs(dig - s).mean() < 0.01 for s in sigs):
            continue
        seen.add(h)
        sigs.append(dig)
        kept.append({"path": path, "family": family_key(font), "name": " ".join(font.getname())})
    if verbose:
        print(f"fonts: {len(list_font_files())} files, {len(kept)} kept, {rejected} rejected (no/boxed digits)")
    return kept


def split_fonts(fonts, heldout_frac=0.18, seed=0):
    """Split by family: whole families go to held-out until >= heldout_frac of fonts."""
    fams = {}
    for f in fonts:
        fams.setdefault(f["family"], []).append(f)
    names = sorted(fams)
    rng = random.Random(seed)
    rng.shuffle(names)
    target = heldout_frac * len(fonts)
    held, train = [], []
    for n in names:
        # skip families that would overshoot by a lot (e.g. Noto)
        if len(held) < target and len(held) + len(fams[n]) <= 1.3 * target:
            held += fams[n]
        else:
            train += fams[n]
    return train, held


def render_digit(font_path, digit, rng):
    """One augmented digit: random stroke, scale, aspect, rotation (+-15 deg), shift."""
    font = ImageFont.truetype(font_path, 96)
    stroke = int(rng.choice([0, 0, 0, 1, 2, 3, 4]))
    a = _render_char(font, str(digit), stroke)
    img = Image.fromarray(a)
    w, h = img.size
    target_h = rng.uniform(0.58, 0.80) * BIG           # MNIST-like: ~20/28 of the box
    s = target_h / h
    sx = s * rng.uniform(0.85, 1.15)
    nw, nh = max(1, int(round(w * sx))), max(1, int(round(h * s)))
    if nw > 0.85 * BIG:                                  # keep wide glyphs inside
        nw = int(0.85 * BIG)
    img = img.resize((nw, nh), Image.LANCZOS)
    canvas = Image.new("L", (BIG, BIG), 0)
    canvas.paste(img, ((BIG - nw) // 2, (BIG - nh) // 2))
    canvas = canvas.rotate(rng.uniform(-15, 15), resample=Image.BICUBIC,
                           translate=(rng.uniform(-8, 8), rng.uniform(-8, 8)))
    small = canvas.resize((SIZE, SIZE), Image.LANCZOS)
    return np.asarray(small, np.float32) / 127.5 - 1.0


def render_set(fonts, per_digit, seed):
    """Render per_digit samples of every digit, cycling over fonts; returns x, y, font index."""
    rng = np.random.default_rng(seed)
    n = per_digit * 10
    x = np.empty((n, 1, SIZE, SIZE), np.float32)
    y = np.repeat(np.arange(10), per_digit).astype(np.int64)
    fi = np.empty(n, np.int64)
    for i in range(n):
        k = int(rng.integers(len(fonts)))
        fi[i] = k
        x[i, 0] = render_digit(fonts[k]["path"], int(y[i]), rng)
    perm = rng.permutation(n)
    return np.clip(x[perm], -1, 1), y[perm], fi[perm]


def make_dataset(train_per_digit=6000, held_per_digit=1500, seed=0):
    """Build and save train/held-out splits under .work/."""
    os.makedirs(WORK, exist_ok=True)
    fonts = scan_fonts()
    train, held = split_fonts(fonts, seed=seed)
    print(f"train fonts: {len(train)} ({len({f['family'] for f in train})} families), "
          f"held-out fonts: {len(held)} ({len({f['family'] for f in held})} families)")
    with open(os.path.join(WORK, "fonts.json"), "w") as fh:
        json.dump({"train": train, "heldout": held}, fh, indent=1)
    for name, fl, per, s in (("train", train, train_per_digit, seed + 1),
                             ("heldout", held, held_per_digit, seed + 2)):
        x, y, fi = render_set(fl, per, s)
        np.save(os.path.join(WORK, f"{name}_x.npy"), x)
        np.save(os.path.join(WORK, f"{name}_y.npy"), y)
        np.save(os.path.join(WORK, f"{name}_font.npy"), fi)
        print(f"{name}: {x.shape} saved")


def load(name):
    """Load a saved split: (x float32 [N,1,28,28] in [-1,1], y int64 [N])."""
    return (np.load(os.path.join(WORK, f"{name}_x.npy")),
            np.load(os.path.join(WORK, f"{name}_y.npy")))


if __name__ == "__main__":
    make_dataset()
