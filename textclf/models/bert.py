"""A BERT-style encoder (MiniLM-L6: 6 layers, width 384, 12 heads) that reads real pretrained weights.

    ids ─> word vectors + position vectors + token-type vectors ─> LayerNorm ─> 6 x layer ─> mean pool ─> head

A layer is post-norm, as in BERT: self-attention (``softmax(q kᵀ / √d) v`` as lesson 6 writes it out
in ``textclf.models.attention``; here through PyTorch's fused ``F.scaled_dot_product_attention``,
tested equal), a dense layer, residual + LayerNorm; then a GELU feed-forward, residual + LayerNorm.
The module names follow BERT's closely enough that ``hf_to_textclf`` maps every
pretrained weight name onto ours with a few rules, and ``load_pretrained``
checks that every tensor arrives with the right shape.

As for every textclf model, ``embedding`` holds the word vectors and
``classify(embedded, mask)`` does the rest — so integrated gradients, the
fine-tuning modes and bundles work unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from textclf.config import check_float, check_int, fail
from textclf.errors import DataError
from textclf.files import read_json, require_exists
from textclf.models.attention import scaled_dot_product_attention, split_heads
from textclf.models.base import MAX_WIDTH, ClassifierConfig, ClassifierNet, mean_pool, mean_pool_readout


@dataclass
class BertConfig(ClassifierConfig):
    vocab_size: int = 30522
    n_classes: int = 2
    embed_dim: int = 384          # BERT's hidden_size
    dropout: float = 0.1          # hidden_dropout_prob
    num_layers: int = 6
    n_heads: int = 12
    ff_dim: int = 1536            # intermediate_size
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    attention_dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "num_layers", 1, 64)
        check_int(self, "n_heads", 1, 256)
        if self.embed_dim % self.n_heads:
            fail(self, "embed_dim", f"a multiple of n_heads ({self.n_heads})")
        check_int(self, "ff_dim", 1, 4 * MAX_WIDTH)
        check_int(self, "max_positions", 1, 65_536)
        check_int(self, "type_vocab_size", 1, 64)
        check_float(self, "layer_norm_eps", 0.0, 1.0, low_open=True)
        check_float(self, "attention_dropout", 0.0, 1.0, high_open=True)

    @classmethod
    def from_json(cls, path: str | Path, n_classes: int = 2) -> BertConfig:
        """Read a Hugging Face ``config.json`` of a BERT model."""
        data = read_json(path, "a BERT config.json")
        if data.get("model_type", "bert") != "bert" or data.get("hidden_act", "gelu") != "gelu":
            raise DataError(path, None, "expected a BERT config with hidden_act gelu")
        fields = {"vocab_size": "vocab_size", "embed_dim": "hidden_size", "dropout": "hidden_dropout_prob",
                  "num_layers": "num_hidden_layers", "n_heads": "num_attention_heads", "ff_dim": "intermediate_size",
                  "max_positions": "max_position_embeddings", "type_vocab_size": "type_vocab_size",
                  "layer_norm_eps": "layer_norm_eps", "attention_dropout": "attention_probs_dropout_prob"}
        missing = [key for key in fields.values() if key not in data]
        if missing:
            raise DataError(path, None, f"no {', '.join(missing)}; expected a BERT config.json")
        return cls(n_classes=n_classes, pad_index=data.get("pad_token_id", 0),
                   **{ours: data[theirs] for ours, theirs in fields.items()})


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        d, eps = config.embed_dim, config.layer_norm_eps
        self.n_heads = config.n_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out, self.attn_norm = nn.Linear(d, d), nn.LayerNorm(d, eps=eps)
        self.ff_in, self.ff_out, self.ff_norm = nn.Linear(d, config.ff_dim), nn.Linear(config.ff_dim, d), \
            nn.LayerNorm(d, eps=eps)
        self.attention_dropout, self.dropout = nn.Dropout(config.attention_dropout), nn.Dropout(config.dropout)

    def attention_weights(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The weights the fused kernel applies, written out (lesson 6's formula): ``[batch, heads, seq, seq]``."""
        q, k = (split_heads(f(x), self.n_heads) for f in (self.query, self.key))  # [batch, heads, seq, hd]
        return scaled_dot_product_attention(q, k, k, mask)[1]  # the values do not change the weights

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[batch, seq_len, hidden]`` -> the same shape."""
        q, k, v = (split_heads(f(x), self.n_heads) for f in (self.query, self.key, self.value))  # [b, heads, seq, hd]
        # the same softmax(q kᵀ / √d) v as textclf.models.attention writes out (lesson 6), through PyTorch's fused
        # kernel: no [seq, seq] weights kept for the backward pass, one call instead of five
        p = self.attention_dropout.p if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :],
                                                             dropout_p=p)  # [batch, heads, seq, hd]
        context = context.transpose(1, 2).reshape(x.shape)  # [batch, seq_len, hidden]
        x = self.attn_norm(x + self.dropout(self.attn_out(context)))
        return self.ff_norm(x + self.dropout(self.ff_out(nn.functional.gelu(self.ff_in(x)))))


class BertClassifier(ClassifierNet):
    def __init__(self, config: BertConfig, pretrained: torch.Tensor | None = None):
        super().__init__(config, pretrained)
        d = config.embed_dim
        self.positions = nn.Embedding(config.max_positions, d)
        self.token_types = nn.Embedding(config.type_vocab_size, d)
        self.embed_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(config.num_layers))
        self.out = nn.Linear(d, config.n_classes)

    def encode(self, embedded: torch.Tensor, mask: torch.Tensor, maps: list | None = None) -> torch.Tensor:
        """Word vectors ``[batch, seq_len, hidden]`` -> contextual vectors, the same shape (``maps``: a list to
        which each layer's attention weights ``[batch, heads, seq, seq]`` are appended)."""
        seq_len = embedded.shape[1]
        if seq_len > self.config.max_positions:
            raise ValueError(f"{seq_len} tokens, but the model has {self.config.max_positions} positions")
        positions = torch.arange(seq_len, device=embedded.device)
        x = embedded + self.positions(positions) + self.token_types.weight[0]  # one segment: type 0
        x = self.dropout(self.embed_norm(x))  # [batch, seq_len, hidden]
        for layer in self.layers:
            if maps is not None:
                maps.append(layer.attention_weights(x, mask))
            x = layer(x, mask)
        return x

    has_attention = True  # attention_maps gives maps (ClassifierNet's contract)
    lora_targets = ("query", "value")  # LoRA's default: the attention's query and value projections

    @torch.no_grad()
    def attention_maps(self, embedded: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each layer's attention weights ``[batch, heads, seq, seq]`` and how the mean pooling reads the
        positions ``[batch, seq]`` (explanations by attention, lesson 12)."""
        maps: list[torch.Tensor] = []
        self.encode(embedded, mask, maps)
        return maps, mean_pool_readout(mask)

    def sentence_embedding(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled contextual vectors ``[batch, hidden]`` (what sentence-transformers computes)."""
        return mean_pool(self.encode(self.embedding(ids), mask), mask)

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(mean_pool(self.encode(embedded, mask), mask)))  # [batch, n_classes]

    def stages(self) -> list[list[nn.Parameter]]:
        """Input to output: word vectors; positions, token types and their LayerNorm; each layer."""
        inputs = [*self.positions.parameters(), *self.token_types.parameters(), *self.embed_norm.parameters()]
        return [list(self.embedding.parameters()), inputs, *(list(layer.parameters()) for layer in self.layers)]


NAME_RULES = [  # (BERT name pattern, our name); the first match wins
    (r"embeddings\.word_embeddings\.", "embedding."),
    (r"embeddings\.position_embeddings\.", "positions."),
    (r"embeddings\.token_type_embeddings\.", "token_types."),
    (r"embeddings\.LayerNorm\.", "embed_norm."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.", r"layers.\1.\2."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"layers.\1.attn_out."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"layers.\1.attn_norm."),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.", r"layers.\1.ff_in."),
    (r"encoder\.layer\.(\d+)\.output\.dense\.", r"layers.\1.ff_out."),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"layers.\1.ff_norm."),
]


