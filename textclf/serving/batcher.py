"""Micro-batching: requests that arrive while the model is busy run together, as one batch.

With 8 clients each sending one review, a server that runs each request on its own calls the model
8 times with a batch of 1; a transformer's cost for a batch of 8 short texts is far less than 8 times
that of one. ``MicroBatcher`` keeps one worker thread in front of the model: each request puts its
texts on a queue and waits; the worker takes whatever is waiting (up to ``max_texts``), runs it as one
call, and hands every request its own slice of the answer. It never waits for more requests to come
— an idle server answers a lone request at once — so batches form only under load, when they help.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

STOP = object()


class MicroBatcher:
    def __init__(self, run: Callable[[list[str]], list], max_texts: int = 64):
        self.run, self.max_texts = run, max_texts
        self.waiting: queue.Queue = queue.Queue()
        self.batches = 0  # how many calls the model got (the lesson and the tests read it)
        self.closed = False
        self.gate = threading.Lock()  # a request is queued before STOP, or refused: none waits forever
        self.worker = threading.Thread(target=self.loop, name="textclf-batcher", daemon=True)
        self.worker.start()

    def submit(self, texts: list[str]) -> list:
        """``run(texts)``, computed together with whatever other requests are waiting."""
        future: Future = Future()
        with self.gate:
            if self.closed:
                raise RuntimeError("the server is shutting down (its batcher is closed)")
            self.waiting.put((texts, future))
        return future.result()

    def loop(self) -> None:
        while True:
            first = self.waiting.get()
            if first is STOP:
                return
            batch, count = [first], len(first[0])
            while count < self.max_texts:  # take what is already waiting; never wait for more
                try:
                    item = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if item is STOP:
                    self.waiting.put(STOP)
                    break
                batch.append(item)
                count += len(item[0])
            self.answer(batch)

    def answer(self, batch: list[tuple[list[str], Future]]) -> None:
        texts = [text for request, _ in batch for text in request]
        self.batches += 1
        try:
            results = self.run(texts)
        except BaseException as err:  # every waiting request learns of it (the server answers 500)
            for _, future in batch:
                future.set_exception(err)
            return
        start = 0
        for request, future in batch:
            future.set_result(results[start : start + len(request)])
            start += len(request)

    def close(self) -> None:
        """Answer what is queued, then stop the worker; later ``submit`` calls raise."""
        with self.gate:
            if self.closed:
                return
            self.closed = True
            self.waiting.put(STOP)
        self.worker.join(timeout=10)
