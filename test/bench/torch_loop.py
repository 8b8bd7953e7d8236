"""The PyTorch side of `npm run bench`: the default model's U-Net (same architecture as
resources/models/stepwise-digits.onnx, seeded weights) exported to ONNX for Stepwise to time, and the same
50-step DDIM loop with guidance timed in PyTorch (tools/train/diffusion.py's loop, the one the model was
evaluated with). Prints one JSON line. Run with Debian's /usr/bin/python3 (torch 1.13).

usage: torch_loop.py ONNX_OUT BATCH STEPS ROUNDS
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "train"))
import torch  # noqa: E402

import diffusion  # noqa: E402
import trainer  # noqa: E402
from export import METADATA  # noqa: E402
from unet import UNet  # noqa: E402


def main(out, batch, steps, rounds):
    # Every core, as onnxruntime uses by default (Debian's torch starts with 1 thread here).
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    cfg = trainer.DEFAULTS
    model = UNet(tuple(cfg["channels"]), cfg["emb_dim"]).eval()
    args = (torch.randn(2, 1, 28, 28), torch.tensor([0, 999]), torch.tensor([3, 10]))
    torch.onnx.export(model, args, out, opset_version=17,
                      input_names=["sample", "timestep", "class_labels"], output_names=["out_sample"],
                      dynamic_axes={k: {0: "B"} for k in ["sample", "timestep", "class_labels", "out_sample"]},
                      do_constant_folding=True)
    import onnx
    m = onnx.load(out)
    for k, v in METADATA.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, out)

    labels = torch.full((batch,), 3, dtype=torch.long)
    g = torch.Generator().manual_seed(1)
    diffusion.ddim_sample(model, labels, steps=steps, guidance=3.0, generator=g)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        diffusion.ddim_sample(model, labels, steps=steps, guidance=3.0, generator=g)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"torch_ms": best * 1000, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
