"""Evaluate the model: guided DDIM samples classified by the held-out-font classifier.

sampler "torch": the pure-PyTorch DDIM in diffusion.py on the EMA checkpoint.
sampler "cli":   the Stepwise engine CLI on the exported ONNX file
                 (npm run -s cli -- sample ... --save-npy --json -> DIR/samples.npy).
Writes resources/models/samples.png (rows 0-9 + unconditional), loss.png and eval_<sampler>.json.
"""
import csv
import json
import os
import subprocess
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

import classifier
import data
import diffusion
import export
import trainer

MODELS = os.path.join(export.ROOT, "resources", "models")
STEPS, GUIDANCE = 50, 3.0


def sample_torch(model, k, n, seed, guidance=GUIDANCE, clip_sample=diffusion.CLIP_SAMPLE):
    g = torch.Generator().manual_seed(seed)
    return diffusion.ddim_sample(model, torch.full((n,), k, dtype=torch.long), STEPS, guidance, g,
                                 clip_sample=clip_sample).numpy()


def sample_cli(k, n, seed, guidance=GUIDANCE, model_path=None, sampler_args=("--sampler", "ddim", "--steps", str(STEPS))):
    """n samples of class k from the Stepwise CLI; `sampler_args` are its sampler flags (DDIM 50 steps)."""
    out = os.path.join(data.WORK, "cli_samples", f"class{k}")
    os.makedirs(out, exist_ok=True)
    cmd = ["npm", "run", "-s", "cli", "--", "sample", "--model",
           os.path.relpath(model_path or export.DEFAULT_OUT, export.ROOT), *sampler_args,
           "--guidance", str(guidance), "--class", str(k), "--batch", str(n),
           "--seed", str(seed), "--out", out, "--save-npy", "--json", "--overwrite"]
    r = subprocess.run(cmd, cwd=export.ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"CLI failed ({' '.join(cmd)}):\n{r.stderr[-3000:]}")
    x = np.load(os.path.join(out, "samples.npy")).astype(np.float32)
    assert x.shape == (n, 1, 28, 28), x.shape
    return x


def save_grid(rows, path, scale=3, cols=10):
    """rows: list of arrays [>=cols,1,28,28] in [-1,1] -> PNG grid (one row each)."""
    pad = 2
    H, W = len(rows) * (28 + pad) + pad, cols * (28 + pad) + pad
    g = np.full((H, W), 40, np.uint8)
    for r, xs in enumerate(rows):
        for c in range(cols):
            img = ((xs[c, 0] + 1) * 127.5).clip(0, 255).astype(np.uint8)
            g[pad + r * (28 + pad):pad + r * (28 + pad) + 28, pad + c * (28 + pad):pad + c * (28 + pad) + 28] = img
    Image.fromarray(g).resize((W * scale, H * scale), Image.NEAREST).save(path)


