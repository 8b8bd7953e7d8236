"""Write the model card resources/models/README.md from the run's artefacts."""
import csv
import json
import os

import torch

import data
import export
import trainer
from unet import UNet, count_params

MODELS = os.path.join(export.ROOT, "resources", "models")
# Sections of the card written by hand, not from this tool's artefacts (the few-step table is measured by the
# Stepwise bench): a new card carries them over from the one it replaces, each at its place.
FEW_STEP, NOTES = "### Few-step samplers", "## Notes from the training session"


def _kept_section(card, heading):
    """The section of `card` under the heading that starts with `heading`, up to the next heading of its level
    or above ("" where the card has none)."""
    start = card.find("\n" + heading)
    if start < 0:
        return ""
    level = heading.split(" ")[0]
    ends = [card.find("\n" + h + " ", start + 1) for h in ("#" * n for n in range(1, len(level) + 1))]
    return card[start + 1:min([e for e in ends if e > 0], default=len(card))].rstrip() + "\n"


def _table(ev):
    acc = ev["accuracy"]
    head = "| class | " + " | ".join(str(k) for k in range(10)) + " | mean |\n|" + "---|" * 12 + "\n"
    row = "| accuracy | " + " | ".join(f"{acc[str(k)] * 100:.0f}%" for k in range(10)) + \
          f" | **{ev['mean_accuracy'] * 100:.1f}%** |\n"
    unc = (f"\nUnconditional samples (class 10 = null, {ev['per_class']} samples): classifier predictions per digit "
           f"0-9 = {ev['unconditional_pred_hist']}, mean classifier confidence "
           f"{ev['unconditional_confidence']:.3f}.\n")
    return head + row + unc


