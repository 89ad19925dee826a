# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Lesson 9 — Ship it: a bundle, portable graphs, a model card, a server, a page
#
# A model on your disk helps nobody else. This lesson takes one trained model
# all the way out:
#
# 1. the **bundle** — the folder `textclf train` writes — reloaded in a *fresh*
#    Python process, predicting exactly what it predicted before;
# 2. **portable graphs**: ONNX (any ONNX runtime, any language) and
#    `torch.export` (`.pt2`), each checked against the PyTorch model before it
#    is kept — and why the recurrent models need a different forward for it;
# 3. the **model card** (`README.md` in the bundle): what the model is for,
#    what data and license it comes from, how it scores beside a linear
#    baseline, where it fails;
# 4. **serving**: `textclf serve` — JSON over HTTP, bad requests answered with
#    clear 4xx errors, the Nagle pitfall measured — and calling it;
# 5. the **demo page** in a real (headless) browser, with a screenshot.
#
# Exercises: `lessons/exercises/ex09_ship_it.py` (9.1 a request validator, 9.2
# a parity check between two backends, 9.3 the model card's evaluation table).
# Grade with `textclf check 9`.

# %%
import copy
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import urlopen

import torch

from textclf.batching import Collator
from textclf.bundle import load_bundle, save_bundle
from textclf.data import load_dataset
from textclf.figures import BLUE, new_figure, show
from textclf.graphs.run import OnnxForward, program_forward
from textclf.graphs.write import FORMATS, export_bundle, exportable, max_logit_difference
from textclf.lesson_utils import smoke_mode, versions
from textclf.pipeline import default_job, train_job
from textclf.serving import Limits, make_server
from textclf.serving.server import Handler
from textclf.speed.timing import compare

print(versions())
SMOKE = smoke_mode("09")
FIGURES = "figures/09_ship_it"  # where the figures (and the page's screenshot) go when run as a script
WORK = Path(tempfile.mkdtemp(prefix="textclf-lesson09-"))

# %% [markdown]
# ## 1. The bundle, and a fresh process
#
# We train the default model (`gru+ngrams`: a bi-GRU beside a linear n-gram
# model) exactly as `textclf train` does — in small mode on a subsample for
# one epoch. `train_job` returns the `Bundle` in memory; `save_bundle` writes its folder all-or-nothing.

# %%
ds = load_dataset("rotten_tomatoes")
job = default_job()
if SMOKE:
    ds = ds.subsample(300, seed=0)
    job.train.epochs = 1
bundle_dir = WORK / "model"
trained = train_job(ds, job, log=lambda line: None)
save_bundle(trained, bundle_dir)
metrics = trained.metrics
print(f"test accuracy {metrics['test_accuracy']:.4f}; linear baseline {metrics['baseline']['accuracy']:.4f}")
for path in sorted(bundle_dir.iterdir()):
    print(f"  {path.name:<18} {path.stat().st_size / 1e3:>9.1f} kB")

# %% [markdown]
# `model.safetensors` holds only tensors (no pickled code: loading it cannot
# run anything), `config.json` what to build and how to tokenize, `vocab.json`
# the vocabulary. `load_bundle` checks each before trusting it (a bad or
# damaged file is a clear error naming the file and the key).
#
# The real test of "export, reload, predict" is a process that shares nothing
# with this one: no model object in memory, no cached tokenizer. We start one
# with `textclf predict` and compare its probabilities with ours (it prints 6
# decimals unless asked for more: `--digits 12`).

# %%
reviews = ["a gripping, beautifully acted film", "a dull, lifeless mess", "not bad at all",
           "the plot makes no sense, but the actors are wonderful"]
bundle = load_bundle(bundle_dir, "cpu")  # on the CPU: what we ship below (graphs, int8) is traced and run there
here = bundle.predict(reviews)
fresh = subprocess.run([sys.executable, "-m", "textclf", "predict", str(bundle_dir), *reviews, "--device", "cpu",
                        "--digits", "12"], capture_output=True, text=True, check=True)
there = [json.loads(line)["probabilities"] for line in fresh.stdout.splitlines()]
for text, a, b in zip(reviews, here, there):
    print(f"{text[:45]:<46} this process {a['positive']:.6f}  fresh process {b['positive']:.6f}")
assert all(abs(a[k] - b[k]) < 1e-6 for a, b in zip(here, there) for k in a)

