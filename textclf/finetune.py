"""Transfer: start from a model trained on one task, train it on another.

Pretrain on news topics (5 labels), fine-tune on sentiment (2 labels):

1. ``replace_head``: the last linear layer maps to the old labels; swap it for a
   fresh one with the new number of outputs. Everything else is kept.
2. ``extend_vocab`` / ``resize_embedding``: the new task has words the old one
   never saw. They are appended to the vocabulary (old ids do not move) and get
   new embedding rows (GloVe vectors where there are some); without this they
   would all read as ``<unk>``.
3. ``set_trainable``: how much of the old model learns again —
   ``head`` (only the new layer: the encoder is a fixed feature extractor),
   ``last-k`` (the head and the last k encoder stages), ``lora`` (the head and
   low-rank adapters beside chosen frozen layers: ``textclf.models.lora``), or
   ``full`` (all of it).
4. ``parameter_groups``: optionally *discriminative learning rates* (ULMFiT):
   the head gets ``lr``, each stage below it ``decay`` times its upper neighbour's.

``encoder_stages`` lists a model's parameters from input to output: the
transformer's own ``stages()`` (embedding, input layer, each block, final norm);
for the classic models, ``ClassifierNet.stages``: the embedding, then everything else before the head.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from textclf.config import check_float, check_int, fail
from textclf.models.base import ClassifierNet
from textclf.models.lora import add_lora, linear_names
from textclf.text import Vocab

MODES = ("head", "last-k", "lora", "full")


@dataclass
class LoRAOptions:
    """How ``--finetune lora`` adapts a model: rank, alpha (the change is scaled by alpha / rank), the Linear
    layers wrapped (None: the model's ``lora_targets``, attention's query and value), dropout on the
    adapters' input."""

    rank: int = 8
    alpha: float = 16.0
    targets: list[str] | None = None
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int(self, "rank", 1, 4096)
        check_float(self, "alpha", 0.0, 1e6, low_open=True)
        check_float(self, "dropout", 0.0, 1.0, high_open=True)
        if self.targets is not None and (not isinstance(self.targets, list) or not self.targets or not all(
                isinstance(t, str) and t.isidentifier() for t in self.targets)):
            fail(self, "targets", "a non-empty list of Linear layer names such as ['query', 'value']")

    def targets_of(self, model: nn.Module) -> list[str]:
        """The layers wrapped in ``model``: the ones named, else the model's declared ``lora_targets``."""
        return self.targets or list(model.lora_targets)


@dataclass
class ParameterCount:
    trainable: int
    total: int

    def __str__(self) -> str:
        return f"{self.trainable:,} trainable of {self.total:,} parameters ({100 * self.trainable / self.total:.1f}%)"


def count_parameters(model: nn.Module) -> ParameterCount:
    return ParameterCount(sum(p.numel() for p in model.parameters() if p.requires_grad),
                          sum(p.numel() for p in model.parameters()))


def encoder_stages(model: ClassifierNet) -> list[list[nn.Parameter]]:
    """The parameters below the head, grouped from input to output (``ClassifierNet.stages``)."""
    if not isinstance(model, ClassifierNet):
        raise TypeError(f"transfer needs a ClassifierNet (embedding, stages(), out), not {type(model).__name__}")
    return model.stages()


def replace_head(model: nn.Module, n_classes: int, seed: int = 0) -> nn.Module:
    """A fresh ``model.out`` with ``n_classes`` outputs (seeded), in place; ``model.config`` follows."""
    old = model.out
    torch.manual_seed(seed)
    model.out = nn.Linear(old.in_features, n_classes).to(old.weight.device)
    model.config.n_classes = n_classes
    return model


def extend_vocab(vocab: Vocab, token_lists: Iterable[Sequence[str]], min_freq: int = 2) -> Vocab:
    """``vocab`` plus the new task's tokens seen at least ``min_freq`` times, appended (old ids unchanged)."""
    new = Vocab.build(token_lists, min_freq=min_freq, specials=(vocab.pad_token, vocab.unk_token))
    added = [t for t in new.itos if t not in vocab]
    return Vocab(vocab.itos + added, vocab.pad_token, vocab.unk_token)


