"""PyTorch twin of the tfjs U-Net training step in bench/train-step.ts (spawned by it).

--dims 2: the same network as src/models/unet2d.ts; --dims 3: as src/models/unet3d.ts. Per
level two (conv 3x3[x3] no-bias -> BatchNorm (eps 1e-5, momentum 0.1) -> ReLU), max-pool 2 down,
2x2[x2] stride-2 transposed conv (with bias) up, skip concatenation, 1x1[x1] conv head with bias;
softmax cross-entropy over pixels/voxels; Adam (lr 1e-3). Prints one JSON object on stdout.

Memory: VmHWM (peak RSS) is reset through /proc/self/clear_refs after the warm-up steps, so
peak_rss_mb is the peak during the timed steps (Linux; the whole process's peak elsewhere), and
rss_mb gives the RSS after the first and the last timed step.

Usage: /usr/bin/python3 train_step_torch.py [--dims 2] --size 128 --batch 8 --threads 2 --steps 10 --warmup 2
       /usr/bin/python3 train_step_torch.py --dims 3 --size 64 --batch 2 --depth 3 --base 8 --classes 2
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def layers(dims):
    if dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.ConvTranspose2d, F.max_pool2d
    return nn.Conv3d, nn.BatchNorm3d, nn.ConvTranspose3d, F.max_pool3d


class UNet(nn.Module):
    def __init__(self, dims, in_channels, n_classes, depth, base):
        super().__init__()
        Conv, BatchNorm, ConvTranspose, self.pool = layers(dims)

        def block(cin, cout):
            # BatchNorm defaults are eps 1e-5, momentum 0.1 (= tfjs momentum 0.9)
            return nn.Sequential(
                Conv(cin, cout, 3, padding=1, bias=False), BatchNorm(cout, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True),
                Conv(cout, cout, 3, padding=1, bias=False), BatchNorm(cout, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True),
            )

        f = [base * 2 ** level for level in range(depth)]
        self.enc = nn.ModuleList(block(in_channels if l == 0 else f[l - 1], f[l]) for l in range(depth))
        # decoder modules listed from the deepest level up, as they run
        levels = range(depth - 2, -1, -1)
        self.up = nn.ModuleList(ConvTranspose(f[l + 1], f[l], 2, stride=2) for l in levels)
        self.dec = nn.ModuleList(block(2 * f[l], f[l]) for l in levels)
        self.head = Conv(f[0], n_classes, 1)

    def forward(self, x):
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x)
            if i < len(self.enc) - 1:
                skips.append(x)
                x = self.pool(x, 2)
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


def rss_mb():
    """Current RSS in MB (Linux /proc), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return None


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def summary(times, losses):
    """Median, min and max of per-step times (ms), the times themselves, first and last loss."""
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "times_ms": times,
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dims", type=int, choices=(2, 3), default=2)
    p.add_argument("--size", type=int, default=None, help="spatial size (128 for 2D, 64 for 3D)")
    p.add_argument("--batch", type=int, default=None, help="batch (8 for 2D, 2 for 3D)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--depth", type=int, default=None, help="levels (4 for 2D, 3 for 3D)")
    p.add_argument("--base", type=int, default=None, help="base filters (16 for 2D, 8 for 3D)")
    p.add_argument("--classes", type=int, default=None, help="classes (4 for 2D, 2 for 3D)")
    a = p.parse_args()
    defaults = {2: dict(size=128, batch=8, depth=4, base=16, classes=4), 3: dict(size=64, batch=2, depth=3, base=8, classes=2)}[a.dims]
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet(a.dims, 1, a.classes, a.depth, a.base).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    spatial = (a.size,) * a.dims
    x = torch.randn(a.batch, 1, *spatial)
    y = torch.randint(0, a.classes, (a.batch, *spatial))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)  # mean over pixels, like tf.losses.softmaxCrossEntropy
        loss.backward()
        opt.step()
        return loss.item()  # forces the step to finish

    for _ in range(a.warmup):
        step()
    peak_reset = reset_peak_rss()
    times, losses, rss = [], [], []
    for _ in range(a.steps):
        t = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - t) * 1000)
        rss.append(rss_mb())

    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "params_trainable": sum(q.numel() for q in model.parameters() if q.requires_grad),
        "buffers": sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked")),
        **summary(times, losses),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_scope": "timed steps" if peak_reset else "process",
        "rss_mb": {"first": rss[0], "last": rss[-1]},
        "rss_per_step_mb": rss,
    }))


if __name__ == "__main__":
    main()