def write_card():
    ck = torch.load(trainer.CKPT, map_location="cpu")
    cfg = ck["cfg"]
    params = count_params(UNet(tuple(cfg["channels"]), cfg["emb_dim"]))
    fonts = json.load(open(os.path.join(data.WORK, "fonts.json")))
    fam = lambda fl: len({f["family"] for f in fl})
    rows = list(csv.DictReader(open(os.path.join(data.WORK, "loss.csv"))))
    last = [float(r["loss"]) for r in rows[-20:]]
    final_loss = sum(last) / len(last)
    clf = torch.load(os.path.join(data.WORK, "classifier.pt"), map_location="cpu")
    evals = {}
    for s in ("cli", "torch", "torch_cliptrue"):
        p = os.path.join(MODELS, f"eval_{s}.json")
        if os.path.exists(p):
            evals[s] = json.load(open(p))
    size_mb = os.path.getsize(export.DEFAULT_OUT) / 1e6
    md = f"""# Stepwise digits — the default model

A small class-conditional pixel-space DDPM that draws the digits 0-9 (28x28 grayscale, white on
black). It is trained from scratch, on this machine, on digits rendered from the fonts of Debian
font packages — no downloaded data sets or weights. File: `stepwise-digits.onnx` ({size_mb:.2f} MB).

![samples](samples.png)

Rows 1-10: digits 0-9 (DDIM 50 steps, classifier-free guidance 3); last row: unconditional
(class 10 = null). Samples made by the {'Stepwise CLI' if 'cli' in evals else 'PyTorch DDIM'} sampler with
the exported metadata (clip_sample = {export.METADATA['stepwise.clip_sample']}).

## Data

- Fonts: every `.ttf`/`.otf` under `/usr/share/fonts` and `/usr/share/texmf/fonts/opentype`
  ({len(data.list_font_files())} files). Rejected: fonts whose digits are missing, blank, the
  `.notdef` box, or not ten distinct glyphs, and symbol/dingbat fonts. Fonts whose digits are
  pixel-identical to an already kept font (e.g. the Noto script fonts that share Noto Sans digits)
  are de-duplicated. Kept: {len(fonts['train']) + len(fonts['heldout'])} fonts.
- Split by family (first word of the family name, so all variants of a family stay together):
  **train {len(fonts['train'])} fonts / {fam(fonts['train'])} families**, **held-out
  {len(fonts['heldout'])} fonts / {fam(fonts['heldout'])} families** (never seen by the generator):
  {', '.join(sorted({f['family'] for f in fonts['heldout']}))}.
- Rendering: glyph drawn at 96 pt, cropped, scaled to 58-80% of a 112 px canvas in height
  (width x0.85-1.15), random stroke width 0-4 px (0 with p=3/7), rotation ±15°, shift ±8 px (±2 px
  at 28 px), then LANCZOS-downsampled to 28x28; values in [-1, 1].
- Sizes: 60,000 training images (6,000 per digit), 15,000 held-out images (1,500 per digit). Seed 0.

## Architecture

U-Net, 28→14→7, channels {tuple(cfg['channels'])}, one ResNet block (GroupNorm, SiLU, 3x3 convs) per
level on the way down and up (skip concatenation), middle: ResBlock + single-head self-attention at
7x7 + ResBlock. Sinusoidal timestep embedding → MLP ({cfg['emb_dim']}) plus a learned class
embedding with 11 entries (0-9 digits, 10 = null), added into every ResBlock.
**{params:,} parameters.** Predicts epsilon.

## Training

- DDPM, T = 1000, **linear** beta schedule 1e-4 … 0.02 (the standard DDPM schedule; it works
  well at 28x28 and every sampler supports it), epsilon MSE loss.
- Class dropped to the null class 10 with p = {cfg['p_uncond']} (classifier-free guidance and unconditional sampling).
- AdamW lr {cfg['lr']} (linear warm-up {cfg['warmup']} steps, then constant), batch {cfg['batch']}, grad-norm clip 1.0,
  EMA decay {cfg['ema_decay']} with warm-up (min(decay, (1+n)/(10+n))); the **EMA weights** are exported.
- **{ck['step']:,} steps** ({ck['step'] * cfg['batch'] / 60000:.1f} epochs) in {ck['elapsed'] / 60:.0f} min,
  {ck['elapsed'] / max(1, ck['step']):.2f} s/step, final loss (mean of last 500 steps) {final_loss:.4f}.
- Hardware: 2 CPU cores (PyTorch {torch.__version__}, 2 threads), no GPU.

![loss](loss.png)

## Evaluation

An independent CNN classifier was trained only on the held-out-font split (80% of its fonts;
augmented with small affine jitter and noise). Its accuracy on the remaining 20% of held-out fonts
({clf['n_test']} images of {clf['n_test_fonts']} unseen fonts): **{clf['test_acc'] * 100:.2f}%**.
Generated samples (DDIM 50 steps, eta 0, guidance 3, {next(iter(evals.values()))['per_class'] if evals else 100}
per class) classified by it:
"""
    for s, ev in evals.items():
        if s == "torch_cliptrue":
            continue
        name = "Stepwise engine CLI (onnxruntime-node, the exported ONNX)" if s == "cli" else \
            "PyTorch DDIM in tools/train/diffusion.py (EMA checkpoint), clip_sample false"
        md += f"\n### Sampler: {name}, training step {ev.get('train_step') or ck['step']}\n\n" + _table(ev)
    path = os.path.join(MODELS, "README.md")
    old = open(path).read() if os.path.exists(path) else ""
    kept = _kept_section(old, FEW_STEP)
    md += "\n" + kept if kept else ""
    md += """
### Why `stepwise.clip_sample` is "false"

With diffusers' DDIM semantics (`use_clipped_model_output=False`: the predicted x0 is clipped to
[-1, 1] but the direction term keeps the *unclipped* guided epsilon) clipping makes x0 and epsilon
inconsistent. At guidance 3 the mismatch grows over the trajectory: strokes thicken into blobs
(ink fraction ~0.30 vs 0.15 in the data) and most samples stop being recognisable. Without
clipping (or with the epsilon re-derived from the clipped x0) the same model gives clean digits,
so the model ships with `clip_sample = "false"`; the final image is clamped to [-1, 1].
"""
    if "torch_cliptrue" in evals:
        md += "\nSame checkpoint, same seeds, PyTorch DDIM with clip_sample **true**:\n\n" + \
              _table(evals["torch_cliptrue"])
    md += f"""
## Reproduce

    /usr/bin/python3 tools/train/train.py all --until HH:MM      # UTC stop time for training
    # or step by step: data | train [--until HH:MM | --max-minutes M] | export | classifier | eval [--sampler cli]

(see `tools/train/README.md` for the apt packages). This model: `train --until 00:45` on 2 CPU
cores, i.e. training length is set by wall clock; `--max-steps {ck['step']}` reproduces the step count.

## ONNX signature

opset 17, dynamic batch B:

| name | type | shape |
|---|---|---|
| input `sample` | float32 | [B, 1, 28, 28] |
| input `timestep` | int64 | [B] |
| input `class_labels` | int64 | [B] (0-9 digit, 10 = unconditional) |
| output `out_sample` | float32 | [B, 1, 28, 28] (predicted noise epsilon) |

Metadata (`metadata_props`, all strings):

| key | value |
|---|---|
""" + "".join(f"| `{k}` | `{v}` |\n" for k, v in export.METADATA.items()) + \
        "| `stepwise.train_steps`, `stepwise.params` | informational |\n"
    notes = _kept_section(old, NOTES)
    md += "\n" + notes if notes else ""
    with open(path, "w") as fh:
        fh.write(md)
    print("wrote", path)
