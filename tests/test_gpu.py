"""On a CUDA GPU: train, predict, evaluate, serve and export there; bundles cross between the GPU and the CPU;
NCCL under torchrun with one process; mixed precision matches fp32. Skipped, with the reason, without a GPU."""

import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest
import torch
from test_distributed import dataset, train_args  # noqa: F401 (a fixture: the 128 short reviews)

from textclf.api import TextClassifier
from textclf.bundle import load_bundle
from textclf.serving import make_server
from textclf.speed.backends import with_backend

pytestmark = pytest.mark.cuda
TEXTS = ["a great and moving film", "a dull, boring plot", "superb", "awful film"]


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def gpu_bundle(dataset, tmp_path_factory):  # noqa: F811
    """A bundle trained on the GPU in bf16 by the command line (``train_args`` pins the CPU; the last flag wins)."""
    out = tmp_path_factory.mktemp("gpu") / "model"
    result = run(*train_args(dataset, out, batch_size=8), "--device", "cuda", "--precision", "bf16")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "device cuda" in result.stdout and "bf16" in result.stdout
    return out


def test_a_gpu_trained_bundle_records_bf16_and_predicts_on_both_devices(gpu_bundle):
    on_gpu = load_bundle(gpu_bundle)  # auto: the GPU
    assert on_gpu.device.type == "cuda" and on_gpu.trained_precision == "bf16"
    on_cpu = load_bundle(gpu_bundle, "cpu")
    assert on_cpu.device.type == "cpu"
    assert torch.allclose(on_gpu.logits(TEXTS), on_cpu.logits(TEXTS), atol=5e-3)  # cuDNN: TF32 convolutions


def test_a_cpu_trained_bundle_runs_on_the_gpu(tiny_bundles):
    directory = tiny_bundles("cnn")[0]
    cpu, gpu = load_bundle(directory, "cpu"), load_bundle(directory, "cuda")
    assert torch.allclose(cpu.logits(TEXTS), gpu.logits(TEXTS), atol=5e-3)  # cuDNN: TF32 convolutions
    bf16 = load_bundle(directory, "cuda", "auto")
    assert bf16.precision == "bf16"  # every GPU this runs on in CI is Ampere or later
    assert (bf16.logits(TEXTS).argmax(1) == cpu.logits(TEXTS).argmax(1)).float().mean() >= 0.75


def test_the_commands_run_on_the_gpu(gpu_bundle, dataset, tmp_path):  # noqa: F811
    result = run("predict", str(gpu_bundle), *TEXTS, "--device", "cuda", "--precision", "auto")
    assert result.returncode == 0, result.stderr
    assert "device cuda" in result.stderr and "precision bf16 (auto:" in result.stderr
    assert len(result.stdout.strip().splitlines()) == len(TEXTS)
    result = run("evaluate", str(gpu_bundle), "--dataset", str(dataset), "--device", "cuda")
    assert result.returncode == 0, result.stderr
    result = run("bench", str(gpu_bundle), "--dataset", str(dataset), "--rounds", "1", "--device", "cuda")
    assert result.returncode == 0, result.stderr
    assert "CPU only (the bundle is on cuda" in result.stdout  # int8, ONNX Runtime say why instead of a number
    result = run("predict", str(gpu_bundle), "x", "--device", "cuda", "--quantize", "int8")
    assert result.returncode == 2 and "runs on the CPU only" in result.stderr
    result = run("export", str(gpu_bundle), "--dataset", str(dataset), "--out", str(tmp_path / "m.onnx"))
    assert result.returncode == 0 or "onnx" in result.stderr.lower(), result.stderr
    result = run("explain", str(gpu_bundle), TEXTS[0], "--device", "cuda")
    assert result.returncode == 0, result.stderr


