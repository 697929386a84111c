"""Contestant of benchmarks/time_to_accuracy.py: lightly 1.6's SimCLR on the CPU, with lightly's CIFAR-10 benchmark settings.

Run with benchmarks/.venvs/lightly/bin/python (built by benchmarks/peers/setup_peers.sh):

    python lightly_time_to_accuracy.py --data NPZ --out DIR --budgets B1 B2 ... --epochs E --seed S

Settings, from lightly's own CIFAR-10 benchmark
(lightly-ai/lightly, docs/source/getting_started/benchmarks/cifar10_benchmark.py, SimCLRModel):

- SimCLRProjectionHead(input_dim, 512, 128): the benchmark's head is (512, 512, 128) on a
  ResNet-18; here the input is the small CNN's 128-d pooled features and the hidden width
  stays 512, so SimCLRProjectionHead(128, 512, 128).
- NTXentLoss() with its default temperature 0.5 (the benchmark passes no temperature).
- SGD, momentum 0.9, weight decay 5e-4, lr = 6e-2 * batch_size / 128 (the benchmark's
  linear scaling rule, `lr_factor = batch_size / 128`). The benchmark's script defaults to
  batch 128 (lr 0.06); its results table also reports batch 512 (lr 0.24), and we use
  batch 512, hence lr 0.24. (`--batch-size` / `--lr` override.)
- CosineAnnealingLR(optimizer, T_max=--epochs), stepped once per epoch, as the benchmark
  does (PyTorch Lightning's default scheduler interval is "epoch").
- SimCLRTransform(input_size=28, cj_strength=0.5, gaussian_blur=0.0), i.e. the benchmark's
  SimCLRTransform(input_size=32, cj_strength=0.5, gaussian_blur=0.0) at Fashion-MNIST's
  size; everything else at lightly 1.6's defaults (RandomResizedCrop scale (0.08, 1),
  horizontal flip 0.5, colour jitter p 0.8 with 0.8/0.8/0.8/0.2 x 0.5, random grayscale
  0.2), except `normalize`: Fashion-MNIST's one-channel mean 0.2860 / std 0.3530 instead
  of ImageNet's three-channel statistics (which would broadcast the image to 3 channels).
  Images go in as PIL "L" images, so the transform runs on one channel.
- DataLoader(shuffle=True, drop_last=True) as the benchmark, but num_workers=0 so that all
  augmentation runs in this process and time.process_time() counts it. torch.set_num_threads(2).

Network: the "small" VGG-style CNN of architectures.py (the same layers as
lightly_step.build_model), with the projection head kept separate so the 128-d
backbone features can be embedded. The kNN embeddings are the backbone's output in
eval mode on the un-augmented images, scaled like the training views (x/255, then
(x - 0.2860) / 0.3530).

Protocol (stdout, one JSON line each): first {"contestant": "lightly", "settings": ...};
then one line per budget, after writing DIR/budget_<B>.npz with train= and test=
embeddings. The training clock is time.process_time() minus the CPU time of the
evaluations; it is checked after every optimizer step.
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import torch
from architectures import BudgetClock, budget_parser
from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead
from lightly.transforms import SimCLRTransform
from PIL import Image
from torch import nn

from lightly_step import build_backbone

MEAN, STD = 0.2860, 0.3530


class Views(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray, transform):
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index], mode="L"))


def main() -> None:
    parser = budget_parser()
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=None, help="default: 6e-2 * batch_size / 128")
    args = parser.parse_args()
    lr = args.lr if args.lr is not None else 6e-2 * args.batch_size / 128

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(2)

    data = np.load(args.data)
    x_train, x_test = data["x_train"], data["x_test"]

    transform_kwargs = {
        "input_size": 28, "cj_strength": 0.5, "gaussian_blur": 0.0, "normalize": {"mean": [MEAN], "std": [STD]},
    }
    transform = SimCLRTransform(**transform_kwargs)
    loader = torch.utils.data.DataLoader(
        Views(x_train, transform), batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=0,
    )
    steps_per_epoch = len(loader)

    backbone, features = build_backbone("small")
    head = SimCLRProjectionHead(features, 512, 128)
    model = nn.Sequential(backbone, head).train()
    criterion = NTXentLoss(temperature=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)

    settings = {
        "library": "lightly", "lightly_version": __import__("lightly").__version__, "torch_version": torch.__version__,
        "source": "lightly docs/source/getting_started/benchmarks/cifar10_benchmark.py (SimCLRModel)",
        "arch": "small", "embedding_dim": features, "projection_head": [features, 512, 128],
        "loss": "NTXentLoss", "temperature": 0.5,
        "optimizer": "SGD", "lr": lr, "lr_rule": "6e-2 * batch_size / 128", "momentum": 0.9, "weight_decay": 5e-4,
        "schedule": f"CosineAnnealingLR(T_max={args.epochs}) stepped per epoch",
        "batch_size": args.batch_size, "drop_last": True, "steps_per_epoch": steps_per_epoch, "epochs": args.epochs,
        "transform": {"SimCLRTransform": {**transform_kwargs, "other_args": "lightly 1.6 defaults"}},
        "num_workers": 0, "torch_threads": torch.get_num_threads(), "seed": args.seed,
    }
    print(json.dumps({"contestant": "lightly", "settings": settings}), flush=True)

    @torch.no_grad()
    def embed(images: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        for start in range(0, len(images), 1000):
            x = torch.from_numpy(images[start:start + 1000]).float().div_(255.0).sub_(MEAN).div_(STD).unsqueeze(1)
            out.append(backbone(x).numpy())
        model.train()
        return np.concatenate(out)

    clock = BudgetClock(args.budgets, args.out, {"train": x_train, "test": x_test}, embed, steps_per_epoch)
    done = False
    for epoch in range(args.epochs):
        for view_a, view_b in loader:
            loss = criterion(model(view_a), model(view_b))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done = clock.after_step()
            if done:
                break
        if done:
            break
        scheduler.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} train_cpu {clock.training_cpu():.1f}s", file=sys.stderr, flush=True)
    clock.finish()


if __name__ == "__main__":
    main()
