"""What a request must be before the model sees it, and the 4xx answer when it is not.

Every body is JSON ``{"texts": ["...", ...]}``. ``parse_texts`` returns the texts or raises
``RequestError`` with the HTTP status and a message naming the field:

- 400 the body is not JSON (or not UTF-8);
- 422 JSON of the wrong shape: not an object, no ``texts``, not a list, an empty list, an item that is
  not a string or is blank, an unknown key;
- 413 too much: more than ``max_texts`` texts, a text longer than ``max_chars`` characters, or a body
  over ``max_body_bytes`` (checked from ``Content-Length`` before the body is read).

The limits are configurable (``textclf serve --max-texts ...``); ``/explain`` runs integrated gradients
(``steps`` forward and backward passes per text), so it takes fewer texts (``max_explain_texts``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from textclf.config import check_int
from textclf.text_checks import text_problem


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field

    def body(self) -> dict:
        return {"error": {"status": self.status, "message": self.message,
                          **({"field": self.field} if self.field else {})}}


@dataclass
class Limits:
    max_texts: int = 64              # texts per /predict request
    max_explain_texts: int = 4       # texts per /explain request (integrated gradients is ~50 passes per text)
    max_chars: int = 5_000           # characters per text
    max_body_bytes: int = 1 << 20    # bytes per request body
    explain_steps: int = 50          # integrated-gradients steps for /explain

    def __post_init__(self) -> None:
        check_int(self, "max_texts", 1, 100_000)
        check_int(self, "max_explain_texts", 1, 1_000)
        check_int(self, "max_chars", 1, 10_000_000)
        check_int(self, "max_body_bytes", 2, 1 << 30)
        check_int(self, "explain_steps", 1, 1_000)


def json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's words: "a number", "null", "a list", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def parse_texts(body: bytes, limits: Limits, max_texts: int | None = None) -> list[str]:
    """The texts of a request body ``{"texts": [...]}``, checked against ``limits``; else ``RequestError``."""
    max_texts = max_texts or limits.max_texts
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f"the body is {len(body):,} bytes; expected at most {limits.max_body_bytes:,}")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RequestError(400, f"the body is not UTF-8 (byte {err.start}); expected a UTF-8 JSON object") from None
    except (json.JSONDecodeError, RecursionError) as err:
        where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
        raise RequestError(400, f"the body is not valid JSON{where}; expected {{\"texts\": [\"...\"]}}") from None
    if not isinstance(data, dict):
        raise RequestError(422, f"the body is {json_kind(data)}; expected an object {{\"texts\": [...]}}")
    unknown = sorted(set(data) - {"texts"})
    if unknown:
        raise RequestError(422, f"unknown key {unknown[0]!r}; expected only \"texts\"", unknown[0])
    if "texts" not in data:
        raise RequestError(422, "no \"texts\"; expected {\"texts\": [\"a review\", ...]}", "texts")
    texts = data["texts"]
    if not isinstance(texts, list):
        raise RequestError(422, f"\"texts\" is {json_kind(texts)}; expected a list of strings", "texts")
    if not texts:
        raise RequestError(422, "\"texts\" is empty; expected at least one text", "texts")
    if len(texts) > max_texts:
        raise RequestError(413, f"{len(texts)} texts; expected at most {max_texts} per request", "texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(422, f"texts[{i}] is {json_kind(text)}; expected a string", f"texts[{i}]")
        problem = text_problem(text)  # blank, or a lone surrogate: the rule predict and explain apply too
        if problem:
            raise RequestError(422, f"texts[{i}] {problem}", f"texts[{i}]")
        if len(text) > limits.max_chars:
            raise RequestError(413, f"texts[{i}] has {len(text):,} characters; expected at most "
                               f"{limits.max_chars:,}", f"texts[{i}]")
    return texts
