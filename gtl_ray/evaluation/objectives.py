"""Losses that learn from a frozen pre-trained network's features (the teacher), for
`training.fit`: feature distillation (the `distilled` baseline's pre-training) and Adaptive
Feature Transfer (the `aft` baselines' fine-tuning). Both compare pooled features (`embed`) of
the same augmented batch; the teacher runs in eval mode without gradient.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gtl_ray.config import AFTConfig
from gtl_ray.models import Network
from gtl_ray.training import Objective, frozen_embed

EPS = 1e-8


class _FromTeacher(Objective):
    def __init__(self, teacher: Network):
        super().__init__()
        self._teacher = (teacher,)  # a tuple: not a submodule, so never optimized

    def teacher_features(self, x: torch.Tensor) -> torch.Tensor:
        return frozen_embed(self._teacher[0], x)


class FeatureDistillation(_FromTeacher):
    """Knowledge distillation as pre-training (He et al., CVPR 2022): a linear projector maps the
    student's pooled features to the teacher's, and the loss is their mean squared difference
    (per image and teacher dimension). Labels are not used. The projector trains at the
    student's lr and is thrown away afterwards."""

    def __init__(self, teacher: Network, student_dim: int):
        super().__init__(teacher)
        self.projector = nn.Linear(student_dim, teacher.feature_dim)

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(self.projector(model.embed(x)), self.teacher_features(x))


def _centred(features: torch.Tensor) -> torch.Tensor:
    return features - features.mean(0, keepdim=True)


def kernel_distance(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """RMS difference of the two batches' linear kernels, each taken after centring every
    dimension over the batch and scaling every image's vector to unit length: 0 when `features`
    is `target` up to a rotation and a scale (whatever their dimensions). Shifted by sqrt(EPS) so
    that it is exactly 0 there with a finite gradient."""

    def kernel(f: torch.Tensor) -> torch.Tensor:
        f = _centred(f)
        f = f / (f.norm(dim=1, keepdim=True) + EPS)
        return f @ f.T

    return torch.sqrt(((kernel(features) - kernel(target)) ** 2).mean() + EPS) - math.sqrt(EPS)


class AFT(_FromTeacher):
    """Cross-entropy plus `beta` times the Adaptive Feature Transfer regularizer (Qiu et al. 2024,
    "Transferring Knowledge from Large Foundation Models to Small Downstream Models"): the
    descendant's features are pulled toward the part of the teacher's features that helps the
    task, not toward all of them, so a small network spends no capacity on the rest.

    Projectors (`evaluation.aft.projector`):
      - `kernel`, as the authors run AFT: per-dimension weights rho = sigmoid(s) on the teacher's
        features (s = 0 at the start: equal weights), R = `kernel_distance`(h, rho * phi); s is
        learned with the descendant, so the weighting adapts to the task;
      - `linear`: a learned map W from the teacher's features to the descendant's, R = mean of
        (centred h - centred (W phi + b))^2 (the authors' variant without kernel).
    """

    def __init__(self, teacher: Network, student_dim: int, config: AFTConfig):
        super().__init__(teacher)
        self.beta, self.lr, self.kind = config.beta, config.lr, config.projector
        if self.kind == "kernel":
            self.scales = nn.Parameter(torch.zeros(teacher.feature_dim))
        else:
            self.projector = nn.Linear(teacher.feature_dim, student_dim)

    def regularizer(self, features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
        """R(h, phi) for the descendant's features h and the teacher's phi of the same batch."""
        if self.kind == "kernel":
            return kernel_distance(features, teacher_features * torch.sigmoid(self.scales))
        return ((_centred(features) - _centred(self.projector(teacher_features))) ** 2).mean()

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        features = model.embed(x)
        loss = nn.functional.cross_entropy(model.head(features), y)
        if self.beta == 0:
            return loss
        return loss + self.beta * self.regularizer(features, self.teacher_features(x))
