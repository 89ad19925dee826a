"""``textclf serve DIR``: the model behind HTTP (``server.py``), the checks every request passes
(``requests.py``) and the demo page (``page.py``)."""

from textclf.serving.requests import Limits, RequestError, parse_texts
from textclf.serving.server import Service, make_server

__all__ = ["Limits", "RequestError", "Service", "make_server", "parse_texts"]
