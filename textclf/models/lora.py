"""Low-rank adapters (Hu et al. 2021, LoRA): fine-tune a big layer by learning a small change to it.

A pretrained ``nn.Linear`` computes ``W x + b``. LoRA freezes ``W`` and ``b`` and learns ``ΔW = (α/r) B A``
with ``A`` ``[r, in]`` and ``B`` ``[out, r]`` for a small rank ``r``: ``r (in + out)`` numbers instead of
``in · out``. ``B`` starts at zero, so training starts exactly at the pretrained model; ``A`` starts small and
random (as in the paper and peft: Kaiming-uniform), so the first gradients of ``B`` are not all zero. ``α/r``
keeps the size of the change comparable when ``r`` changes.

``add_lora`` wraps chosen Linear layers of a model (by attribute name: a model's ``lora_targets`` by
default) and freezes everything else but the head; ``merge_lora`` folds each ``(α/r) B A`` into its ``W``,
after which the model is an ordinary one again (export, serve, int8, explain unchanged).

What LoRA trained is small: ``adapter_tensors`` (each wrapped layer's A and B, the head). An adapter-only
bundle ships just those with ``weights_fingerprint(base_state(model))``, the identity of the frozen weights
they were trained beside; ``apply_adapters`` folds them into those weights again with the same formula
(``merged_weight``) as ``merge_lora``, so both give the same model, bit for bit.
"""

from __future__ import annotations

