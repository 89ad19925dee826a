"""Speed variants: correctness only (logit tolerances, agreement, order), never timings."""

import json
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf import devices
from textclf.bundle import load_bundle
from textclf.inference import length_batches, run_batched
from textclf.speed import hardware
from textclf.speed.backends import with_backend
from textclf.speed.bench import bench, table
from textclf.speed.quantize import dequantize, quantize_tensor
from textclf.speed.timing import compare

# The CPU backends (int8, ONNX Runtime) are what these tests check: every bundle is loaded on the CPU.

TEXTS = ["a wonderful, moving film", "a dull, boring mess", "great acting", "hated it", "superb and moving",
         "terrible and boring", "loved it, wonderful", "awful acting and a boring story, really awful"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=64))
def test_int8_by_hand_is_within_half_a_step(values):
    weight = torch.tensor(values)
    q, scale, zero_point = quantize_tensor(weight)
    assert q.dtype == torch.int8
    assert (dequantize(q, scale, zero_point) - weight).abs().max() <= scale / 2 + 1e-5


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 30), min_size=1, max_size=60), batch=st.integers(1, 16))
def test_the_inference_seam_restores_input_order(lengths, batch):
    sequences = [torch.full((n,), i % 50 + 1) for i, n in enumerate(lengths)]  # row i's ids say i

    def forward(ids, mask):  # each row's first id and its length
        return torch.stack([ids[:, 0].float(), mask.sum(dim=1).float()], dim=1)
    out = run_batched(forward, sequences, pad_index=0, batch_size=batch)
    assert out[:, 0].tolist() == [float(i % 50 + 1) for i in range(len(lengths))]
    assert out[:, 1].tolist() == [float(n) for n in lengths]
    batches = length_batches(lengths, batch)
    assert all(max(lengths[i] for i in b) >= min(lengths[i] for i in b) for b in batches)


def test_compare_runs_variants_in_alternating_rounds():
    calls = []
    timings = compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b"] * 4 and len(timings["a"].seconds) == 3 and timings["b"].median >= 0


@pytest.mark.parametrize("name", ["cnn", "transformer", "gru+ngrams"])
def test_int8_bundle_agrees_with_fp32(tiny_bundles, name):
    directory, _ = tiny_bundles(name)
    fp32, int8 = load_bundle(directory, "cpu"), with_backend(load_bundle(directory, "cpu"), quantize="int8")
    a, b = fp32.logits(TEXTS), int8.logits(TEXTS)
    assert (a.argmax(1) == b.argmax(1)).float().mean() >= 0.85
    assert (a - b).abs().max() < 0.2


@pytest.mark.parametrize("name", ["nbow", "cnn", "transformer", "gru+ngrams"])
def test_onnxruntime_backend_matches_pytorch(tiny_bundles, name):
    directory, _ = tiny_bundles(name)
    fp32, onnx = load_bundle(directory, "cpu"), with_backend(load_bundle(directory, "cpu"), backend="onnxruntime")
    texts = TEXTS + ["x"]  # lengths 1 to 10: dynamic batch and length
    assert (fp32.logits(texts) - onnx.logits(texts)).abs().max() <= 1e-4
    int8 = with_backend(load_bundle(directory, "cpu"), backend="onnxruntime", quantize="int8")
    assert (fp32.logits(texts).argmax(1) == int8.logits(texts).argmax(1)).float().mean() >= 0.85


def test_rnn_bundles_run_in_onnxruntime_from_the_command_line(tiny_bundles):
    """The RNNs export unpacked (they used to be refused): ``predict --backend onnxruntime`` agrees with torch."""
    directory, _ = tiny_bundles("gru+ngrams")
    command = [sys.executable, "-m", "textclf", "predict", str(directory), "fine film", "--digits", "8"]
    outputs = [subprocess.run(command + backend, capture_output=True, text=True, timeout=300)
               for backend in ([], ["--backend", "onnxruntime"])]
    assert all(r.returncode == 0 for r in outputs), outputs[1].stderr
    torch_p, onnx_p = (json.loads(r.stdout)["probabilities"] for r in outputs)
    assert onnx_p == pytest.approx(torch_p, abs=1e-5)


def test_bench_rows_on_a_small_bundle(tiny_bundles):
    directory, _ = tiny_bundles("cnn")
    bundle = load_bundle(directory, "cpu")
    labels = ["positive" if i % 2 == 0 else "negative" for i in range(len(TEXTS))]
    rows = bench(bundle, TEXTS, labels, variants=["fp32", "fp32 unsorted", "int8", "onnxruntime", "ipex"],
                 rounds=2, latency_texts=4, log=lambda line: None)
    by_name = {r.name: r for r in rows}
    assert by_name["fp32"].delta == 0 and by_name["fp32"].agreement == 1.0
    assert by_name["fp32 unsorted"].accuracy == by_name["fp32"].accuracy  # same predictions, other batches
    assert by_name["onnxruntime"].agreement == 1.0 and by_name["int8"].texts_per_s > 0
    assert by_name["ipex"].texts_per_s is None and by_name["ipex"].note  # cannot run here: says why
    assert "| fp32 |" in table(rows)


