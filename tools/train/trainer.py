"""Training loop: class-conditional DDPM (epsilon prediction) with EMA, resumable."""
import copy
import csv
import datetime as dt
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import data
import diffusion
from unet import NULL_CLASS, UNet, count_params

CKPT = os.path.join(data.WORK, "ckpt.pt")
DEFAULTS = dict(channels=(32, 48, 64), emb_dim=128, batch=64, lr=6e-4, warmup=300,
                ema_decay=0.999, p_uncond=0.15, seed=0, ckpt_every=250, log_every=25,
                lr_schedule="constant", start_step=0, decay_steps=None, init_onnx=None)


def deadline(until):
    """'HH:MM' (UTC) -> epoch seconds of the next such time."""
    if not until:
        return None
    now = dt.datetime.now(dt.timezone.utc)
    h, m = map(int, until.split(":"))
    d = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if d < now - dt.timedelta(hours=12):
        d += dt.timedelta(days=1)
    return d.timestamp()


def save_ckpt(path, model, ema, opt, step, cfg, elapsed, rng_state):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "step": step, "cfg": cfg, "elapsed": elapsed, "rng": rng_state}, tmp)
    os.replace(tmp, path)


def load_ema(path=CKPT):
    """Build the EMA model from a checkpoint (eval mode)."""
    ck = torch.load(path, map_location="cpu")
    cfg = ck["cfg"]
    m = UNet(tuple(cfg["channels"]), cfg["emb_dim"])
    m.load_state_dict(ck["ema"])
    return m.eval(), ck


