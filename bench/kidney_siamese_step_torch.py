"""PyTorch twin of the siamese steps in bench/kidney-siamese-step.ts (spawned by it).

Both branches are the encoder of train_step_torch.py's UNet, as the tfjs side takes the encoder
of its U-Nets: per level two (conv 3x3[x3] no-bias -> BatchNorm (eps 1e-5, momentum 0.1) ->
ReLU), max-pool 2 between levels (depth 4, base filters doubling); then global average pooling
over the spatial axes and a linear embedding (with bias). 2D: src/models/siamese.ts
buildSiameseEncoder2D on crop x crop sections; 3D: the bench's encoder3d (src/models/unet3d.ts)
on depth3d x crop x crop patches. One step: both members of every pair as one batch, contrastive
loss y d^2 + (1 - y) max(0, 1 - d)^2 (mean over pairs, d = sqrt(sum sq diff + 1e-9), y = pair
index mod 2), Adam (lr 1e-3). Prints one JSON object on stdout.

Usage: /usr/bin/python3 kidney_siamese_step_torch.py [--pairs 16] [--crop 32] [--depth3d 16]
           [--depth 4] [--base 8] [--embedding 32] [--threads 1] [--steps 10] [--warmup 2]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from train_step_torch import UNet, summary


class SiameseEncoder(nn.Module):
    """The encoder levels of a UNet (decoder and head dropped), pooled, then a linear embedding."""

    def __init__(self, dims, depth, base, embedding):
        super().__init__()
        unet = UNet(dims, 1, 1, depth, base)
        self.enc, self.pool = unet.enc, unet.pool
        self.embed = nn.Linear(base * 2 ** (depth - 1), embedding)

    def forward(self, x):
        for i, enc in enumerate(self.enc):
            if i > 0:
                x = self.pool(x, 2)
            x = enc(x)
        return self.embed(x.flatten(2).mean(2))  # global average pooling over the spatial axes


def time_steps(model, shape, a):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x1 = torch.randn(a.pairs, 1, *shape)
    x2 = torch.randn(a.pairs, 1, *shape)
    same = (torch.arange(a.pairs) % 2).float()  # y: 1 for pairs from the same side

    def step():
        opt.zero_grad(set_to_none=True)
        e = model(torch.cat([x1, x2]))
        d = torch.sqrt(((e[: a.pairs] - e[a.pairs:]) ** 2).sum(1) + 1e-9)
        loss = (same * d ** 2 + (1 - same) * F.relu(1 - d) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()  # forces the step to finish

    for _ in range(a.warmup):
        step()
    times, losses = [], []
    for _ in range(a.steps):
        t = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - t) * 1000)
    return {
        "shape": list(shape),
        "params_trainable": sum(q.numel() for q in model.parameters() if q.requires_grad),
        **summary(times, losses),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=16)
    p.add_argument("--crop", type=int, default=32)
    p.add_argument("--depth3d", type=int, default=16, help="slices of the 3D patch")
    p.add_argument("--depth", type=int, default=4, help="encoder levels")
    p.add_argument("--base", type=int, default=8, help="base filters")
    p.add_argument("--embedding", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    results = {}
    for key, dims, shape in (("2d", 2, (a.crop, a.crop)), ("3d", 3, (a.depth3d, a.crop, a.crop))):
        results[key] = time_steps(SiameseEncoder(dims, a.depth, a.base, a.embedding).train(), shape, a)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        **results,
    }))


if __name__ == "__main__":
    main()
