"""One rule for a text to classify, wherever it comes from (a file, the command line, Python, HTTP).

A text is a string with something in it besides white space, and valid Unicode: a lone surrogate
(``"\\ud800"``, which JSON's ``\\uXXXX`` escapes can spell) cannot be encoded as UTF-8, so it would fail
later — when a bundle or an answer is written — far from where it came in. ``text_problem`` says what is
wrong (or None); readers name the file and line, ``predict``/``explain`` the index, ``serve`` answers 422.
"""

from __future__ import annotations


def kind_of(value: object) -> str:
    """``"a int"``-style names are ugly: "an int", "a list", "None"."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def text_problem(value: object) -> str | None:
    """What makes ``value`` unusable as a text (``"is blank; expected some text"``), or None."""
    if isinstance(value, (bytes, bytearray)):
        return f"is {kind_of(value)}; expected a string (decode it first, e.g. text.decode('utf-8'))"
    if not isinstance(value, str):
        return f"is {kind_of(value)}; expected a string"
    if not value.strip():
        return "is blank; expected some text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"holds a lone surrogate (U+{ord(value[err.start]):04X}) at character {err.start + 1}; expected "
                "valid Unicode text")
    return None


def check_texts(texts) -> list[str]:
    """``texts`` as a list, each one checked (``TypeError`` for a non-string, ``ValueError`` for a blank or
    invalid one, naming its index)."""
    if isinstance(texts, str):
        raise TypeError("expected a list of texts; wrap a single text in a list")
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError(f"expected a list of texts, not {kind_of(texts)}; decode it first (text.decode('utf-8'))")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"expected a list of texts, not {kind_of(texts)}") from None
    for i, text in enumerate(texts):
        problem = text_problem(text)
        if problem:
            raise (TypeError if not isinstance(text, str) else ValueError)(f"texts[{i}] {problem}")
    return texts
