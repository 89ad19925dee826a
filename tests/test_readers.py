"""Each reader on a small fixture in its original format, and every kind of bad input."""

import gzip
import tarfile

import pytest

from textclf.data import DataError, DataFileNotFoundError, load_dataset
from textclf.data.readers import read_aclimdb, read_ag_news, read_delimited, read_jsonl, read_sms_spam

SMS = "ham\tGo until jurong point, crazy..\nspam\tFree entry in 2 a wkly comp to win FA Cup final tkts\n" \
      'ham\tOk lar... Joking wif u oni "quoted\n'
AG = ('"3","Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, Wall Street\'s '
      'dwindling\\band of ultra-cynics, are seeing green again."\n'
      '"2","Phelps wins","ATHENS - Michael Phelps won, ""again""."\n'
      '"1","Talks","Leaders met on Monday."\n"4","New chip","A faster chip, announced today."\n')


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_csv_with_header_and_quoted_commas(tmp_path):
    path = write(tmp_path / "r.csv", 'id,text,label\n1,"Great, really great",pos\n2,"Said ""no""\nthen left",neg\n')
    records = read_delimited(path)
    assert [(r.example.text, r.example.label) for r in records] == [
        ("Great, really great", "pos"), ('Said "no"\nthen left', "neg")]


def test_tsv_and_columns_by_index(tmp_path):
    path = write(tmp_path / "r.tsv", "pos\tnice one\nneg\tawful\n")
    records = read_delimited(path, delimiter="\t", text_column=1, label_column=0, header=False)
    assert [r.example.label for r in records] == ["pos", "neg"]


def test_headerless_tsv_through_load_dataset(tmp_path):
    write(tmp_path / "r.tsv", "".join(f"{'pos' if i % 2 else 'neg'}\ttext {i}\n" for i in range(20)))
    ds = load_dataset(tmp_path / "r.tsv", header=False, text_column=1, label_column=0)
    assert ds.labels == ["neg", "pos"] and len(ds.train) + len(ds.valid) + len(ds.test) == 20


def test_sms_spam_collection_format(tmp_path):
    records = read_sms_spam(write(tmp_path / "SMSSpamCollection", SMS))
    assert [r.example.label for r in records] == ["ham", "spam", "ham"]
    assert records[2].example.text == 'Ok lar... Joking wif u oni "quoted'  # TSV: quotes are plain text


def test_jsonl(tmp_path):
    path = write(tmp_path / "r.jsonl", '{"text": "good", "label": 1}\n\n{"text": "bad", "label": 0}\n')
    assert [(r.example.text, r.example.label) for r in read_jsonl(path)] == [("good", "1"), ("bad", "0")]


def test_ag_news_csv(tmp_path):
    records = read_ag_news(write(tmp_path / "train.csv", AG))
    assert [r.example.label for r in records] == ["Business", "Sports", "World", "Sci/Tech"]
    assert records[0].example.text.startswith("Wall St. Bears Claw Back Into the Black (Reuters) Reuters")
    assert "dwindling band" in records[0].example.text
    assert records[1].example.text.endswith('won, "again".')


def test_ag_news_folder_keeps_its_test_split(tmp_path):
    write(tmp_path / "train.csv", AG * 5)
    write(tmp_path / "test.csv", AG)
    ds = load_dataset(tmp_path)
    assert ds.labels == ["World", "Sports", "Business", "Sci/Tech"]
    assert len(ds.test) == 4 and len(ds.train) + len(ds.valid) == 20


def make_imdb(root):
    for split in ("train", "test"):
        for polarity, text in (("pos", "A gem.<br /><br />Loved it"), ("neg", "Dull, dull, dull.")):
            folder = root / "aclImdb" / split / polarity
            folder.mkdir(parents=True)
            for i in range(3):
                write(folder / f"{i}_{8 if polarity == 'pos' else 2}.txt", f"{text} {i}")
    (root / "aclImdb" / "train" / "unsup").mkdir()
    write(root / "aclImdb" / "train" / "unsup" / "0_0.txt", "ignored")
    return root / "aclImdb"


def test_aclimdb_directory_and_archive(tmp_path):
    folder = make_imdb(tmp_path)
    from_dir = read_aclimdb(folder)
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="aclImdb")
    from_tar = read_aclimdb(archive)
    assert len(from_dir) == len(from_tar) == 12
    assert sorted((r.split, r.example.label) for r in from_dir) == sorted((r.split, r.example.label) for r in from_tar)
    ds = load_dataset(archive)
    assert ds.labels == ["negative", "positive"] and len(ds.test) == 6


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("content, where, expected", [
    ("text,label\ngood,pos\nbad,neg,extra\n", "line 3", "expected 2 fields"),
    ('text,label\ngood,pos\n"never closed,neg\nmore,pos\n', "line 3", "unterminated quote"),
    ("text,label\ngood,pos\n  ,neg\n", "line 3", "empty text"),
    ("text,label\ngood,pos\nbad,meh\n", "line 3", "unknown label 'meh'; expected one of: neg, pos"),
])
def test_bad_csv_rows_name_file_line_and_expectation(tmp_path, content, where, expected):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(DataError, match=rf"bad\.csv, {where}: .*{expected}"):
        read_delimited(path, labels=["neg", "pos"])


def test_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path / "latin1.csv", "text,label\ngood,pos\ncaf\xe9 noir,neg\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"latin1\.csv, line 3: invalid UTF-8"):
        load_dataset(path)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DataError, match=r"empty\.csv, line 1: the file is empty"):
        load_dataset(write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataFileNotFoundError, match=r"nope\.csv: no such file"):
        load_dataset(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not a bundled dataset; expected one of: rotten_tomatoes, bbc_news"):
        load_dataset("rotten_tomato")


def test_missing_column_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match=r"line 1: no column 'text' in the header; expected one of: review, y"):
        load_dataset(write(tmp_path / "r.csv", "review,y\nok,1\n"))
    with pytest.raises(DataError, match="cannot tell the format"):
        load_dataset(write(tmp_path / "data.txt", "x"))


def test_bad_jsonl_lines(tmp_path):
    path = write(tmp_path / "r.jsonl", '{"text": "ok", "label": "a"}\n{"text": "oops", "label": \n["x"]\n')
    with pytest.raises(DataError, match=r"r\.jsonl, line 2: invalid JSON"):
        read_jsonl(path)


def test_gzip_that_is_not_gzip(tmp_path):
    with pytest.raises(DataError, match="not a valid gzip file"):
        load_dataset(write(tmp_path / "r.csv.gz", "text,label\n"))


def test_ag_news_unknown_class(tmp_path):
    with pytest.raises(DataError, match=r"line 2: unknown label '5'; expected one of: 1, 2, 3, 4"):
        read_ag_news(write(tmp_path / "train.csv", AG.splitlines()[0] + '\n"5","x","y"\n'))


def test_empty_imdb_review_names_the_file(tmp_path):
    folder = make_imdb(tmp_path)
    write(folder / "test" / "neg" / "9_1.txt", "   ")
    with pytest.raises(DataError, match=r"9_1\.txt, line 1: empty text"):
        read_aclimdb(folder)


def test_skip_mode_reports_every_bad_row_and_keeps_the_good(tmp_path):
    rows = ["text,label", "good,pos", "bad,neg,extra", ",neg", "fine,meh", "ok,neg"] + ["more,pos"] * 8
    path = write(tmp_path / "mixed.csv", "\n".join(rows) + "\n")
    ds = load_dataset(path, labels=["neg", "pos"], on_error="skip")
    assert len(ds.train) + len(ds.valid) + len(ds.test) == 10
    assert [(p.line, p.message.split(";")[0]) for p in ds.skipped] == [
        (3, "expected 2 fields (like the header: text,label), found 3"), (4, "empty text"),
        (5, "unknown label 'meh'")]
    assert all(p.path.endswith("mixed.csv") for p in ds.skipped)


def test_gzipped_csv_reads(tmp_path):
    path = tmp_path / "r.csv.gz"
    path.write_bytes(gzip.compress(b"text,label\na,x\nb,y\n"))
    assert [r.example.text for r in read_delimited(path)] == ["a", "b"]


def test_tar_that_is_broken(tmp_path):
    path = write(tmp_path / "aclImdb_v1.tar.gz", gzip.compress(b"not a tar") + b"")
    with pytest.raises(DataError, match="cannot read the archive"):
        read_aclimdb(path)