# %% [markdown]
# ## 2. Portable graphs: ONNX and `torch.export`
#
# A bundle needs textclf (and PyTorch) to run. A *graph* needs neither
# textclf's model classes nor Python: the computation itself, written down.
#
# - **ONNX** is the interchange format: ONNX Runtime (C++, C#, Java, JS, ...),
#   TensorRT, OpenVINO read it. `torch.onnx.export` traces the forward.
# - **`torch.export`** is PyTorch's own: a `.pt2` file holding an
#   `ExportedProgram` (the graph of ATen operators plus the weights), the
#   input to `torch.compile`'s AOT path, ExecuTorch on phones, and more.
# - **TorchScript** (`torch.jit.trace`/`script`) was the old way; it is
#   deprecated in PyTorch 2.x in favour of `torch.export`. textclf does not
#   offer it.
#
# Both graphs take `ids [batch, seq_len]` and `mask [batch, seq_len]` and
# return logits, with batch and length left *dynamic* (any batch, any length).
#
# **The recurrent models need care.** Lesson 2 fed the RNN a *packed*
# sequence, whose shape depends on the lengths — no graph can hold that. The
# export runs the RNN unpacked: the forward direction reads every padded row
# and we pick its state at each text's last real token; the backward direction
# reads each text *reversed within its length* (padding stays at the end).
# Same numbers, no packing:

# %%
model = bundle.model
batch = Collator(bundle.vocab.pad_index)([(row, 0) for row in bundle.dataset(ds.test[:8]).ids])  # padded
unpacked = exportable(model)  # a copy with the unpacked RNN
with torch.inference_mode():
    print("packed vs unpacked, max |logit difference|:",
          f"{max_logit_difference(model(batch.ids, batch.mask), unpacked(batch.ids, batch.mask)):.2e}")
print("lengths of that batch:", batch.mask.sum(1).tolist(), "(one graph for all of them)")

# %% [markdown]
# `torch.export` goes one step further and unrolls `nn.GRU` over the time
# steps, which would fix the length (pytorch/pytorch#115092). So for `.pt2`
# the GRU cell is written out — the equations of lesson 2 — and stepped with
# `scan`, a loop the exported graph keeps. `export_bundle` exports, then runs
# the graph and the PyTorch model on the whole test split and refuses to keep
# a file whose logits differ by more than 1e-4.

# %%
test_texts = [ex.text for ex in ds.test]
exports = {}
for fmt in FORMATS:
    start = time.perf_counter()
    exports[fmt] = export_bundle(bundle, fmt, test_texts)
    print(f"{fmt:<13} {exports[fmt].path.name}: {exports[fmt].path.stat().st_size / 1e6:.1f} MB, "
          f"max |logit difference| {exports[fmt].max_difference:.1e} on {exports[fmt].texts} test texts "
          f"({time.perf_counter() - start:.1f} s)")

# %% [markdown]
# And the proof that the graphs stand alone: a fresh process that loads
# `model.onnx` with ONNX Runtime and `model.pt2` with `torch.export.load`,
# using only the vocabulary file to turn text into ids — textclf's model
# classes are never imported.

# %%
FRESH = """
import json, sys
import torch
from textclf.batching import encode_text
from textclf.text import Vocab, make_tokenizer
folder, texts = sys.argv[1], json.loads(sys.argv[2])
config = json.load(open(f"{folder}/config.json"))
vocab = Vocab.load(f"{folder}/vocab.json")
tokenizer = make_tokenizer(config["tokenizer"], vocab)
rows = [encode_text(t, vocab, tokenizer, config["max_len"]) for t in texts]
ids = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=vocab.pad_index)
mask = ids != vocab.pad_index
import onnxruntime
session = onnxruntime.InferenceSession(f"{folder}/model.onnx", providers=["CPUExecutionProvider"])
onnx = session.run(["logits"], {"ids": ids.numpy(), "mask": mask.numpy()})[0]
pt2 = torch.export.load(f"{folder}/model.pt2").module()(ids, mask).detach()
assert "textclf.models" not in sys.modules
print(json.dumps({"onnx": onnx.tolist(), "pt2": pt2.tolist()}))
"""
answer = subprocess.run([sys.executable, "-c", FRESH, str(bundle_dir), json.dumps(reviews)], capture_output=True,
                        text=True, check=True)
graphs = json.loads(answer.stdout)
reference = bundle.logits(reviews)
for fmt in ("onnx", "pt2"):
    print(f"{fmt}: fresh process vs bundle, max |logit difference| "
          f"{max_logit_difference(reference, torch.tensor(graphs[fmt])):.1e}")

