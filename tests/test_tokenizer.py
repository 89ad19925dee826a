from hypothesis import given
from hypothesis import strategies as st

from textclf.text import tokenize


def test_documented_rules():
    assert tokenize("It's a well-known film, isn't it? 3.5/5 <br />Great!") == [
        "it", "'s", "a", "well-known", "film", ",", "is", "n't", "it", "?", "3.5", "/", "5", "great", "!"]
    assert tokenize("They'd say O'Brien won't pay $1,000.") == [
        "they", "'d", "say", "o'brien", "wo", "n't", "pay", "$", "1,000", "."]


def test_empty_and_whitespace_only():
    assert tokenize("") == [] and tokenize(" \n\t ") == []


@given(st.text())
def test_tokens_are_lowercase_and_never_hold_whitespace(text):
    for token in tokenize(text):
        assert token and not any(ch.isspace() for ch in token)
        assert token == token.lower()


@given(st.text(alphabet=st.sampled_from(list("abcXYZ019 ,.!?'-\"\n<>/nt"))))
def test_retokenizing_joined_tokens_is_stable(text):
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens
