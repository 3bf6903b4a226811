"""PyTorch twin of the tfjs U-Net training step in bench/train-step.ts (spawned by it).

Same network as src/models/unet2d.ts: per level two (conv3x3 no-bias -> BatchNorm -> ReLU),
max-pool 2x2 down, 2x2 stride-2 transposed conv up, skip concatenation, 1x1 conv head;
softmax cross-entropy over pixels; Adam. Prints one JSON object on stdout.

Usage: /usr/bin/python3 train_step_torch.py --size 128 --batch 8 --threads 2 --steps 10 --warmup 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class UNet2D(nn.Module):
    def __init__(self, in_channels, n_classes, depth, base):
        super().__init__()
        f = [base * 2 ** level for level in range(depth)]
        self.enc = nn.ModuleList(block(in_channels if l == 0 else f[l - 1], f[l]) for l in range(depth))
        # decoder modules listed from the deepest level up, as they run
        levels = range(depth - 2, -1, -1)
        self.up = nn.ModuleList(nn.ConvTranspose2d(f[l + 1], f[l], 2, stride=2) for l in levels)
        self.dec = nn.ModuleList(block(2 * f[l], f[l]) for l in levels)
        self.head = nn.Conv2d(f[0], n_classes, 1)

    def forward(self, x):
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x)
            if i < len(self.enc) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--classes", type=int, default=4)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet2D(1, a.classes, a.depth, a.base).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(a.batch, 1, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch, a.size, a.size))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)  # mean over pixels, like tf.losses.softmaxCrossEntropy
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

    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "params_trainable": sum(q.numel() for q in model.parameters() if q.requires_grad),
        "buffers": sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked")),
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "times_ms": times,
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }))


if __name__ == "__main__":
    main()