# %% [markdown]
# What does each cost at prediction time? The same inference seam runs all
# three (`Bundle.forward` takes any `(ids, mask) -> logits`), so we can time
# them on the test split. The `.pt2` graph steps the GRU in a Python-free
# but unfused loop; it is the portable one, not the fast one.

# %%
variants = {"PyTorch (bundle)": None,
            "ONNX Runtime": OnnxForward.of(exports["onnx"].path, bundle.model),
            "torch.export (.pt2)": program_forward(exports["torch-export"].path, bundle.vocab.pad_index)}
runners = {}
for name, forward in variants.items():
    runners[name] = copy.copy(bundle)
    runners[name].forward = forward
# Fair timing (lesson 8): a warm-up call each, then alternating rounds; the median round counts.
rounds = compare({name: (lambda r=runner: r.logits(test_texts)) for name, runner in runners.items()}, rounds=3)
timing = {name: len(test_texts) / t.median for name, t in rounds.items()}
for name, speed in timing.items():
    print(f"{name:<20} {speed:>8,.0f} texts/s  (median of 3 rounds, spread {rounds[name].spread:.0%})")
fig, ax = new_figure(size=(6, 2.6))
ax.barh(list(timing), list(timing.values()), color=BLUE)
ax.set_xlabel(f"texts per second ({len(test_texts):,} test texts, median of 3 alternating rounds)")
ax.set_title("One model, three runtimes")
show(fig, "runtimes", FIGURES)

# %% [markdown]
# ## 3. The model card
#
# Every bundle carries `README.md`, following the Hugging Face model card
# conventions: a YAML block the Hub reads (`library_name`, `license`,
# `datasets`, a `model-index` with the test metrics), then for people — the
# data and its license, the recipe, the test metrics *beside the linear
# baseline trained on the same splits*, intended use, limitations, versions.
# Nothing in it is typed by hand (Exercise 9.3 writes its evaluation table).

# %%
card = (bundle_dir / "README.md").read_text()
print("\n".join(card.splitlines()[:17]))
print("...")
start = card.index("## Evaluation")
print(card[start: card.index("## Intended use")])

# %% [markdown]
# ## 4. Serving: `textclf serve`
#
# `textclf serve DIR` puts the bundle behind HTTP on 127.0.0.1:8000 (this
# machine only, until you say `--host`):
#
# | route | body | answer |
# |---|---|---|
# | `POST /predict` | `{"texts": [...]}` | labels and probabilities |
# | `POST /explain` | `{"texts": [...]}` | + tokens and integrated-gradients scores (lesson 5) |
# | `GET /healthz` | | `{"status": "ok", ...}` |
# | `GET /` | | the demo page |
#
# **Which stack?** FastAPI + uvicorn is what most Python services use: typed
# request models, OpenAPI docs, async. Here the API is four JSON routes and
# the time goes into the model, not HTTP parsing, so textclf uses Python's
# own `http.server` (`ThreadingHTTPServer`): no extra install, and every line
# readable in `textclf/serving/server.py`. The same handler in FastAPI would
# be `@app.post("/predict") def predict(body: Texts): return service.predict(
# body.texts)` with a pydantic `Texts` model — the checks of Exercise 9.1
# become type annotations. The model is loaded once, before the first
# request; threads serve connections and one lock guards the model.
#
# We start the server in this process (port 0: any free port) and call it.

# %%
server = make_server(bundle, port=0, limits=Limits(max_texts=16), quiet=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
host, port = server.server_address[:2]
print(f"serving on http://{host}:{port}/")


def post(path: str, body: bytes | dict, connection: http.client.HTTPConnection | None = None):
    conn = connection or http.client.HTTPConnection(host, port, timeout=60)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, data, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


status, answer = post("/predict", {"texts": reviews[:2]})
print(status, json.dumps(answer))
status, answer = post("/explain", {"texts": [reviews[3]]})
explained = answer["explanations"][0]
print(status, explained["label"], " ".join(f"{t}({s:+.2f})" for t, s in zip(explained["tokens"],
                                                                             explained["scores"])))

# %% [markdown]
# Bad requests get a status that says whose fault it is (4xx: the client's)
# and a JSON message naming the field — never a Python traceback:

# %%
for body in [b"{not json", b'{"texts": []}', b'{"texts": ["fine", 3]}', json.dumps({"texts": ["a"] * 17}).encode(),
             b'{"text": ["typo in the key"]}']:
    status, answer = post("/predict", body)
    print(f"{body[:32]!s:<36} -> {status} {answer['error']['message']}")

# %% [markdown]
# ### The 40 ms trap
#
# With keep-alive (one connection, many requests) `http.server` writes the
# headers and the body in two `send` calls. Nagle's algorithm holds the second
# small packet until the first is acknowledged, and the client's TCP delays
# that ACK by up to 40 ms (Linux): every request waits. Setting
# `disable_nagle_algorithm = True` (TCP_NODELAY) on the handler removes it.
# Measured here with and without:

# %%


def requests_per_second(nagle_off: bool, n: int = 20 if SMOKE else 100) -> float:
    srv = make_server(bundle, port=0, quiet=True)
    srv.RequestHandlerClass.disable_nagle_algorithm = nagle_off  # this server's own handler class
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=60)
    body = json.dumps({"texts": [reviews[0]]}).encode()
    start = time.perf_counter()
    for _ in range(n):
        conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
    seconds = time.perf_counter() - start
    srv.shutdown()
    srv.server_close()
    return n / seconds