def resize_embedding(model: nn.Module, vocab_size: int, new_rows: torch.Tensor | None = None,
                     seed: int = 0) -> nn.Module:
    """Grow ``model.embedding`` to ``vocab_size`` rows, in place; old rows kept, new rows from ``new_rows``
    (``[n_new, dim]``) or ``N(0, std of the old rows)``."""
    old = model.embedding
    n_old, dim = old.weight.shape
    if vocab_size == n_old:
        return model
    if vocab_size < n_old:
        raise ValueError(f"cannot shrink the embedding from {n_old} to {vocab_size} rows")
    generator = torch.Generator().manual_seed(seed)
    if new_rows is None:
        new_rows = torch.randn(vocab_size - n_old, dim, generator=generator) * old.weight.detach().std().item()
    if tuple(new_rows.shape) != (vocab_size - n_old, dim):
        raise ValueError(f"new rows have shape {tuple(new_rows.shape)}; expected {(vocab_size - n_old, dim)}")
    grown = nn.Embedding(vocab_size, dim, padding_idx=old.padding_idx).to(old.weight.device)
    with torch.no_grad():
        grown.weight[:n_old] = old.weight
        grown.weight[n_old:] = new_rows.to(grown.weight)
    grown.weight.requires_grad_(old.weight.requires_grad)
    model.embedding = grown
    model.config.vocab_size = vocab_size
    return model


def set_trainable(model: nn.Module, mode: str = "full", k: int = 1, lora: LoRAOptions | None = None,
                  seed: int = 0) -> ParameterCount:
    """Freeze by mode: ``head``, ``last-k`` (head + last ``k`` encoder stages), ``lora`` (head + adapters,
    ``lora``'s options; ``seed``: their starting A matrices) or ``full``."""
    if mode not in MODES:
        raise ValueError(f"unknown fine-tuning mode {mode!r}; expected one of: {', '.join(MODES)}")
    if mode == "lora":
        lora = lora or LoRAOptions()
        targets = lora.targets_of(model)
        if not targets:
            raise ValueError(f"a {type(model).__name__} has no default LoRA targets (no attention layers); name its "
                             f"Linear layers with --lora-targets (this one has: {', '.join(linear_names(model))})")
        add_lora(model, targets, lora.rank, lora.alpha, lora.dropout, seed)
        return count_parameters(model)
    if mode == "last-k" and k < 1:
        raise ValueError(f"last-k needs k >= 1, not {k}")
    stages = encoder_stages(model)
    if mode == "last-k" and k > len(stages):
        raise ValueError(f"last-k with k={k}: this {type(model).__name__} has only {len(stages)} encoder stages")
    learning = {"head": [], "last-k": stages[-k:], "full": stages}[mode]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in [*model.out.parameters(), *(p for stage in learning for p in stage)]:
        p.requires_grad_(True)
    return count_parameters(model)


def parameter_groups(model: nn.Module, lr: float, decay: float | None = None) -> list[dict]:
    """Optimizer groups over the trainable parameters: the head at ``lr``, stage ``i`` below it at
    ``lr * decay**i`` (one group with ``lr`` for everything when ``decay`` is None)."""
    if decay is None:
        return model.param_groups(lr)
    groups = [{"params": [p for p in model.out.parameters() if p.requires_grad], "lr": lr}]
    for depth, stage in enumerate(reversed(encoder_stages(model)), start=1):
        params = [p for p in stage if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr * decay**depth})
    return [g for g in groups if g["params"]]


def transfer(source: nn.Module, n_classes: int, mode: str = "full", k: int = 1, *, vocab_size: int | None = None,
             new_rows: torch.Tensor | None = None, seed: int = 0,
             lora: LoRAOptions | None = None) -> tuple[nn.Module, ParameterCount]:
    """A copy of ``source`` ready for a new task: embedding grown, head replaced, frozen by ``mode``."""
    if not isinstance(source.embedding, nn.Embedding):  # gru+ngrams: per-class n-gram scores in its embedding
        raise ValueError(f"a {type(source).__name__} cannot be a transfer source: its embedding holds scores for "
                         "its own labels; start from a model whose embedding is word vectors only")
    model = copy.deepcopy(source)
    model.config = copy.deepcopy(source.config)
    if vocab_size is not None:
        resize_embedding(model, vocab_size, new_rows, seed)
    replace_head(model, n_classes, seed)
    model.config.freeze_embeddings = False
    return model, set_trainable(model, mode, k, lora, seed)