def loss_plot(path, csv_path=os.path.join(data.WORK, "loss.csv")):
    """Loss curve (raw + smoothed, log-y) drawn with PIL."""
    rows = list(csv.DictReader(open(csv_path)))
    s = np.array([float(r["step"]) for r in rows])
    l = np.array([float(r["loss"]) for r in rows])
    k = max(1, len(l) // 40)
    sm = np.convolve(l, np.ones(k) / k, mode="valid")
    W, H, m = 720, 400, 60
    im = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(im)
    lo, hi = np.log10(max(l.min(), 1e-3) * 0.9), np.log10(min(l.max(), 1.0) * 1.1)
    X = lambda v: m + (v - s.min()) / max(1, s.max() - s.min()) * (W - 1.5 * m)
    Y = lambda v: H - m - (np.log10(np.clip(v, 10 ** lo, 10 ** hi)) - lo) / (hi - lo) * (H - 1.7 * m)
    d.rectangle([m, 0.7 * m, W - 0.5 * m, H - m], outline="black")
    for v in [0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0]:
        if 10 ** lo <= v <= 10 ** hi:
            d.line([m, Y(v), W - 0.5 * m, Y(v)], fill=(220, 220, 220))
            d.text((5, Y(v) - 6), f"{v:g}", fill="black")
    for v in np.linspace(0, s.max(), 6):
        d.text((X(v) - 15, H - m + 8), f"{int(v)}", fill="black")
    d.line(list(zip(X(s), Y(l))), fill=(160, 190, 240), width=1)
    d.line(list(zip(X(s[k - 1:]), Y(sm))), fill=(20, 60, 200), width=2)
    d.text((m, 10), f"Stepwise digits: training loss (MSE on epsilon), log scale; step {int(s.max())}, "
                    f"last smoothed {sm[-1]:.4f}", fill="black")
    d.text((W // 2 - 20, H - 25), "step", fill="black")
    im.save(path)


def evaluate(sampler="torch", per_class=100, ckpt=None, seed=1000, threads=2, grid=True,
             clip_sample=diffusion.CLIP_SAMPLE, tag=None):
    """Per-class accuracy of guided samples + unconditional sample class histogram."""
    torch.set_num_threads(threads)
    clf, cinfo = classifier.load_classifier()
    model = None
    if sampler == "torch":
        model, ck = trainer.load_ema(ckpt or trainer.CKPT)
        step = ck["step"]
    else:
        step = None
    t0 = time.time()
    samples, acc, conf = {}, {}, {}
    for k in list(range(10)) + [10]:
        if sampler == "torch":
            x = sample_torch(model, k, per_class, seed + k, clip_sample=clip_sample)
        else:
            x = sample_cli(k, per_class, seed + k)
        samples[k] = x
        p = classifier.predict(clf, torch.from_numpy(x))
        pred = p.argmax(1).numpy()
        if k < 10:
            acc[k] = float((pred == k).mean())
            conf[k] = float(p.max(1).values.mean())
        else:
            uncond_hist = np.bincount(pred, minlength=10).tolist()
            uncond_conf = float(p.max(1).values.mean())
        print(f"class {k if k < 10 else 'null'}: " + (f"acc {acc[k]:.3f}" if k < 10 else f"pred hist {uncond_hist}")
              + f"  ({time.time() - t0:.0f}s)", flush=True)
    mean = float(np.mean(list(acc.values())))
    print(f"\nsampler={sampler} DDIM {STEPS} steps, guidance {GUIDANCE}, clip_sample {clip_sample}, "
          f"{per_class}/class, step {step}")
    print("| class | " + " | ".join(str(k) for k in range(10)) + " | mean |")
    print("|---" * 12 + "|")
    print("| acc | " + " | ".join(f"{acc[k] * 100:.0f}%" for k in range(10)) + f" | {mean * 100:.1f}% |")
    print(f"unconditional (class 10): classifier predictions {uncond_hist}, mean confidence {uncond_conf:.3f}")
    res = {"sampler": sampler, "clip_sample": clip_sample if sampler == "torch" else "from metadata",
           "steps": STEPS, "guidance": GUIDANCE, "per_class": per_class, "train_step": step,
           "accuracy": {str(k): v for k, v in acc.items()}, "mean_accuracy": mean, "confidence": conf,
           "unconditional_pred_hist": uncond_hist, "unconditional_confidence": uncond_conf,
           "classifier_test_acc": cinfo["test_acc"], "seconds": time.time() - t0}
    with open(os.path.join(MODELS, f"eval_{tag or sampler}.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    if grid:
        save_grid([samples[k] for k in range(11)], os.path.join(MODELS, "samples.png"))
        loss_plot(os.path.join(MODELS, "loss.png"))
    return res


def accuracy_cli(sampler_args, per_class=100, seed=1000, guidance=GUIDANCE, threads=2):
    """The held-out classifier's accuracy on guided samples of each digit made by the Stepwise CLI with these
    sampler flags (e.g. ["--sampler", "unipc", "--steps", "10"]): per class and the mean. The same seeds
    (seed + k for class k) as `evaluate`."""
    torch.set_num_threads(threads)
    clf, _ = classifier.load_classifier()
    acc = {}
    for k in range(10):
        x = sample_cli(k, per_class, seed + k, guidance, sampler_args=sampler_args)
        acc[k] = float((classifier.predict(clf, torch.from_numpy(x)).argmax(1).numpy() == k).mean())
    return {"sampler_args": list(sampler_args), "guidance": guidance, "per_class": per_class,
            "accuracy": {str(k): v for k, v in acc.items()}, "mean_accuracy": float(np.mean(list(acc.values())))}