def test_ipex_is_never_imported_beside_another_torch(monkeypatch):
    monkeypatch.setattr(hardware.metadata, "version", lambda name: "2.8.0")
    monkeypatch.setattr(hardware.torch, "__version__", "2.13.0+cpu")
    imported = []
    monkeypatch.setattr(hardware.importlib, "import_module", lambda name: imported.append(name))
    usable, why = hardware.ipex_status()
    assert not usable and "needs torch 2.8" in why and imported == []


def test_bf16_is_detected_from_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2", "avx512f"})
    assert not devices.bf16_supported()  # AVX-512 alone has no bf16 arithmetic
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert devices.bf16_supported()


@pytest.mark.skipif(not hardware.ipex_status()[0], reason="IPEX runs only beside torch 2.8: benchmarks/ipex/run.sh "
                    "builds that environment and runs this test there")
def test_ipex_variant_agrees_with_fp32(tiny_bundles):
    directory, _ = tiny_bundles("cnn")
    rows = bench(load_bundle(directory, "cpu"), TEXTS, None, variants=["fp32", "ipex"], rounds=1, log=lambda line: None)
    ipex_row = rows[1]
    assert ipex_row.texts_per_s is not None and ipex_row.agreement == 1.0


def test_textclf_bench_and_quantized_evaluate_on_the_command_line(tiny_bundles):
    directory, _ = tiny_bundles("cnn")
    command = [sys.executable, "-m", "textclf", "bench", str(directory), "--dataset", "rotten_tomatoes",
               "--limit", "40", "--rounds", "1", "--variants", "fp32", "int8", "onnxruntime", "--profile"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| int8 |" in result.stdout and "| onnxruntime |" in result.stdout and "Self CPU" in result.stdout
    evaluated = subprocess.run([sys.executable, "-m", "textclf", "evaluate", str(directory), "--dataset",
                                "rotten_tomatoes", "--quantize", "int8"], capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0 and "torch int8 vs fp32 PyTorch: accuracy" in evaluated.stdout
    bad = subprocess.run([sys.executable, "-m", "textclf", "bench", str(directory), "--dataset", "rotten_tomatoes",
                          "--variants", "turbo"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown variant(s) ['turbo']" in bad.stderr


# ---- int8 per channel, the head in fp32, the layers chosen on validation --------------------------------------


class TwoLayers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.hidden, self.out = torch.nn.Linear(16, 8), torch.nn.Linear(8, 2)
        with torch.no_grad():  # rows of very different sizes: what one scale per tensor handles badly
            self.hidden.weight.mul_(torch.logspace(-3, 0, 8)[:, None])

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def test_per_channel_int8_matches_the_by_hand_reference_and_keeps_the_head():
    from textclf.speed.quantize import int8_dynamic, quantize_per_channel

    model = TwoLayers()
    quantized = int8_dynamic(model)
    assert isinstance(quantized.out, torch.nn.Linear) and type(quantized.out) is torch.nn.Linear  # the head: fp32
    packed = quantized.hidden.weight()  # the quantized weight torch stores
    q, scale = quantize_per_channel(model.hidden.weight.detach())
    assert torch.allclose(packed.q_per_channel_scales().float(), scale, rtol=1e-6)
    assert torch.equal(packed.int_repr(), q) and torch.all(packed.q_per_channel_zero_points() == 0)
    by_hand = q.float() * scale[:, None]  # dequantized: within half a step of each row's own scale
    assert torch.all((by_hand - model.hidden.weight).abs() <= scale[:, None] / 2 + 1e-7)
    per_tensor, t_scale, zero = quantize_tensor(model.hidden.weight.detach())
    small_row = 0  # the smallest row keeps its shape per channel; per tensor it is nearly all zero point
    assert (by_hand[small_row] - model.hidden.weight[small_row]).abs().max() < \
        (dequantize(per_tensor, t_scale, zero)[small_row] - model.hidden.weight[small_row]).abs().max() / 10
    every = int8_dynamic(model, keep=[], per_channel=False)
    assert type(every.out) is not torch.nn.Linear
    with pytest.raises(ValueError, match="no Linear layer 'nope'.*hidden, out"):
        int8_dynamic(model, keep=["nope"])


def int8_linear_by_hand(x: torch.Tensor, layer: torch.nn.Linear, levels: int) -> torch.Tensor:
    """The reference: activations asymmetric per tensor on ``0..levels``, weights per channel, integer matmul."""
    from textclf.speed.quantize import quantize_per_channel

    q, w_scale = quantize_per_channel(layer.weight.detach())
    low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    x_scale = (high - low) / levels
    zero = round(-low / x_scale)
    qx = torch.clamp(torch.round(x / x_scale) + zero, 0, levels)
    return ((qx - zero) @ q.float().T) * x_scale * w_scale + layer.bias.detach()


@pytest.mark.parametrize("bits", [7, 8])
def test_int8_activations_match_the_by_hand_reference(bits):
    from textclf.speed.quantize import int8_dynamic, int8_full_range

    if bits == 8 and not int8_full_range():
        pytest.skip("this CPU's int8 kernel is not exact with 8-bit activations (no VNNI)")
    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(96, 40))
    x = torch.randn(16, 96) * 2
    x[:, 3] += 15  # an outlier feature, as transformers have: it sets the activations' scale
    quantized = int8_dynamic(layer, keep=[], bits=bits)
    by_hand = int8_linear_by_hand(x, layer[0], 2 ** bits - 1)
    assert torch.allclose(quantized(x), by_hand, atol=1e-4)
    other = int8_linear_by_hand(x, layer[0], 2 ** (15 - bits) - 1)  # the other width: a different result
    assert not torch.allclose(quantized(x), other, atol=1e-2)


def test_8_bit_activations_halve_the_error_where_the_cpu_allows_them():
    from textclf.speed.hardware import int8_dot_product
    from textclf.speed.quantize import activation_bits, int8_dynamic, int8_full_range

    if int8_dot_product():  # VNNI or AMX: products add up in int32, so the probe must find 8 bits exact
        assert int8_full_range() and activation_bits() == 8
    if not int8_full_range():
        with pytest.raises(ValueError, match="activation bits 8"):
            int8_dynamic(TwoLayers(), bits=8)
        return
    torch.manual_seed(1)
    layer = torch.nn.Sequential(torch.nn.Linear(256, 256))
    x = torch.randn(64, 256)
    exact = layer(x).detach()
    errors = {bits: float((int8_dynamic(layer, keep=[], bits=bits)(x) - exact).norm() / exact.norm())
              for bits in (7, 8)}
    assert errors[8] < 0.7 * errors[7]  # half the activation step; the weights' rounding is the same
    assert type(int8_dynamic(layer, keep=[])[0]).__name__ == "FullRangeLinear"
    attention_out = torch.nn.Sequential(torch.nn.MultiheadAttention(8, 2).out_proj)  # a subclass of Linear
    assert type(int8_dynamic(attention_out, keep=[])[0]).__name__ == "FullRangeLinear"
    with pytest.raises(ValueError, match="activation bits 6"):
        int8_dynamic(layer, bits=6)


def test_textclf_quantize_chooses_on_validation_and_predict_uses_it(tiny_bundles, tmp_path):
    import shutil

    from textclf.bundle import save_bundle
    from textclf.data import DataError
    from textclf.speed.int8_choice import FILE, choose_int8, kept_layers

    directory, _ = tiny_bundles("transformer")
    copy = tmp_path / "b"
    shutil.copytree(directory, copy)
    from conftest import make_tiny_dataset

    tiny = make_tiny_dataset()
    data = tmp_path / "tiny.csv"
    data.write_text("text,label,split\n" + "".join(f'"{ex.text}",{ex.label},{split}\n' for split in
                                                  ("train", "valid", "test") for ex in tiny.split(split)))
    run = subprocess.run([sys.executable, "-m", "textclf", "quantize", str(copy), "--budget", "0", "--dataset",
                          str(data)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    choice = json.loads((copy / FILE).read_text())
    assert choice["keep"][0] == "out" and choice["split"] == "valid" and choice["budget"] == 0
    bundle = load_bundle(copy, "cpu")
    assert len(choice["costs"]) == len([m for m in bundle.model.modules() if isinstance(m, torch.nn.Linear)])
    # a budget of 0: int8 as accurate as fp32 on validation, or every layer back in fp32
    assert choice["int8_accuracy"] >= choice["fp32_accuracy"] or len(choice["keep"]) == len(choice["costs"])
    assert kept_layers(bundle) == choice["keep"]
    again = choose_int8(bundle, tiny.valid, budget=0, log=lambda s: None)
    assert again.keep == choice["keep"]  # measured on the validation split: the same choice
    predicted = subprocess.run([sys.executable, "-m", "textclf", "predict", str(copy), "a fine film", "--quantize",
                                "int8"], capture_output=True, text=True, timeout=600)
    assert predicted.returncode == 0, predicted.stderr
    assert "activations" not in predicted.stderr  # measured here: nothing to say
    from textclf.speed.quantize import activation_bits

    other = dict(choice, activation_bits=15 - activation_bits())  # as if measured on the other kind of CPU
    (copy / FILE).write_text(json.dumps(other))
    with pytest.warns(UserWarning, match=f"measured with {15 - activation_bits()}-bit activations.*runs int8 "
                                         f"with {activation_bits()}"):
        assert kept_layers(bundle) == choice["keep"]  # still used: the warning says what was not measured
    with torch.no_grad():
        next(bundle.model.parameters()).add_(0.01)  # other weights than the ones measured
    with pytest.raises(DataError, match="int8.json: was measured on other weights"):
        kept_layers(bundle)
    save_bundle(bundle, copy)  # a rewritten bundle drops the old choice
    assert not (copy / FILE).exists()
