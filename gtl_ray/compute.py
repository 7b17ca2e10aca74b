"""Where and how networks compute: the device, the precision (autocast, with grad scaling for
fp16), the memory layout and compilation, from `population.{precision,channels_last,compile}`.

One `Compute` goes to every training and scoring call (lifetimes, fitness fine-tunes, the final
selection, evaluation episodes, pre-training), so they all run alike. The default (fp32,
contiguous layout, eager) is plain PyTorch: its CPU results, and so the lineages of a seed, are
those of the code before these settings existed.

fp16 is for CUDA only: it needs grad scaling and CPU kernels gain nothing from it. The config
check refuses it without `population.gpus_per_member`, and a process that would compute in fp16
without a CUDA device stops with a ConfigError naming `population.precision`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ContextManager

import torch
from torch import nn

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.errors import ConfigError

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def available_device() -> str:
    """The device this process was given: `cuda` when torch sees a GPU (Ray hides the GPUs of a
    task or actor that holds none), else `cpu`."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class Compute:
    """Args:
    device: where models and batches live (`cpu`, `cuda`, `cuda:1`).
    precision: `fp32`, `bf16` or `fp16` (autocast dtype of forward passes; weights stay fp32).
    channels_last: convolutions in NHWC layout (tensor cores prefer it).
    compile: train through `torch.compile(model)` (compiled once per process and shape).
    """

    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"population.precision: {self.precision!r} is not allowed; choose one of {', '.join(PRECISIONS)}"
            )
        if self.precision == "fp16" and self.device_type != "cuda":
            raise ConfigError(
                f"population.precision: fp16 needs a CUDA device, this process computes on {self.device!r} (use bf16 "
                "or fp32 on CPU)"
            )

    @property
    def device_type(self) -> str:
        return torch.device(self.device).type

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> ContextManager:
        dtype = PRECISIONS[self.precision]
        return torch.autocast(self.device_type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for fp16 (a pass-through for the other precisions)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.precision == "fp16")

    def place(self, model: nn.Module) -> nn.Module:
        """Move `model` (in place) to the device, in the chosen layout."""
        return model.to(self.device, memory_format=torch.channels_last) if self.channels_last else model.to(self.device)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """A batch on the device, in the chosen layout (no copy when it is there already)."""
        return x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)

    def trainer(self, model: nn.Module) -> nn.Module:
        """What training calls: `model` itself, or its compiled form (same parameters)."""
        return torch.compile(model) if self.compile else model


CPU = Compute()  #: plain fp32 eager on the CPU


def compute_for(config: GTLConfig, device: str | torch.device | None = None) -> Compute:
    """The run's compute settings on `device` (None: `available_device()`)."""
    pop = config.population
    return Compute(str(device or available_device()), pop.precision, pop.channels_last, pop.compile)


def to_host(model: nn.Module) -> nn.Module:
    """Move `model` (in place) back to the CPU in the default layout, e.g. to cut its gene."""
    return model.to("cpu", memory_format=torch.contiguous_format)


def resident(images: ImageSet, config: GTLConfig, compute: Compute) -> ImageSet:
    """`images` where the run keeps its data: copied to the compute device once with
    `population.data_on_device` (episodes, batches and augmentation then stay there), else as
    they are (each batch then moves to the device)."""
    return images.to(compute.device) if config.population.data_on_device else images