def hf_to_textclf(name: str) -> str | None:
    """A pretrained BERT weight's name -> ours (None for what we do not use: the pooler, position ids)."""
    name = re.sub(r"^bert\.", "", name)
    name = re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", name))  # names in old checkpoints
    for pattern, ours in NAME_RULES:
        prefix = re.match(pattern, name)
        if prefix:
            return prefix.expand(ours) + name[prefix.end():]
    return None


def load_pretrained(model: BertClassifier, path: str | Path) -> list[str]:
    """Copy the weights of a BERT ``model.safetensors`` into ``model`` (all but the head); returns the
    names that were not used. Every encoder weight must be there, with the right shape."""
    path = require_exists(path)
    try:
        weights = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for a damaged file
        raise DataError(path, None, f"cannot read safetensors ({str(err).splitlines()[0]})") from None
    ours, unused, loaded = model.state_dict(), [], set()
    for name, tensor in weights.items():
        target = hf_to_textclf(name)
        if target is None or target not in ours:
            unused.append(name)
            continue
        if tuple(tensor.shape) != tuple(ours[target].shape):
            raise DataError(path, None, f"{name} has shape {tuple(tensor.shape)}; expected {tuple(ours[target].shape)}"
                                        f" for {target}")
        ours[target] = tensor
        loaded.add(target)
    missing = [k for k in ours if k not in loaded and not k.startswith("out.")]
    if missing:
        raise DataError(path, None, f"no weights for {', '.join(missing[:5])}; expected a BERT checkpoint")
    model.load_state_dict(ours)
    return unused
