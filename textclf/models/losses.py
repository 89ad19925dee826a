"""The training losses a classifier can learn with: the gold labels' cross-entropy, or distillation.

Distillation (Hinton, Vinyals & Dean 2015) trains a small *student* to copy a big *teacher*. Besides the gold
label, each text comes with the teacher's logits ``z_t``; both models' logits are divided by a temperature
``T`` before the softmax, which softens the teacher's distribution so that its "dark knowledge" (how
negative a not-quite-positive review is) shows::

    soft_t = softmax(z_t / T)                     # [batch, n_classes], the teacher's soft labels
    soft   = KL(soft_t || softmax(z_s / T)) * T^2  # the gradients of a soft loss shrink as 1/T^2: scaled back
    hard   = cross_entropy(z_s, gold)              # at T = 1
    loss   = alpha * soft + (1 - alpha) * hard

``alpha = 0`` is training on the gold labels alone; ``alpha = 1`` trusts the teacher alone (the only choice
for an augmented text with no gold label, where ``textclf.distill`` uses the teacher's argmax as "gold").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from textclf.config import check_float

# A criterion: ``(logits [batch, n_classes], labels [batch], teacher logits [batch, n_classes] or None) -> loss``.
# The training loop is given one (default ``cross_entropy``); a model applies it to its logits (``ClassifierNet.loss``).
Criterion = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
    """The ordinary training loss: the gold labels' cross-entropy (a teacher's logits, if any, are not used)."""
    return F.cross_entropy(logits, labels)


@dataclass(frozen=True)
class Distillation:
    """How a student learns from a teacher's logits: the soft loss's weight ``alpha`` and the temperature.
    Called as a criterion, it is ``distillation_loss`` with these settings."""

    alpha: float = 0.5
    temperature: float = 2.0

    def __post_init__(self) -> None:
        check_float(self, "alpha", 0.0, 1.0)
        check_float(self, "temperature", 0.05, 100.0)

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None = None):
        return distillation_loss(logits, labels, teacher, self)


def soft_labels(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The temperature-softened distribution: ``[batch, n_classes]`` logits -> probabilities (rows sum to 1).
    T = 1 is the plain softmax; T -> infinity tends to uniform, T -> 0 to the one-hot argmax."""
    return F.softmax(logits.float() / temperature, dim=-1)


def soft_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher/T) || softmax(student/T))``, averaged over the batch (a scalar)."""
    log_student = F.log_softmax(student.float() / temperature, dim=-1)   # [batch, n_classes]
    log_teacher = F.log_softmax(teacher.float() / temperature, dim=-1)   # [batch, n_classes]
    kl = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    return kl * temperature ** 2


def distillation_loss(student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
                      distillation: Distillation | None) -> torch.Tensor:
    """The loss of a batch: ``student`` logits ``[batch, n_classes]``, gold ``labels`` ``[batch]``, the teacher's
    logits ``[batch, n_classes]`` (None: the cross-entropy alone, the ordinary training loss)."""
    hard = F.cross_entropy(student, labels)
    if teacher is None or distillation is None:
        return hard
    if teacher.shape != student.shape:
        raise ValueError(f"teacher logits of shape {tuple(teacher.shape)} for a student's {tuple(student.shape)}: "
                         "the teacher and the student must have the same labels")
    alpha = distillation.alpha
    if alpha == 0:
        return hard
    soft = soft_loss(student, teacher, distillation.temperature)
    return soft if alpha == 1 else alpha * soft + (1 - alpha) * hard
