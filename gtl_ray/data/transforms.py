"""Batch transforms on image tensors: resizing at load time, normalisation and augmentation.

They work on whole batches (no per-image Python loop, no torchvision) so that a member's lifetime
can augment every step on CPU or GPU, with every random draw taken from an explicit generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MEAN = 0.5  #: images are centred at mid-grey ...
STD = 0.25  #: ... and scaled so that typical pixel values fall in [-2, 2]


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, S, S) in [0, 255] -> float32 (x / 255 - 0.5) / 0.25, the network's input scale."""
    if x.dtype != torch.uint8:
        raise TypeError(f"normalize expects uint8 images, got {x.dtype} (already normalized?)")
    return (x.to(torch.float32) / 255.0 - MEAN) / STD


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop (reflect padding S//8) and random horizontal flip, independently per image.

    Args:
        x: float batch (B, C, S, S), e.g. the output of `normalize`.
        generator: source of every random draw (offsets and flips), so augmentation is reproducible.
    """
    flip, offsets = draw_augment(x.shape[0], x.shape[2], generator)
    return crop_flip(x, flip, offsets)


def draw_augment(batch: int, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`augment`'s random draws for a batch of `batch` images of side `size`, on the generator's
    device: flips (B,) bool, then crop offsets (2, B) int64 (rows, columns) in [0, 2 * (size // 8)]."""
    pad = size // 8
    draw_device = generator.device
    flip = torch.rand(batch, generator=generator, device=draw_device) < 0.5
    if pad > 0:
        offsets = torch.randint(0, 2 * pad + 1, (2, batch), generator=generator, device=draw_device)
    else:
        offsets = torch.zeros((2, batch), dtype=torch.int64, device=draw_device)
    return flip, offsets


def crop_flip(
    x: torch.Tensor,
    flip: torch.Tensor,
    offsets: torch.Tensor,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """Apply drawn augmentations (`draw_augment`) to a float batch (B, C, S, S), on its device.
    The gather yields NHWC, so `memory_format=torch.channels_last` costs no copy."""
    batch, _, size, width = x.shape
    pad = size // 8
    if pad > 0:
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    offsets, flip = offsets.to(x.device), flip.to(x.device)
    steps = torch.arange(size, device=x.device)
    rows = offsets[0][:, None] + steps  # (B, S)
    cols = torch.where(flip[:, None], offsets[1][:, None] + width - 1 - steps, offsets[1][:, None] + steps)
    index = torch.arange(batch, device=x.device)[:, None, None]
    # Advanced indexing on dims 0, 2, 3 puts the channel dim last: (B, S, S, C).
    return x[index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous(memory_format=memory_format)


def resize_images(images: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> uint8 (N, 3, size, size), bilinear with antialiasing, in chunks."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        part = images[start : start + chunk].to(torch.float32)
        part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out
