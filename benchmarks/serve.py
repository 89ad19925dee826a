"""Load test of ``textclf serve``: concurrent keep-alive clients on loopback, requests/s and latency.

    python benchmarks/serve.py [--bundle DIR] [--clients 8] [--seconds 20] [--texts-per-request 1]
                               [--variants fp32 int8 fastapi]

Each variant is a server in its own process, loaded once, then hit by ``--clients`` threads, each with
one keep-alive connection posting ``{"texts": [...]}`` (reviews from the test split, in turn) to
``/predict`` as fast as it answers, for ``--seconds``. Reported: requests/s, latency p50/p95/p99 (ms),
and errors (any status but 200, or a failed connection: the target is zero).

- ``fp32``: ``textclf serve DIR`` (standard-library HTTP server, PyTorch fp32);
- ``int8``: ``textclf serve DIR --quantize int8`` (dynamic int8 Linear layers);
- ``fp32-unbatched``: ``textclf serve DIR --no-batching`` (each request its own model call);
- ``fastapi``: the peer — the same ``Service`` (micro-batching included) behind FastAPI + uvicorn (one
  worker; a sync endpoint in uvicorn's thread pool), with FastAPI's idiomatic pydantic validation: what
  most Python services run.
  Needs ``pip install -e ".[bench]"`` (fastapi, uvicorn; else the row says so).

Without ``--bundle`` the default model is trained first (``textclf train``, ~40 s). The clients and the
server share the machine's cores: on a 2-core laptop the figures are what one box does for itself.
"""


import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(variant: str, bundle: Path, port: int) -> subprocess.Popen:
    if variant == "fastapi":
        command = [sys.executable, __file__, "--fastapi-server", str(bundle), "--port", str(port)]
    else:
        command = [sys.executable, "-m", "textclf", "serve", str(bundle), "--port", str(port), "--quiet",
                   "--max-texts", "1000", *(["--quantize", "int8"] if variant == "int8" else []),
                   *(["--no-batching"] if variant == "fp32-unbatched" else [])]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{variant} server exited: {process.stderr.read()[-2000:]}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{variant} server did not answer /healthz in 120 s")


def load(port: int, texts: list[str], clients: int, seconds: float, per_request: int) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = k * 97
        while time.perf_counter() < stop:
            chosen = [texts[(i + j) % len(texts)] for j in range(per_request)]
            i += per_request
            body = json.dumps({"texts": chosen}).encode()
            start = time.perf_counter()
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                ok = response.status == 200 and len(json.loads(payload)["predictions"]) == per_request
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies[k].append(time.perf_counter() - start)
            errors[k] += not ok

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for row in latencies for x in row)
    q = statistics.quantiles(every, n=100, method="inclusive") if len(every) > 1 else every * 99
    return {"requests": len(every), "rps": len(every) / elapsed, "p50": 1000 * q[49], "p95": 1000 * q[94],
            "p99": 1000 * q[98], "errors": sum(errors)}


def fastapi_server(bundle_dir: str, port: int) -> None:
    """The peer: textclf's Service behind FastAPI + uvicorn."""
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    from textclf.bundle import load_bundle
    from textclf.serving import Limits, Service

    service = Service(load_bundle(bundle_dir), Limits(max_texts=1000))
    app = FastAPI()

    class Texts(BaseModel):
        texts: list[str] = Field(min_length=1, max_length=1000)

    @app.get("/healthz")
    def health() -> dict:
        return service.health()

    @app.post("/predict")
    def predict(body: Texts) -> dict:  # sync: uvicorn runs it in its thread pool
        return service.predict(body.texts)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, help="a bundle folder (default: train the default model)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=["fp32", "fp32-unbatched", "int8", "fastapi"],
                        choices=["fp32", "fp32-unbatched", "int8", "fastapi"])
    parser.add_argument("--fastapi-server", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fastapi_server:
        fastapi_server(args.fastapi_server, args.port)
        return 0

    from textclf.data import load_dataset

    bundle = args.bundle
    if bundle is None:
        bundle = Path(tempfile.mkdtemp(prefix="textclf-serve-bench-")) / "model"
        print(f"training the default model into {bundle} ...", flush=True)
        subprocess.run([sys.executable, "-m", "textclf", "train", "--quiet", "--out", str(bundle)], check=True,
                       stdout=subprocess.DEVNULL)
    config = json.loads((bundle / "config.json").read_text())
    texts = [ex.text for ex in load_dataset("rotten_tomatoes").test]
    import torch

    print(f"{bundle} ({config['model']}); {args.clients} clients x {args.seconds:.0f} s, {args.texts_per_request} "
          f"text(s) per request, keep-alive, loopback; torch {torch.__version__}, {os.cpu_count()} CPUs\n")
    rows = []
    for variant in args.variants:
        if variant == "fastapi":
            try:
                import fastapi  # noqa: F401
                import uvicorn  # noqa: F401
            except ImportError:
                rows.append((variant, None))
                continue
        port = free_port()
        process = start(variant, bundle, port)
        try:
            load(port, texts, args.clients, 2.0, args.texts_per_request)  # warm-up
            rows.append((variant, load(port, texts, args.clients, args.seconds, args.texts_per_request)))
        finally:
            process.terminate()
            process.wait(timeout=30)
    names = {"fp32": "textclf serve (stdlib), fp32", "int8": "textclf serve (stdlib), int8",
             "fp32-unbatched": "textclf serve (stdlib), fp32, --no-batching",
             "fastapi": "peer: FastAPI + uvicorn, fp32"}
    print("| server | requests | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for variant, r in rows:
        if r is None:
            print(f"| {names[variant]} | not run: pip install -e '.[bench]' (fastapi, uvicorn) | | | | | |")
            continue
        print(f"| {names[variant]} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['p99']:.1f} | {r['errors']} |")
    return 1 if any(r and r["errors"] for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
