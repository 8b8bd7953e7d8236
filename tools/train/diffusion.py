"""DDPM noise schedule and a pure-PyTorch DDIM sampler with diffusers semantics.

DDIM: timestep_spacing "leading", set_alpha_to_one=True, clip_sample (range 1.0,
default False, see CLIP_SAMPLE), eta = 0, use_clipped_model_output=False,
classifier-free guidance eps = eps_u + g * (eps_c - eps_u).
"""
import numpy as np
import torch

T = 1000
BETA_START, BETA_END = 1e-4, 0.02
# Clipping the predicted x0 while DDIM keeps the unclipped epsilon (diffusers default,
# use_clipped_model_output=False) makes guided samples (g=3) over-inked blobs with this model;
# without clipping they are clean (see resources/models/README.md). So the model ships with
# stepwise.clip_sample = "false".
CLIP_SAMPLE = False


def alphas_cumprod(num_train_timesteps=T, beta_start=BETA_START, beta_end=BETA_END):
    """Linear beta schedule (diffusers 'linear'), float64 -> float32 tensor."""
    betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    return torch.tensor(np.cumprod(1.0 - betas), dtype=torch.float32)


def q_sample(x0, t, noise, acp):
    """Forward process x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps."""
    a = acp[t][:, None, None, None]
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def ddim_timesteps(steps, num_train_timesteps=T):
    """diffusers 'leading' spacing: arange(steps) * (T // steps), descending."""
    ratio = num_train_timesteps // steps
    return (np.arange(0, steps) * ratio).round()[::-1].astype(np.int64)


@torch.no_grad()
def ddim_sample(model, labels, steps=50, guidance=3.0, generator=None, null_class=10,
                return_trajectory=False, clip_sample=CLIP_SAMPLE):
    """Sample x0 for the given class labels (null_class = unconditional); final x0 clamped to [-1, 1]."""
    acp = alphas_cumprod()
    n = labels.shape[0]
    x = torch.randn(n, 1, 28, 28, generator=generator)
    ratio = T // steps
    null = torch.full_like(labels, null_class)
    traj = []
    for t in ddim_timesteps(steps):
        tt = torch.full((n,), int(t), dtype=torch.long)
        uncond = labels == null_class
        if guidance != 1.0 and not bool(uncond.all()):
            eps = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([labels, null]))
            eps_c, eps_u = eps.chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
            eps = torch.where(uncond[:, None, None, None], eps_u, eps)
        else:
            eps = model(x, tt, labels)
        prev_t = t - ratio
        a_t = acp[t]
        a_prev = acp[prev_t] if prev_t >= 0 else torch.tensor(1.0)   # set_alpha_to_one
        x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        if clip_sample:
            x0 = x0.clamp(-1, 1)
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        if return_trajectory:
            traj.append(x0)
    x0 = x0.clamp(-1, 1)     # final image for display / classification
    return (x0, traj) if return_trajectory else x0
