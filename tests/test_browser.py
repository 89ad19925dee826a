"""The demo page in a real browser: headless Chromium (Debian's ``chromium``, the system browser) driven
by Playwright types a review, presses the button, and reads the label and the highlighted words.

``.ci/run`` installs Chromium (apt) and the ``dev`` extra installs Playwright; the test skips, saying why,
only where no browser could be installed (Playwright's own browser download is never used).
"""

import shutil
import threading

import pytest

from textclf.bundle import load_bundle
from textclf.serving import make_server

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: apt-get install chromium "
                                "(.ci/run does)")


@pytest.fixture(scope="module")
def page_url(tiny_bundles):
    bundle = load_bundle(tiny_bundles("cnn")[0])
    server = make_server(bundle, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", bundle
    server.shutdown()
    server.server_close()


def test_type_a_review_and_read_the_label_and_the_highlighted_words(page_url, tmp_path):
    url, bundle = page_url
    review = "a wonderful, moving film with <b>great</b> acting"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            requests_elsewhere = []
            page.on("request", lambda r: None if r.url.startswith(url) else requests_elsewhere.append(r.url))
            page.goto(url)
            page.fill("#text", review)
            page.click("#classify")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            label = page.text_content("#label")
            words = page.eval_on_selector_all("#words .word", "spans => spans.map(s => [s.textContent, "
                                                               "Number(s.dataset.score), s.style.background])")
            rows = page.eval_on_selector_all("#probabilities tr", "rows => rows.map(r => r.cells[0].textContent)")
            page.screenshot(path=str(tmp_path / "page.png"))
            injected = page.query_selector("#words b")  # the review's markup is text, not HTML
        finally:
            browser.close()
    probabilities = bundle.predict([review])[0]
    assert label == max(probabilities, key=probabilities.get)
    assert [w for w, _, _ in words] == bundle.tokens(review)
    assert all(isinstance(score, float) for _, score, _ in words) and any(score != 0 for _, score, _ in words)
    assert any(colour.startswith("rgba") for _, _, colour in words)
    assert sorted(rows) == sorted(bundle.labels)
    assert injected is None and requests_elsewhere == []
    assert (tmp_path / "page.png").stat().st_size > 1000


def test_the_page_shows_the_servers_error(page_url):
    url, _ = page_url
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.fill("#text", "a wonderful, moving film")
            page.click("#classify")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            page.fill("#text", "x" * 6000)  # over the page's (and the server's) limit
            page.click("#classify")
            error = page.text_content("#error")
            stale = page.is_visible("#result")  # the previous answer must not stand under the new error
            page.fill("#text", "   ")
            page.click("#classify")
            empty = page.text_content("#error")
        finally:
            browser.close()
    assert "5000 characters" in error and not stale and "Type some text first" in empty
