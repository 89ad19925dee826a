"""Text from data (labels, tokens, file names) made safe to print on a terminal.

A label read from a file can hold ``ESC[2J`` (clear the screen) or other control
characters; printed raw, they act on the learner's terminal. ``printable``
shows each control character as an escape (``\\x1b``) instead, and leaves every
other character, accents and emoji included, as it is.

>>> printable("pos\\x1b[2Jitive")
'pos\\\\x1b[2Jitive'
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def json_safe(line: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``, which escapes only C0 controls) with the
    remaining controls escaped too: still valid JSON, now also safe on a terminal."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