def test_serve_on_the_gpu_with_micro_batching(gpu_bundle):
    bundle = load_bundle(gpu_bundle, "cuda")
    srv = make_server(bundle, port=0, quiet=True, batching=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        host, port = srv.server_address[:2]
        request = urllib.request.Request(f"http://{host}:{port}/predict", json.dumps({"texts": TEXTS}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert len(answer["predictions"]) == len(TEXTS)
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_facade_keeps_the_gpu_it_trained_on(tmp_path):
    texts = ["great film", "loved it", "superb acting", "moving story", "dull film", "hated it", "boring plot",
             "awful acting"] * 4
    labels = ["pos"] * 4 + ["neg"] * 4
    clf = TextClassifier("cnn", device="cuda", precision="bf16").finetune(texts, labels * 4, epochs=2)
    assert clf.bundle.device.type == "cuda" and clf.bundle.precision == "bf16"
    clf.save(tmp_path / "clf")
    again = TextClassifier.load(tmp_path / "clf")
    assert again.bundle.device.type == "cuda"
    assert set(again("great film")) == {"pos", "neg"}


def test_torchrun_one_process_joins_nccl(dataset, tmp_path):  # noqa: F811
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", "-m", "textclf",
               *train_args(dataset, tmp_path / "one", batch_size=8), "--device", "cuda"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backend nccl, device cuda:0" in result.stdout


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_the_gpu_matches_fp32(precision):
    from test_training import CONFIG, TRAIN, VALID, new_model

    from textclf.inference import evaluate
    from textclf.training import TrainConfig, fit

    scores = {}
    for name in ("fp32", precision):
        model = new_model("cnn")
        config = TrainConfig(**{**CONFIG.__dict__, "device": "cuda", "precision": name})
        history = fit(model, TRAIN, VALID, config, log=lambda s: None)
        assert history.precision == name and next(model.parameters()).is_cuda
        scores[name] = evaluate(model, VALID).accuracy
    assert scores[precision] >= scores["fp32"] - 0.05, scores


def test_with_backend_on_the_gpu_refuses(gpu_bundle):
    with pytest.raises(ValueError, match="runs on the CPU only"):
        with_backend(load_bundle(gpu_bundle, "cuda"), backend="onnxruntime")


@pytest.mark.parametrize("family", ["gru+ngrams", "transformer"])
def test_every_explanation_method_runs_on_the_gpu(tiny_bundles, family):
    """Lesson 12's methods and the faithfulness comparison on a bundle on the GPU agree with the CPU's."""
    from textclf.explain import METHODS, compare, explain

    directory = tiny_bundles(family)[0]
    cpu, gpu = load_bundle(directory, "cpu"), load_bundle(directory, "cuda")
    for method in METHODS:
        if method in ("attention", "rollout") and family != "transformer":
            continue
        options = {"samples": 10} if method in ("shapley", "lime", "kernelshap") else {}
        on_gpu = explain(gpu, TEXTS, method=method, **options)
        on_cpu = explain(cpu, TEXTS, method=method, **options)
        for a, b in zip(on_gpu, on_cpu):  # cuDNN's TF32 and another order of sums: close, not equal
            assert a.tokens == b.tokens and torch.allclose(torch.tensor(a.scores), torch.tensor(b.scores), atol=2e-2)
    result = compare(gpu, TEXTS, methods=["ig", "occlusion"])
    assert result.row("ig").faithfulness.deletion.shape == (len(TEXTS), 11)


def test_distillation_on_the_gpu_matches_the_cpus_teacher_logits(gpu_bundle, tmp_path):
    """The teacher labels on the GPU (its logits cached, within bf16 of the CPU's); the student trains there."""
    out = tmp_path / "student"
    result = run("distill", "--teacher", str(gpu_bundle), "--student", "nbow", "--out", str(out), "--device", "cuda",
                 "--epochs", "2", "--quiet", "--no-baseline", "--copies", "1", "--embeddings", "random",
                 "--min-freq", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    from safetensors.torch import load_file

    cached = load_file(str(out / "teacher_logits.safetensors"))["logits"]
    teacher = load_bundle(gpu_bundle, "cpu")
    texts = [ex.text for ex in teacher.recorded_dataset("test").train]
    assert torch.allclose(cached[: len(texts)], teacher.logits(texts), atol=0.1)
    student = load_bundle(out, "cuda")
    assert student.metrics["distillation"]["distillation_set"]["augmented"] > 0 and student.device.type == "cuda"