assert Handler.disable_nagle_algorithm  # textclf's handler sets it
for nagle_off in (False, True):
    rate = requests_per_second(nagle_off)
    print(f"disable_nagle_algorithm={nagle_off!s:<5}: {rate:>6.0f} requests/s ({1000 / rate:.1f} ms each)")

# %% [markdown]
# ### Many clients, fewer model calls
#
# Eight clients each sending one review would cost eight model calls with a
# batch of one. The server keeps a *micro-batcher* in front of the model
# (`textclf/serving/batcher.py`): requests that arrive while the model is busy
# wait in a queue, and the next call takes all of them as one batch. It never
# waits for requests to arrive, so a lone request is answered at once.

# %%


def eight_clients(srv, each: int = 10 if SMOKE else 40) -> float:
    def client():
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=60)
        for k in range(each):
            body = json.dumps({"texts": [test_texts[k]]})
            conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
            conn.getresponse().read()

    threads = [threading.Thread(target=client) for _ in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


seconds = eight_clients(server)
health = json.loads(urlopen(f"http://{host}:{port}/healthz").read())
print(f"{health['requests']} requests so far, {health['model_calls']} model calls; the last 8 x "
      f"{10 if SMOKE else 40} took {seconds:.2f} s")

# %% [markdown]
# `benchmarks/serve.py` is the load test: 8 clients for 20 s against the fp32
# and int8 backends, with and without batching, and FastAPI + uvicorn serving
# the same code — requests/s and p50/p95/p99 latency (docs/shipping.md quotes it).
#
# ## 5. The page, in a real browser
#
# `GET /` is one self-contained HTML page (its style and script inline; it
# loads nothing from elsewhere, and the server's Content-Security-Policy
# forbids it to). Type a review, press *Classify*: it posts to `/explain`
# and shows the probabilities and the words coloured by their attribution.
# We drive it with headless Chromium (the system browser, through Playwright)
# and keep a screenshot; `tests/test_browser.py` does the same and reads the
# label and the highlighted words back.

# %%
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None
if chromium is None or sync_playwright is None:
    print("no headless browser here (apt-get install chromium; pip install playwright): open "
          f"http://{host}:{port}/ yourself while this notebook runs")
else:
    def visit_demo_page() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 820, "height": 560})
            page.goto(f"http://{host}:{port}/")
            page.fill("#text", reviews[3])
            page.click("#classify")
            page.wait_for_selector("#result:not([hidden])", timeout=60_000)
            print("the page says:", page.text_content("#label"), "|",
                  " ".join(page.eval_on_selector_all("#words .word", "spans => spans.map(s => s.textContent)")))
            Path(FIGURES).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{FIGURES}/demo_page.png", full_page=True)
            print(f"[figure] {FIGURES}/demo_page.png")
            browser.close()

    # In a notebook this thread already runs an asyncio loop (the kernel's), which Playwright's sync API
    # refuses; a thread of its own has none, so the same code runs as a script and in a notebook.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(visit_demo_page).result()
server.shutdown()
server.server_close()

# %% [markdown]
# ## What we shipped
#
# - a bundle that reloads anywhere textclf is installed (`load_bundle`,
#   `textclf predict`), and checks itself while loading;
# - `model.onnx` and `model.pt2` (`textclf export DIR --format onnx|torch-export`),
#   each proven equal to the PyTorch model on the test split and in a fresh
#   process;
# - a model card that says what the model is good for and what it is not;
# - `textclf serve DIR`: JSON over HTTP with clear errors, and a page to try it.
#
# Next: lesson 10 trains on several processes, lesson 11 asks whether the
# probabilities we now serve can be trusted.

# %%
shutil.rmtree(WORK, ignore_errors=True)
