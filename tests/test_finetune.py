"""Transfer: head swap, vocabulary growth, freezing by mode (bit-for-bit), discriminative rates, the CLI."""

import subprocess
import sys

import pytest
import torch

from textclf.bundle import load_bundle
from textclf.data import Example, TextDataset
from textclf.finetune import (
    encoder_stages,
    extend_vocab,
    parameter_groups,
    resize_embedding,
    set_trainable,
    transfer,
)
from textclf.models import build_model
from textclf.pipeline import JobConfig, train_job
from textclf.text import Vocab
from textclf.training import TrainConfig

TOPICS = {"sport": ["the team won the match", "a late goal in the final", "the coach praised the players"],
          "tech": ["a new phone and its chip", "the software update crashed", "faster chips for laptops"],
          "politics": ["the minister and the vote", "parliament passed the bill", "an election campaign"]}


def topic_dataset():
    def examples(n):
        return [Example(t, label) for label, texts in TOPICS.items() for t in texts * n]
    return TextDataset("topics", list(TOPICS), examples(4), examples(1), examples(1))


def small_transformer(**options):
    torch.manual_seed(0)
    model, _ = build_model("transformer", vocab_size=30, n_classes=5, embed_dim=6, model_dim=8, n_heads=2,
                           ff_dim=16, num_layers=3, **options)
    return model


def test_replace_head_and_resize_embedding():
    source = small_transformer()
    model, count = transfer(source, 2, "full", vocab_size=34, new_rows=torch.ones(4, 6))
    assert model.out.out_features == 2 and model.config.n_classes == 2 and source.out.out_features == 5
    assert model.embedding.weight.shape == (34, 6) and model.config.vocab_size == 34
    assert torch.equal(model.embedding.weight[:30], source.embedding.weight)
    assert torch.equal(model.embedding.weight[30:], torch.ones(4, 6))
    assert count.trainable == count.total
    with pytest.raises(ValueError, match="cannot shrink"):
        resize_embedding(model, 10)
    with pytest.raises(ValueError, match="expected \\(2, 6\\)"):
        resize_embedding(model, 36, torch.ones(3, 6))


@pytest.mark.parametrize("mode,k,learning", [("head", 1, 0), ("last-k", 1, 1), ("last-k", 2, 2), ("full", 1, 6)])
def test_set_trainable_by_mode(mode, k, learning):
    model = small_transformer()
    stages = encoder_stages(model)
    assert len(stages) == 6  # embedding, input projection 6 -> 8, 3 blocks, final norm
    count = set_trainable(model, mode, k)
    trainable = [all(p.requires_grad for p in stage) for stage in stages]
    assert trainable == [False] * (6 - learning) + [True] * learning
    assert all(p.requires_grad for p in model.out.parameters())
    expected = sum(p.numel() for p in model.out.parameters()) + sum(p.numel() for s in stages[6 - learning:] for p in s)
    assert count.trainable == expected and count.total == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="expected one of: head, last-k, lora, full"):
        set_trainable(model, "some")


def test_classic_models_have_two_stages():
    torch.manual_seed(0)
    model, _ = build_model("lstm", vocab_size=30, n_classes=2, embed_dim=8, hidden_dim=4)
    embedding, rest = encoder_stages(model)
    assert embedding == [model.embedding.weight] and {id(p) for p in rest} == {id(p) for p in model.rnn.parameters()}


def test_discriminative_learning_rates():
    model = small_transformer()
    set_trainable(model, "last-k", 2)
    groups = parameter_groups(model, 1e-3, decay=0.5)
    assert [g["lr"] for g in groups] == [1e-3, 5e-4, 2.5e-4]  # head, final norm, last block
    assert groups[1]["params"] == list(model.final_norm.parameters())
    assert len(parameter_groups(model, 1e-3)) == 1


def test_extend_vocab_keeps_old_ids():
    old = Vocab.build([["a", "b", "b"]], min_freq=1)
    new = extend_vocab(old, [["b", "c", "c", "d"]], min_freq=2)
    assert new.itos[: len(old)] == old.itos and new.itos[len(old):] == ["c"]


@pytest.fixture(scope="module")
def pretrained(tiny_bundles):
    return tiny_bundles("transformer")[0]


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("mode", ["head", "last-k", "full"])
def test_finetune_changes_exactly_what_the_mode_allows(pretrained, tmp_path, mode):
    """Sentiment -> topics. In head mode no encoder weight moves by a single bit."""
    source = load_bundle(pretrained)
    job = JobConfig(model="transformer", embeddings="random", min_freq=1, init_from=str(pretrained), finetune=mode,
                    train=TrainConfig(epochs=3, batch_size=4, lr=0.01, progress=False))
    tuned = train_job(topic_dataset(), job, tmp_path / mode, log=lambda s: None)
    metrics = tuned.metrics
    assert tuned.labels == list(TOPICS) and tuned.model_name == "transformer"
    assert tuned.vocab.itos[: len(source.vocab)] == source.vocab.itos and len(tuned.vocab) > len(source.vocab)
    before, after = weights(source.model), weights(tuned.model)
    n_old = len(source.vocab)
    unchanged = {k: torch.equal(before[k][:n_old] if k == "embedding.weight" else before[k], after[k][:n_old]
                                if k == "embedding.weight" else after[k]) for k in before if not k.startswith("out.")}
    last_block = f"blocks.{source.model.config.num_layers - 1}."
    if mode == "head":
        assert all(unchanged.values()), [k for k, same in unchanged.items() if not same]
    elif mode == "last-k":  # k = 1: the final norm only learns
        assert not unchanged["final_norm.weight"] and all(same for k, same in unchanged.items()
                                                          if not k.startswith("final_norm."))
        assert all(unchanged[k] for k in unchanged if k.startswith(last_block))
    else:
        assert not unchanged["embedding.weight"] and not unchanged[last_block + "attention.qkv.weight"]
    assert metrics["trainable_parameters"] < metrics["total_parameters"] or mode == "full"
    assert metrics["transfer"]["finetune"] == mode


def run(*args):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_init_from(pretrained, tmp_path):
    data = tmp_path / "topics.csv"
    rows = ["text,label"] + [f"{t},{label}" for label, texts in TOPICS.items() for t in texts * 6]
    data.write_text("\n".join(rows) + "\n")
    result = run("train", "--dataset", data, "--init-from", pretrained, "--finetune", "last-k", "--last-k", "2",
                 "--layer-lr-decay", "0.5", "--embeddings", "random", "--epochs", "2", "--min-freq", "1",
                 "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "fine-tuning: last-k (k=2)" in result.stdout and "trainable of" in result.stdout
    assert load_bundle(tmp_path / "out").labels == sorted(TOPICS)
    missing = run("train", "--init-from", tmp_path / "nope", "--out", tmp_path / "x")
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
