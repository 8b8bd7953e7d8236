"""Small class-conditional DDPM U-Net for 28x28 grayscale digits.

ResNet blocks with GroupNorm + SiLU, sinusoidal timestep embedding, a learned
class embedding with 11 entries (0-9 digits, 10 = null / unconditional),
self-attention at the lowest (7x7) resolution. Predicts epsilon.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10
NULL_CLASS = 10


def timestep_embedding(t, dim):
    """Sinusoidal embedding (diffusers/DDPM style: [cos, sin])."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def gn(ch):
    return nn.GroupNorm(8 if ch % 8 == 0 else 4, ch)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv x2 with additive time/class embedding and a skip."""

    def __init__(self, cin, cout, emb_dim, dropout=0.0):
        super().__init__()
        self.n1, self.c1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.n2, self.c2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return h + self.skip(x)


class Attention(nn.Module):
    """Single-head self-attention over spatial positions (written with matmuls for ONNX)."""

    def __init__(self, ch):
        super().__init__()
        self.norm = gn(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        att = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)   # [b, hw, hw]
        out = torch.bmm(v, att.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj(out)


class UNet(nn.Module):
    """28 -> 14 -> 7 U-Net. channels=(c0, c1, c2) per resolution."""

    def __init__(self, channels=(32, 64, 96), emb_dim=128, dropout=0.0):
        super().__init__()
        c0, c1, c2 = channels
        self.config = {"channels": list(channels), "emb_dim": emb_dim, "dropout": dropout}
        self.tdim = c0
        self.time_mlp = nn.Sequential(nn.Linear(c0, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(NUM_CLASSES + 1, emb_dim)
        self.inp = nn.Conv2d(1, c0, 3, padding=1)
        # down
        self.d0 = ResBlock(c0, c0, emb_dim, dropout)                     # 28
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)          # -> 14
        self.d1 = ResBlock(c0, c1, emb_dim, dropout)                     # 14
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)          # -> 7
        self.d2 = ResBlock(c1, c2, emb_dim, dropout)                     # 7
        # middle
        self.m1 = ResBlock(c2, c2, emb_dim, dropout)
        self.attn = Attention(c2)
        self.m2 = ResBlock(c2, c2, emb_dim, dropout)
        # up
        self.u2 = ResBlock(c2 + c2, c2, emb_dim, dropout)                # 7
        self.up1 = nn.Conv2d(c2, c1, 3, padding=1)                      # after upsample -> 14
        self.u1 = ResBlock(c1 + c1, c1, emb_dim, dropout)                # 14
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)                      # -> 28
        self.u0 = ResBlock(c0 + c0, c0, emb_dim, dropout)                # 28
        self.out_norm = gn(c0)
        self.out = nn.Conv2d(c0, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, sample, timestep, class_labels):
        emb = self.time_mlp(timestep_embedding(timestep, self.tdim)) + self.class_emb(class_labels)
        emb = F.silu(emb)
        h0 = self.d0(self.inp(sample), emb)
        h1 = self.d1(self.down0(h0), emb)
        h2 = self.d2(self.down1(h1), emb)
        h = self.m2(self.attn(self.m1(h2, emb)), emb)
        h = self.u2(torch.cat([h, h2], 1), emb)
        h = self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u1(torch.cat([h, h1], 1), emb)
        h = self.up0(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u0(torch.cat([h, h0], 1), emb)
        return self.out(F.silu(self.out_norm(h)))


def count_params(m):
    return sum(p.numel() for p in m.parameters())
