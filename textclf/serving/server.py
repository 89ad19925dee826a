"""The HTTP server of ``textclf serve DIR``: Python's standard library, one model, many threads.

Why the standard library and not FastAPI + uvicorn (what most services use)? The API is four routes of
JSON, the time goes into the model (milliseconds) rather than into HTTP parsing, and a learner can read
every line here without an extra install; ``benchmarks/serve.py`` measures what it sustains. Two details
make ``http.server`` fit for this: ``protocol_version = "HTTP/1.1"`` (keep-alive: one connection per
client, not one per request), and ``disable_nagle_algorithm = True`` — without it, a response written
in two pieces (headers, then body) waits for the client's delayed ACK, ~40 ms per request on Linux.

    GET  /          the demo page (self-contained: no remote scripts, fonts or styles)
    GET  /healthz   {"status": "ok", "model": ..., "labels": [...]}
    POST /predict   {"texts": [...]} -> {"predictions": [{"label", "probabilities"}, ...]}
    POST /explain   {"texts": [...]} -> {"explanations": [{"label", "probabilities", "tokens", "scores"}]}

Requests are served on threads (``ThreadingHTTPServer``); the model is loaded once and every call into
it holds one lock, so concurrent requests never interleave inside it (PyTorch already uses every core
for one batch). ``/predict`` requests that arrive while the model is busy are run together as one batch
(``batcher.py``; ``--no-batching`` turns it off). Errors are JSON with a 4xx status (``requests.py``);
a bug is a 500 JSON answer, logged with its traceback on the server, never shown to the client.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from textclf.serving.batcher import MicroBatcher
from textclf.serving.page import page
from textclf.serving.requests import Limits, RequestError, parse_texts


class Service:
    """The loaded bundle and what the routes do with it (no HTTP here: tests and the lesson call it directly)."""

    def __init__(self, bundle, limits: Limits | None = None, batching: bool = True):
        self.bundle, self.limits = bundle, limits or Limits()
        self.lock = threading.Lock()
        self.started = time.time()
        self.requests = 0
        self.batcher = MicroBatcher(self.probabilities, max(64, self.limits.max_texts)) if batching else None
        self.counter = threading.Lock()

    def count_request(self) -> None:
        with self.counter:
            self.requests += 1

    def probabilities(self, texts: list[str]) -> list[dict[str, float]]:
        with self.lock:
            return self.bundle.predict(texts)  # the bundle's temperature applied

    def health(self) -> dict:
        return {"status": "ok", "model": self.bundle.model_name, "labels": list(self.bundle.labels),
                "temperature": self.bundle.temperature, "uptime_s": round(time.time() - self.started, 1),
                "requests": self.requests, "model_calls": self.batcher.batches if self.batcher else None}

    def close(self) -> None:
        if self.batcher:
            self.batcher.close()

    def predict(self, texts: list[str]) -> dict:
        probabilities = self.batcher.submit(texts) if self.batcher else self.probabilities(texts)
        return {"predictions": [{"label": max(p, key=p.get), "probabilities": p} for p in probabilities]}

    def explain(self, texts: list[str]) -> dict:
        from textclf.explain import explain

        with self.lock:
            probabilities = self.bundle.predict(texts)
            explained = explain(self.bundle, texts, steps=self.limits.explain_steps)
        return {"explanations": [
            {"label": e.predicted, "probabilities": p, "tokens": e.tokens,
             "scores": [round(s, 6) for s in e.scores], "known": e.known, "delta": round(e.delta, 6)}
            for e, p in zip(explained, probabilities)]}


# Bodies read as JSON: application/json, and what curl -d and hand-written clients send without thinking.
JSON_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded", "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # else ~40 ms per request (Nagle + delayed ACK)
    server_version = "textclf"
    timeout = 60  # seconds a connection may sit idle (or half-sent) before its thread lets it go
    service: Service  # set by make_server on a subclass
    quiet = False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, an unknown method, headers too long) as JSON
        too, instead of its HTML page."""
        self.close_connection = True
        try:
            self.refuse(RequestError(code, message or self.responses.get(code, ("error",))[0]))
        except OSError:  # the client is gone
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/":
            document = page(self.service.bundle, self.service.limits.max_chars)
            self.send(200, document.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/healthz":
            self.send_json(200, self.service.health())
        elif path in ("/predict", "/explain"):
            self.refuse(RequestError(405, f"{path} takes POST with {{\"texts\": [...]}}"), {"Allow": "POST"})
        else:
            self.refuse(RequestError(404, f"no such page {path!r}; try /, /healthz, /predict, /explain"))

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        routes = {"/predict": (self.service.predict, None),
                  "/explain": (self.service.explain, self.service.limits.max_explain_texts)}
        try:
            if path not in routes:
                raise RequestError(404 if path not in ("/", "/healthz") else 405, f"no POST route {path!r}; "
                                   "expected /predict or /explain")
            run, max_texts = routes[path]
            texts = parse_texts(self.read_body(), self.service.limits, max_texts)
            self.service.count_request()
            self.send_json(200, run(texts))
        except RequestError as err:
            self.refuse(err)
        except (ConnectionError, TimeoutError):  # the client went away: Server.handle_error logs one line
            raise
        except Exception:  # a bug: the client gets a JSON 500, the traceback goes to the server's log
            traceback.print_exc(file=sys.stderr)
            self.refuse(RequestError(500, "internal error; see the server's log"))

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise RequestError(411, "chunked bodies are not accepted; send Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:  # RFC 9112: a request with several must be refused (request smuggling)
            self.close_connection = True
            raise RequestError(400, f"{len(lengths)} Content-Length headers; expected exactly one")
        length = lengths[0] if lengths else None
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise RequestError(411, "no valid Content-Length header; expected the body's size in bytes")
        size = int(length)
        if size > self.service.limits.max_body_bytes:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise RequestError(413, f"the body is {size:,} bytes; expected at most "
                               f"{self.service.limits.max_body_bytes:,}")
        kind = self.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()
        body = self.rfile.read(size)
        if kind not in JSON_TYPES:
            raise RequestError(415, f"Content-Type {kind!r}; expected application/json")
        return body

    def refuse(self, err: RequestError, headers: dict | None = None) -> None:
        """The JSON error answer (its status and message)."""
        self.send_json(err.status, err.body(), headers)

    def send_json(self, status: int, data: dict, headers: dict | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
        self.send(status, body, "application/json", headers)

    def send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if kind.startswith("text/html"):  # the page loads nothing from elsewhere, and says so
            self.send_header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                             "style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for idle keep-alive connections
    request_queue_size = 128

    def server_close(self) -> None:
        super().server_close()
        self.RequestHandlerClass.service.close()

    def handle_error(self, request, client_address) -> None:
        """A client that reset, or left a request half-sent, is one line in the log; anything else (a bug)
        keeps its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            if not self.RequestHandlerClass.quiet:
                sys.stderr.write(f"{client_address[0]} dropped the connection ({type(error).__name__})\n")
            return
        super().handle_error(request, client_address)


def make_server(bundle, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None,
                quiet: bool = False, batching: bool = True) -> Server:
    """An HTTP server for ``bundle`` (loaded once, by the caller), not yet serving: call ``serve_forever()``.
    ``port=0`` picks a free port (``server.server_address[1]``)."""
    service = Service(bundle, limits, batching)
    handler = type("BundleHandler", (Handler,), {"service": service, "quiet": quiet})
    return Server((host, port), handler)
