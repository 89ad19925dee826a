"""The `textclf data` command: the report on good data, one clear line on bad data."""

import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_data_report_on_bundled_data():
    result = run("data", "bbc_news", "--glove", "none")
    assert result.returncode == 0, result.stderr
    assert "sport" in result.stdout and "with length bucketing" in result.stdout


def test_data_on_user_tsv_with_skip(tmp_path):
    rows = [f"{'ham' if i % 3 else 'spam'}\tmessage number {i}" for i in range(40)] + ["ham"]
    (tmp_path / "SMSSpamCollection").write_text("\n".join(rows) + "\n")
    bad = run("data", str(tmp_path / "SMSSpamCollection"), "--format", "sms_spam", "--glove", "none")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "SMSSpamCollection, line 41: expected 2 fields, found 1" in bad.stderr
    good = run("data", str(tmp_path / "SMSSpamCollection"), "--format", "sms_spam", "--skip-bad", "--glove", "none")
    assert good.returncode == 0 and "skipped 1 bad rows" in good.stderr and "spam" in good.stdout
