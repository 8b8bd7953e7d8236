"""Export the EMA U-Net to ONNX (opset 17) with Stepwise metadata, and verify it."""
import json
import os
import subprocess

import numpy as np
import onnx
import torch

import data
import diffusion
import trainer

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "resources", "models", "stepwise-digits.onnx")
CHECK_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_onnx.cjs")

METADATA = {
    "stepwise.num_train_timesteps": str(diffusion.T),
    "stepwise.beta_schedule": "linear",
    "stepwise.beta_start": "0.0001",
    "stepwise.beta_end": "0.02",
    "stepwise.prediction_type": "epsilon",
    "stepwise.clip_sample": "true" if diffusion.CLIP_SAMPLE else "false",
    "stepwise.sample_size": "28",
    "stepwise.class_names": json.dumps([str(i) for i in range(10)], separators=(",", ":")),
    "stepwise.null_class_id": "10",
    "stepwise.name": "Stepwise digits",
    "stepwise.description": "Class-conditional DDPM U-Net (28x28 grayscale) for font-rendered digits 0-9; "
                            "class 10 = unconditional; trained from scratch by tools/train.",
}


def export(ckpt=None, out=None):
    """Write the ONNX file, add metadata, check it, and compare with PyTorch via onnxruntime-node."""
    out = out or DEFAULT_OUT
    model, ck = trainer.load_ema(ckpt or trainer.CKPT)
    torch.set_num_threads(1)
    b = 3
    args = (torch.randn(b, 1, 28, 28), torch.tensor([0, 500, 999]), torch.tensor([3, 7, 10]))
    tmp = out + ".tmp"
    torch.onnx.export(model, args, tmp, opset_version=17,
                      input_names=["sample", "timestep", "class_labels"], output_names=["out_sample"],
                      dynamic_axes={"sample": {0: "B"}, "timestep": {0: "B"}, "class_labels": {0: "B"},
                                    "out_sample": {0: "B"}}, do_constant_folding=True)
    m = onnx.load(tmp)
    meta = dict(METADATA, **{"stepwise.train_steps": str(ck["step"]),
                             "stepwise.params": str(sum(p.numel() for p in model.parameters()))})
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    m.producer_name = "stepwise tools/train"
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, tmp)
    os.replace(tmp, out)
    print(f"exported {out} ({os.path.getsize(out) / 1e6:.2f} MB) from step {ck['step']}")
    # reference output for the node check: batch of 5 random inputs
    g = torch.Generator().manual_seed(123)
    x = torch.randn(5, 1, 28, 28, generator=g)
    t = torch.tensor([0, 10, 250, 600, 999])
    c = torch.tensor([0, 4, 9, 10, 1])
    with torch.no_grad():
        y = model(x, t, c)
    ref = os.path.join(data.WORK, "onnx_ref")
    os.makedirs(ref, exist_ok=True)
    x.numpy().astype(np.float32).tofile(os.path.join(ref, "x.bin"))
    t.numpy().astype(np.int64).tofile(os.path.join(ref, "t.bin"))
    c.numpy().astype(np.int64).tofile(os.path.join(ref, "c.bin"))
    y.numpy().astype(np.float32).tofile(os.path.join(ref, "y.bin"))
    try:
        r = subprocess.run(["node", CHECK_JS, out, ref], cwd=ROOT, capture_output=True, text=True, timeout=120)
        print(r.stdout.strip() or r.stderr.strip()[-2000:])
    except Exception as e:  # node missing etc.
        print(f"onnxruntime-node check skipped: {e}")
    return out
