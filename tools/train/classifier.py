"""Independent digit classifier trained ONLY on the held-out fonts split.

It never sees the generator's training fonts, so it judges whether generated
samples look like digits in general. 80% of the held-out fonts train it, the
remaining 20% of fonts (disjoint) measure its accuracy.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import data

PATH = os.path.join(data.WORK, "classifier.pt")


class DigitCNN(nn.Module):
    """Small CNN: 2x(conv-conv-pool) + MLP head."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        return self.f(x)


def augment(x, gen):
    """Random affine (rotation +-10 deg, scale 0.9-1.1, shift +-2 px) and light noise."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) - 0.5) * 2 * np.pi / 18
    sc = 0.9 + 0.2 * torch.rand(n, generator=gen)
    sh = (torch.rand(n, 2, generator=gen) - 0.5) * 2 * (2 / 14)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
    return (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(-1, 1)


def train_classifier(epochs=8, seed=0, threads=1):
    """Train on held-out fonts (font-disjoint 80/20 split); save and return test accuracy."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = data.load("heldout")
    fi = np.load(os.path.join(data.WORK, "heldout_font.npy"))
    fonts = np.unique(fi)
    rng = np.random.default_rng(seed)
    test_fonts = rng.choice(fonts, size=max(1, len(fonts) // 5), replace=False)
    te = np.isin(fi, test_fonts)
    xtr, ytr = torch.from_numpy(x[~te]), torch.from_numpy(y[~te])
    xte, yte = torch.from_numpy(x[te]), torch.from_numpy(y[te])
    model = DigitCNN()
    opt = torch.optim.AdamW(model.parameters(), 2e-3, weight_decay=1e-4)
    steps = epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(len(xtr) // 128):
            idx = perm[i * 128:(i + 1) * 128]
            loss = F.cross_entropy(model(augment(xtr[idx], gen)), ytr[idx])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        acc = accuracy(model, xte, yte)
        print(f"classifier epoch {ep + 1}: loss {loss.item():.3f} held-out-font test acc {acc:.4f}", flush=True)
    torch.save({"model": model.state_dict(), "test_acc": acc, "n_train": len(xtr), "n_test": len(xte),
                "n_train_fonts": int(len(fonts) - len(test_fonts)), "n_test_fonts": int(len(test_fonts))}, PATH)
    return acc


@torch.no_grad()
def predict(model, x, bs=500):
    model.eval()
    return torch.cat([F.softmax(model(x[i:i + bs]), 1) for i in range(0, len(x), bs)])


def accuracy(model, x, y):
    a = (predict(model, x).argmax(1) == y).float().mean().item()
    model.train()
    return a


def load_classifier():
    ck = torch.load(PATH, map_location="cpu")
    m = DigitCNN()
    m.load_state_dict(ck["model"])
    return m.eval(), ck