def weights_from_onnx(path, model):
    """Load into `model` the weights of an ONNX file this tool exported from the same U-Net.

    torch.onnx names every Conv/Linear/Embedding initializer after its parameter, but exports a GroupNorm as
    InstanceNormalization followed by a Mul and an Add whose [C, 1, 1] constants are unnamed: those are
    matched to the GroupNorm modules in the order the forward pass runs them (checked by shape)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    state = model.state_dict()
    loaded = {k: torch.from_numpy(init[k].copy()) for k in state if k in init}
    norms = []
    hooks = [mod.register_forward_hook(lambda mod, i, o: norms.append(mod))
             for mod in model.modules() if isinstance(mod, torch.nn.GroupNorm)]
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28), torch.tensor([0]), torch.tensor([0]))
    for h in hooks:
        h.remove()
    produced = {o: n for n in m.graph.node for o in n.output}
    affine = []  # (scale, shift) after each InstanceNormalization, in graph order
    for n in m.graph.node:
        if n.op_type != "Mul" or n.input[1] not in init or not n.input[1].startswith("onnx::"):
            continue
        src = produced.get(n.input[0])  # Reshape back from the instance norm's shape
        if src is None or src.op_type != "Reshape" or produced[src.input[0]].op_type != "InstanceNormalization":
            continue
        add = next(a for a in m.graph.node if a.op_type == "Add" and a.input[0] == n.output[0])
        affine.append((init[n.input[1]], init[add.input[1]]))
    names = {mod: name for name, mod in model.named_modules()}
    if len(affine) != len(norms):
        raise ValueError(f"{path}: {len(affine)} GroupNorm affines in the graph, the U-Net runs {len(norms)}")
    for mod, (scale, shift) in zip(norms, affine):
        if scale.size != mod.num_channels:
            raise ValueError(f"{path}: GroupNorm {names[mod]} has {mod.num_channels} channels, graph {scale.size}")
        loaded[f"{names[mod]}.weight"] = torch.from_numpy(scale.reshape(-1).copy())
        loaded[f"{names[mod]}.bias"] = torch.from_numpy(shift.reshape(-1).copy())
    missing = sorted(set(state) - set(loaded))
    if missing:
        raise ValueError(f"{path}: no weights for {missing}")
    model.load_state_dict(loaded)
    return model


def onnx_train_steps(path):
    import onnx
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    return int(meta.get("stepwise.train_steps", 0))


def learning_rate(cfg, step):
    """Linear warm-up from cfg['start_step'], then constant or a cosine decay to 0 at cfg['decay_steps']."""
    done = step - cfg["start_step"]
    lr = cfg["lr"] * min(1.0, (done + 1) / cfg["warmup"])
    if cfg["lr_schedule"] == "cosine":
        span = cfg["decay_steps"] - cfg["start_step"]
        lr *= 0.5 * (1 + math.cos(math.pi * min(done, span) / span))
    return lr


def train(max_steps=100000, until=None, max_minutes=None, **kw):
    """Train until max_steps / wall-clock deadline; resumes from .work/ckpt.pt if present.

    init_onnx: go on from the weights of an exported model (online and EMA alike) and its step count
    (`stepwise.train_steps`), with a fresh optimizer and warm-up; lr_schedule "cosine" decays the learning
    rate to 0 at max_steps."""
    cfg = dict(DEFAULTS, **{k: v for k, v in kw.items() if v is not None})
    cfg["decay_steps"] = max_steps
    cfg["channels"] = list(cfg["channels"])
    # Two threads on a quiet 2-core machine; one where other work shares the cores (threads that wait on
    # each other at every op slow down many times when one of them is descheduled).
    torch.set_num_threads(int(os.environ.get("STEPWISE_TRAIN_THREADS", "2")))
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    x_np, y_np = data.load("train")
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model = UNet(tuple(cfg["channels"]), cfg["emb_dim"])
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.0)
    step, elapsed = 0, 0.0
    gen = torch.Generator().manual_seed(cfg["seed"])
    if os.path.exists(CKPT):
        ck = torch.load(CKPT, map_location="cpu")
        model.load_state_dict(ck["model"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        gen.set_state(ck["rng"])
        cfg = {**DEFAULTS, **ck["cfg"], **{k: v for k, v in cfg.items() if k in ("ckpt_every", "log_every")}}
        print(f"resumed at step {step} ({elapsed / 60:.1f} min trained)", flush=True)
    elif cfg["init_onnx"]:
        weights_from_onnx(cfg["init_onnx"], model)
        ema.load_state_dict(model.state_dict())
        step = cfg["start_step"] = onnx_train_steps(cfg["init_onnx"])
        print(f"started from the weights of {cfg['init_onnx']}", flush=True)
    print(f"params: {count_params(model)}  cfg: {cfg}", flush=True)
    acp = diffusion.alphas_cumprod()
    stop_at = deadline(until)
    if max_minutes:
        stop_at = min(stop_at or 1e18, time.time() + 60 * max_minutes)
    log_path = os.path.join(data.WORK, "loss.csv")
    new_log = not os.path.exists(log_path) or step == 0
    logf = open(log_path, "w" if new_log else "a", newline="")
    logw = csv.writer(logf)
    if new_log:
        logw.writerow(["step", "loss", "lr", "elapsed_s"])
    run_loss, run_n, t_last = 0.0, 0, time.time()
    model.train()
    while step < max_steps and (stop_at is None or time.time() < stop_at):
        idx = torch.randint(0, x_all.shape[0], (cfg["batch"],), generator=gen)
        x0, y = x_all[idx], y_all[idx].clone()
        y[torch.rand(y.shape, generator=gen) < cfg["p_uncond"]] = NULL_CLASS
        t = torch.randint(0, diffusion.T, (x0.shape[0],), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        lr = learning_rate(cfg, step)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = F.mse_loss(model(diffusion.q_sample(x0, t, noise, acp), t, y), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        # The EMA warms up from random weights; started from a trained model's, it keeps its decay throughout.
        decay = cfg["ema_decay"] if cfg["init_onnx"] else min(cfg["ema_decay"], (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        run_loss += loss.item(); run_n += 1
        now = time.time()
        elapsed += now - t_last; t_last = now
        if step % cfg["log_every"] == 0:
            logw.writerow([step, f"{run_loss / run_n:.5f}", f"{lr:.2e}", f"{elapsed:.1f}"]); logf.flush()
            if step % (cfg["log_every"] * 4) == 0:
                print(f"step {step} loss {run_loss / run_n:.4f} {elapsed / step:.3f}s/step", flush=True)
            run_loss, run_n = 0.0, 0
        if step % cfg["ckpt_every"] == 0:
            save_ckpt(CKPT, model, ema, opt, step, cfg, elapsed, gen.get_state())
            if step % (cfg["ckpt_every"] * 8) == 0:
                save_ckpt(os.path.join(data.WORK, f"ckpt_{step:06d}.pt"), model, ema, opt, step, cfg,
                          elapsed, gen.get_state())
    save_ckpt(CKPT, model, ema, opt, step, cfg, elapsed, gen.get_state())
    print(f"stopped at step {step}, {elapsed / 60:.1f} min", flush=True)
    logf.close()
