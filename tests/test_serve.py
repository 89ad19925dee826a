"""``textclf serve``: the routes, every kind of bad request (4xx JSON, never a traceback), concurrency,
the bundle's temperature, and the command line."""

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import NEG, POS, ctrl_c_reaches_the_child

from textclf.bundle import load_bundle
from textclf.config import ConfigError
from textclf.serving import Limits, RequestError, make_server, parse_texts


@pytest.fixture(scope="module")
def server(tiny_bundles):
    bundle = load_bundle(tiny_bundles("cnn")[0])
    srv = make_server(bundle, port=0, limits=Limits(max_texts=8, max_chars=200, max_body_bytes=4096,
                                                    max_explain_texts=2, explain_steps=20), quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(server, method, path, body=None, headers=None, connection=None):
    conn = connection or http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    kind = response.getheader("Content-Type")
    return response.status, (json.loads(payload) if kind == "application/json" else payload.decode()), response


def test_health_predict_explain_and_the_page(server):
    bundle = server.RequestHandlerClass.service.bundle
    status, health, _ = call(server, "GET", "/healthz")
    assert status == 200 and health["status"] == "ok" and health["labels"] == ["negative", "positive"]
    texts = [POS[0], NEG[0], "x"]
    status, answer, _ = call(server, "POST", "/predict", {"texts": texts})
    assert status == 200
    for got, expected in zip(answer["predictions"], bundle.predict(texts)):
        assert got["probabilities"] == pytest.approx(expected, abs=1e-6)
        assert got["label"] == max(expected, key=expected.get)
    status, answer, _ = call(server, "POST", "/explain", {"texts": [POS[1]]})
    explained = answer["explanations"][0]
    assert status == 200 and explained["tokens"] == bundle.tokens(POS[1])
    assert len(explained["scores"]) == len(explained["tokens"]) and explained["label"] in bundle.labels
    status, page, response = call(server, "GET", "/")
    assert status == 200 and 'id="classify"' in page and "cnn" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere
    assert "default-src 'none'" in response.getheader("Content-Security-Policy")


BAD = [
    (b"{not json", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not UTF-8"),
    (b"[]", 422, "the body is a list"),
    (b'{"text": ["a"]}', 422, "unknown key 'text'"),
    (b"{}", 422, 'no "texts"'),
    (b'{"texts": "a review"}', 422, "\"texts\" is a string; expected a list"),
    (b'{"texts": []}', 422, "is empty"),
    (b'{"texts": ["ok", 3]}', 422, "texts[1] is a number"),
    (b'{"texts": ["ok", null]}', 422, "texts[1] is null"),
    (b'{"texts": ["  "]}', 422, "texts[0] is blank"),
    (json.dumps({"texts": ["a"] * 9}).encode(), 413, "9 texts; expected at most 8"),
    (json.dumps({"texts": ["a" * 201]}).encode(), 413, "201 characters"),
    (json.dumps({"texts": ["a"] * 3}).encode(), 413, "expected at most 2"),  # /explain's own limit
]


@pytest.mark.parametrize("body,status,message", BAD)
def test_bad_requests_get_4xx_json_and_the_connection_lives_on(server, body, status, message):
    path = "/explain" if message == "expected at most 2" else "/predict"
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    got, answer, _ = call(server, "POST", path, body, connection=conn)
    assert got == status and answer["error"]["status"] == status and message in answer["error"]["message"]
    got, _, _ = call(server, "GET", "/healthz", connection=conn)  # keep-alive: the same connection still works
    assert got == 200


def test_deep_nesting_is_answered(server):
    """2,000 nested lists: Python 3.11's json raises RecursionError (answered 400), 3.12's parses them (then the
    body is a list, 422); either way an answer in JSON, and the connection lives on."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    got, answer, _ = call(server, "POST", "/predict", b"[" * 2000 + b"]" * 2000, connection=conn)
    assert (got, answer["error"]["status"]) in ((400, 400), (422, 422))
    assert ("not valid JSON" if got == 400 else "the body is a list") in answer["error"]["message"]
    assert call(server, "GET", "/healthz", connection=conn)[0] == 200


def test_bad_framing_routes_and_methods(server):
    host, port = server.server_address[:2]
    status, answer, _ = call(server, "POST", "/predict", b"x" * 5000)
    assert status == 413 and "4,096" in answer["error"]["message"]
    status, answer, _ = call(server, "POST", "/predict", b'{"texts": ["a"]}', {"Content-Type": "multipart/form-data"})
    assert status == 415
    status, answer, response = call(server, "GET", "/predict")
    assert status == 405 and response.getheader("Allow") == "POST"
    assert call(server, "GET", "/nope")[0] == 404 and call(server, "POST", "/nope", {"texts": ["a"]})[0] == 404
    assert call(server, "POST", "/healthz", {"texts": ["a"]})[0] == 405
    status, answer, _ = call(server, "PUT", "/predict", {"texts": ["a"]})  # http.server's own error: JSON too
    assert status == 501 and answer["error"]["status"] == 501
    with socket.create_connection((host, port), timeout=30) as raw:  # not HTTP at all
        raw.sendall(b"hello there\r\n\r\n")
        reply = raw.recv(4096).decode()
    assert '"status": 400' in reply and "<html" not in reply.lower()  # (an HTTP/0.9 answer: the JSON alone)
    conn = http.client.HTTPConnection(host, port, timeout=30)  # a body without Content-Length
    conn.putrequest("POST", "/predict")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"5\r\nhello\r\n0\r\n\r\n")
    response = conn.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]["message"]
    assert call(server, "GET", "/healthz")[0] == 200


def test_concurrent_clients_get_their_own_answers(server):
    bundle = server.RequestHandlerClass.service.bundle
    texts = [f"{t} {i}" for i, t in enumerate((POS + NEG) * 2)]
    expected = {t: p for t, p in zip(texts, bundle.predict(texts))}
    failures = []

    def client(offset):
        conn = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
        for k in range(12):
            chosen = [texts[(offset + k + j) % len(texts)] for j in range(1 + k % 3)]
            status, answer, _ = call(server, "POST", "/predict", {"texts": chosen}, connection=conn)
            if status != 200:
                failures.append(status)
                continue
            for text, got in zip(chosen, answer["predictions"]):
                if got["probabilities"] != pytest.approx(expected[text], abs=1e-5):
                    failures.append(text)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_the_bundles_temperature_is_applied(tiny_bundles):
    bundle = load_bundle(tiny_bundles("nbow")[0])
    bundle.set_temperature(3.0)
    srv = make_server(bundle, port=0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        status, answer, _ = call(srv, "POST", "/predict", {"texts": [POS[0]]})
        assert call(srv, "GET", "/healthz")[1]["temperature"] == 3.0
    finally:
        srv.shutdown()
        srv.server_close()
    expected = (bundle.logits([POS[0]]) / 3.0).softmax(1)[0]  # torch tensor
    assert list(answer["predictions"][0]["probabilities"].values()) == pytest.approx(expected.tolist(), abs=1e-6)


def test_parse_texts_and_limits():
    assert parse_texts(b'{"texts": ["a", "b"]}', Limits()) == ["a", "b"]
    with pytest.raises(RequestError) as err:
        parse_texts(b'{"texts": ["a", "b"]}', Limits(), max_texts=1)
    assert err.value.status == 413 and err.value.body()["error"]["field"] == "texts"
    with pytest.raises(ConfigError, match="max_texts"):
        Limits(max_texts=0)


def test_the_serve_command_starts_answers_and_stops(tiny_bundles, tmp_path):
    directory, _ = tiny_bundles("nbow")
    process = subprocess.Popen([sys.executable, "-m", "textclf", "serve", str(directory), "--port", "0", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_reaches_the_child)
    try:
        line = process.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/predict", json.dumps({"texts": [POS[0]]}), {"Content-Type": "application/json"})
        assert json.loads(conn.getresponse().read())["predictions"][0]["label"] in ("negative", "positive")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "textclf", "serve", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "config.json" in bad.stderr and "Traceback" not in bad.stderr
    with socket.socket() as taken:  # a port someone else holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bad = subprocess.run([sys.executable, "-m", "textclf", "serve", str(directory), "--port",
                              str(taken.getsockname()[1])], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "pick another --port" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "textclf", "serve", str(directory), "--max-texts", "0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--max-texts" in bad.stderr


def test_a_bug_is_a_json_500_not_a_traceback_page(server, monkeypatch, capsys):
    service = server.RequestHandlerClass.service
    monkeypatch.setattr(service.bundle, "predict", lambda texts: 1 / 0)
    status, answer, _ = call(server, "POST", "/predict", {"texts": ["a"]})
    assert status == 500 and answer["error"]["message"] == "internal error; see the server's log"
    assert "ZeroDivisionError" not in json.dumps(answer)


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_the_micro_batcher_slices_answers_and_shares_failures():
    from textclf.serving.batcher import MicroBatcher

    release = threading.Event()
    calls = []

    def run(texts):
        calls.append(list(texts))
        release.wait(5)  # the first call holds the model while the others queue up
        if "boom" in texts:
            raise RuntimeError("boom")
        return [t.upper() for t in texts]

    batcher = MicroBatcher(run, max_texts=64)
    answers, errors = {}, {}

    def submit(name, texts):
        try:
            answers[name] = batcher.submit(texts)
        except RuntimeError as err:
            errors[name] = str(err)

    first = threading.Thread(target=submit, args=("first", ["a"]))
    first.start()
    wait_until(lambda: calls)
    others = [threading.Thread(target=submit, args=(f"r{i}", [f"x{i}", f"y{i}"])) for i in range(5)]
    for t in others:
        t.start()
    wait_until(lambda: batcher.waiting.qsize() == 5)
    release.set()
    for t in [first, *others]:
        t.join()
    assert answers == {"first": ["A"], **{f"r{i}": [f"X{i}", f"Y{i}"] for i in range(5)}}
    assert len(calls) == 2 and len(calls[1]) == 10  # the five waiting requests ran as one batch
    release.clear()
    threads = [threading.Thread(target=submit, args=(name, texts)) for name, texts in
               (("slow", ["s"]), ("bad", ["boom"]), ("peer", ["p"]))]
    threads[0].start()
    wait_until(lambda: len(calls) == 3)
    for t in threads[1:]:
        t.start()
    wait_until(lambda: batcher.waiting.qsize() == 2)
    release.set()
    for t in threads:
        t.join()
    assert errors == {"bad": "boom", "peer": "boom"} and answers["slow"] == ["S"]  # a failed batch fails its requests
    batcher.close()
    assert not batcher.worker.is_alive()
    with pytest.raises(RuntimeError, match="shutting down"):  # refused, never left waiting
        batcher.submit(["late"])


def hammer(srv, clients: int = 8, each: int = 15) -> list[int]:
    """``clients`` keep-alive clients posting one text ``each`` times; the statuses they got."""
    statuses = []

    def client():
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=60)
        for _ in range(each):
            statuses.append(call(srv, "POST", "/predict", {"texts": [POS[0]]}, connection=conn)[0])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_under_load_requests_share_model_calls_and_batching_can_be_turned_off(tiny_bundles):
    bundle = load_bundle(tiny_bundles("cnn")[0])
    for batching in (True, False):
        srv = make_server(bundle, port=0, quiet=True, batching=batching)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            statuses = hammer(srv)
            health = call(srv, "GET", "/healthz")[1]
        finally:
            srv.shutdown()
            srv.server_close()
        assert statuses == [200] * 120 and health["requests"] == 120
        if batching:
            assert health["model_calls"] < 120
        else:
            assert health["model_calls"] is None