import hashlib
import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) · B A dropout(x)``, with ``base`` frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.base, self.rank, self.alpha = base, rank, alpha
        base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device))  # [r, in]
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device))  # [out, r]
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # small and random; B = 0: no change at the start
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        change = self.dropout(x) @ self.lora_A.T @ self.lora_B.T  # [..., in] -> [..., r] -> [..., out]
        return self.base(x) + self.scale * change

    def merged(self) -> nn.Linear:
        """An ordinary ``nn.Linear`` with ``W + (alpha / rank) · B A``: the same outputs, no adapter."""
        layer = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        layer = layer.to(self.base.weight.device, self.base.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(merged_weight(self.base.weight, self.lora_A, self.lora_B, self.scale))
            if self.base.bias is not None:
                layer.bias.copy_(self.base.bias)
        return layer


def merged_weight(weight: torch.Tensor, lora_A: torch.Tensor, lora_B: torch.Tensor, scale: float) -> torch.Tensor:
    """``W + scale · B A``: ``[out, in]`` (the one formula: merging and loading an adapter-only bundle)."""
    return weight + scale * (lora_B @ lora_A).to(weight)  # [out, r] @ [r, in] -> [out, in]


def linear_names(model: nn.Module) -> list[str]:
    """The attribute names of the model's Linear layers below its head (``query``, ``value``, ``qkv``, ...)."""
    return sorted({child_name for _, _, child_name, _ in linear_children(model)})


def linear_children(model: nn.Module) -> list[tuple[nn.Module, str, str, nn.Linear]]:
    """Every Linear layer below the head as ``(parent, full name, attribute name, layer)``."""
    return [(module, f"{name}.{child_name}" if name else child_name, child_name, child)
            for name, module in model.named_modules() for child_name, child in module.named_children()
            if isinstance(child, nn.Linear) and child is not model.out]


def add_lora(model: nn.Module, targets: tuple[str, ...] | list[str], rank: int = 8, alpha: float = 16.0,
             dropout: float = 0.0, seed: int = 0) -> list[str]:
    """Wrap every Linear layer whose attribute name is in ``targets`` in a ``LoRALinear``, in place, and
    freeze every other parameter but the head (``model.out``); returns the wrapped layers' full names.
    Seeded: the same ``A`` matrices on every run."""
    if rank < 1:
        raise ValueError(f"a LoRA rank is a whole number of at least 1, not {rank}")
    if not alpha > 0:
        raise ValueError(f"LoRA's alpha is a positive number, not {alpha}")
    available = linear_names(model)
    unknown = [t for t in targets if t not in available]
    if not targets or unknown:
        problem = f"no such layer {unknown[0]!r}" if unknown else "none given"
        raise ValueError(f"LoRA targets {list(targets)}: {problem}; this {type(model).__name__}'s Linear layers "
                         f"are: {', '.join(available) or 'none'}")
    chosen = [found for found in linear_children(model) if found[2] in targets]
    for _, full_name, _, child in chosen:  # every check before anything changes
        if rank > min(child.in_features, child.out_features):
            raise ValueError(f"LoRA rank {rank} is larger than {full_name}'s smaller side "
                             f"({min(child.in_features, child.out_features)}); a low rank is smaller")
    torch.manual_seed(seed)
    for p in model.parameters():
        p.requires_grad_(False)
    for module, _, child_name, child in chosen:
        setattr(module, child_name, LoRALinear(child, rank, alpha, dropout))
    wrapped = [full_name for _, full_name, _, _ in chosen]
    model.out.requires_grad_(True)
    return wrapped


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every ``LoRALinear`` by its merged ``nn.Linear``, in place; the model is an ordinary one after."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                setattr(module, child_name, child.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    return model


# ---- what ships: the adapters apart from the base weights ---------------------------------------------------


def adapter_tensors(model: nn.Module, base_rows: int | None = None) -> dict[str, torch.Tensor]:
    """What ``add_lora`` left trainable, by name (``layers.0.query.lora_A``, ..., ``out.weight``), copied to the
    CPU; ``base_rows``: the base model's vocabulary size, when the embedding grew (a transfer's new words: their
    frozen rows are not in the base, so they ship too, as ``embedding.added_rows``)."""
    tensors = {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}
    rows = model.embedding.weight
    if base_rows is not None and rows.shape[0] > base_rows:
        tensors["embedding.added_rows"] = rows.detach()[base_rows:].cpu().clone()  # [n_new, dim]
    return tensors


def base_state(model: nn.Module, base_rows: int | None = None) -> dict[str, torch.Tensor]:
    """The frozen weights below the head, named as in the plain model (a ``LoRALinear``'s ``base.weight`` is
    its layer's ``weight``), the embedding cut to its first ``base_rows`` rows (the base's vocabulary)."""
    wrapped = lora_layers(model)
    embedding = embedding_key(model)
    state = {}
    for name, tensor in model.state_dict().items():
        if name.startswith("out.") or name.endswith((".lora_A", ".lora_B")):
            continue
        for layer in wrapped:
            if name.startswith(f"{layer}.base."):
                name = f"{layer}.{name[len(layer) + 6:]}"
        state[name] = tensor[:base_rows] if name == embedding and base_rows is not None else tensor
    return state


def lora_layers(model: nn.Module) -> list[str]:
    """The full names of the model's ``LoRALinear`` layers (``layers.0.attention.query``, ...)."""
    return [name for name, module in model.named_modules() if isinstance(module, LoRALinear)]


def embedding_key(model: nn.Module) -> str:
    """The state-dict name of the model's word vectors (``embedding.weight``)."""
    return next(name for name, p in model.named_parameters() if p is model.embedding.weight)


def weights_fingerprint(state: dict[str, torch.Tensor]) -> str:
    """A sha256 of every tensor's name, dtype, shape and bytes, in name order: equal only for the same weights."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{list(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def apply_adapters(base: dict[str, torch.Tensor], adapters: dict[str, torch.Tensor], layers: list[str],
                   scale: float, embedding: str) -> dict[str, torch.Tensor]:
    """The merged model's whole state from the base weights (``base_state``'s names) and ``adapter_tensors``:
    each layer's ``W + scale · B A`` (``merged_weight``, as ``merge_lora``), the new words' rows appended, the
    head as trained."""
    state = dict(base)
    for layer in layers:
        state[f"{layer}.weight"] = merged_weight(base[f"{layer}.weight"], adapters[f"{layer}.lora_A"],
                                                 adapters[f"{layer}.lora_B"], scale)
    if "embedding.added_rows" in adapters:
        state[embedding] = torch.cat([base[embedding], adapters["embedding.added_rows"].to(base[embedding])])
    state.update({name: tensor for name, tensor in adapters.items() if name.startswith("out.")})
    return state
