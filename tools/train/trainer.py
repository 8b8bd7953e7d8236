"""Training loop: class-conditional DDPM (epsilon prediction) with EMA, resumable."""
import copy
import csv
import datetime as dt
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
                ema_decay=0.999, p_uncond=0.15, seed=0, ckpt_every=250, log_every=25)


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


def train(max_steps=100000, until=None, max_minutes=None, **kw):
    """Train until max_steps / wall-clock deadline; resumes from .work/ckpt.pt if present."""
    cfg = dict(DEFAULTS, **{k: v for k, v in kw.items() if v is not None})
    cfg["channels"] = list(cfg["channels"])
    torch.set_num_threads(2)
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
        cfg = dict(ck["cfg"], **{k: v for k, v in cfg.items() if k in ("ckpt_every", "log_every")})
        print(f"resumed at step {step} ({elapsed / 60:.1f} min trained)", flush=True)
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
        lr = cfg["lr"] * min(1.0, (step + 1) / cfg["warmup"])
        for g in opt.param_groups:
            g["lr"] = lr
        loss = F.mse_loss(model(diffusion.q_sample(x0, t, noise, acp), t, y), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(cfg["ema_decay"], (1 + step) / (10 + step))
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
