"""Peer: lightly 1.6's NTXentLoss and SimCLRProjectionHead with the same network in PyTorch, on the CPU.

Run by benchmarks/throughput.py with benchmarks/.venvs/lightly/bin/python
(built by benchmarks/peers/setup_peers.sh). Two encoder calls, as lightly's
examples do. With --bfloat16: its fastest CPU bf16 setting, the model and views in
channels-last memory and the forward pass and loss under
`torch.autocast("cpu", torch.bfloat16)` (weights, gradients and SGD state float32).
"""

import torch
from architectures import (
    ARCHITECTURES, LEARNING_RATE, PROJECTION_DIM, TEMPERATURE, measure, parse_args, random_views, serve,
)
from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead
from torch import nn


def build_backbone(arch: str) -> tuple[nn.Module, int]:
    """The network of architectures.py in PyTorch, to its pooled features, and their width."""
    spec = ARCHITECTURES[arch]
    layers, channels = [], spec["input_shape"][-1]
    for stage, filters in enumerate(spec["widths"]):
        if stage > 0:
            layers.append(nn.MaxPool2d(2))
        for _ in range(2):
            layers += [nn.Conv2d(channels, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters), nn.ReLU()]
            channels = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), channels


def build_model(arch: str) -> nn.Module:
    backbone, channels = build_backbone(arch)
    return nn.Sequential(backbone, SimCLRProjectionHead(channels, channels, PROJECTION_DIM))


def main() -> None:
    args = parse_args()
    arch = args.arch
    memory_format = torch.channels_last if args.bfloat16 else torch.contiguous_format
    model = build_model(arch).train().to(memory_format=memory_format)
    criterion = NTXentLoss(temperature=TEMPERATURE)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    view_a, view_b = (torch.from_numpy(v).permute(0, 3, 1, 2).contiguous(memory_format=memory_format)
                      for v in random_views(arch))

    def run_steps(steps: int) -> None:
        for _ in range(steps):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bfloat16):
                loss = criterion(model(view_a), model(view_b))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    batch = ARCHITECTURES[arch]["batch_size"]
    serve(lambda steps: measure(run_steps, steps, batch))


if __name__ == "__main__":
    main()
