"""The page in headless Chromium: it paints, and searching, sorting and filtering change the rows shown.

Needs Debian's ``chromium`` and ``chromium-driver`` and the selenium package (dev extra); skips without them.
The pages are made the way a user makes them: the demo scan's ``--html``, and ``labelaudit render`` of a
100,000-row report.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks._browser import INSTALL, chromium_paths, start_chromium
from tests.conftest import FIXTURES, run_cli


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium.webdriver", reason=f"selenium not installed: {INSTALL}")
    paths = chromium_paths()
    if paths is None:
        pytest.skip(f"headless Chromium not found: {INSTALL}")
    profile = tempfile.mkdtemp(prefix="labelaudit-chromium-")
    driver = start_chromium(paths, profile)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')")
    )


def shown(driver, key: str) -> list[str]:
    """The text of column ``key`` in the rows on screen."""
    return driver.execute_script(
        "var i=[].indexOf.call(document.querySelectorAll('#rows-table th'),"
        " document.querySelector('#rows-table th[data-key=\"'+arguments[0]+'\"]'));"
        "return [].map.call(document.querySelectorAll('#rows tr'), function(tr){return tr.children[i].textContent;});",
        key,
    )


def assert_not_blank(driver) -> None:
    from PIL import Image, ImageStat

    png = driver.get_screenshot_as_png()
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width >= 1000 and image.height >= 1000
    stddev = ImageStat.Stat(image).stddev[0]
    dark = sum(image.histogram()[:128]) / (image.width * image.height)
    # a blank page is one flat colour; text, bars and the heatmap give contrast and ink
    assert stddev > 20 and dark > 0.01, (stddev, dark)
    assert len(image.getcolors(maxcolors=256) or range(257)) > 16


def exercise(driver, page: Path, *, probe_id: str, given: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, page)
    assert_not_blank(driver)
    # no request left the page (the policy would block it; nothing even tried)
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    n = driver.execute_script("return JSON.parse(document.getElementById('la-data').textContent).n")
    first = shown(driver, "row")
    assert len(first) == 50
    assert f"of {n:,} matching rows" in driver.find_element(By.ID, "status").text

    search = driver.find_element(By.ID, "q")
    search.send_keys(probe_id)
    driver.implicitly_wait(0)
    _wait(driver, lambda: shown(driver, "id") == [probe_id])
    search.clear()
    search.send_keys(" ")  # an empty query shows everything again
    _wait(driver, lambda: shown(driver, "row") == first)

    header = driver.find_element(By.CSS_SELECTOR, '#rows-table th[data-key="label_quality"]')
    header.click()
    header.click()  # descending: the most trustworthy rows first
    quality = [float(v) for v in shown(driver, "label_quality")]
    assert quality == sorted(quality, reverse=True) and shown(driver, "row") != first
    assert header.get_attribute("aria-sort") == "descending"

    Select(driver.find_element(By.CSS_SELECTOR, 'select[data-key="given_label"]')).select_by_visible_text(
        given
    )
    assert set(shown(driver, "given_label")) == {given}
    Select(driver.find_element(By.ID, "flag")).select_by_value("1")
    rows = shown(driver, "is_label_issue")
    assert rows and set(rows) == {"yes"} and set(shown(driver, "given_label")) == {given}
    expected = driver.execute_script(
        "var D=JSON.parse(document.getElementById('la-data').textContent), c=D.cats._labels.indexOf(arguments[0]), m=0;"
        "for (var i=0;i<D.n;i++){ if (D.data.given_label[i]===c && D.data.is_label_issue[i]) m++; } return m;",
        given,
    )
    assert f"of {expected:,} matching rows" in driver.find_element(By.ID, "status").text


def _wait(driver, condition, timeout: float = 10) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda _: condition())


def test_demo_page(browser, tmp_path) -> None:
    # the Makefile's demo target
    page = tmp_path / "report.html"
    result = run_cli(
        "scan",
        FIXTURES / "cifar10-test-slice.csv",
        "--id-col",
        "id",
        "-o",
        tmp_path / "report.parquet",
        "--summary",
        tmp_path / "summary.json",
        "--html",
        page,
        "-q",
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_parquet(tmp_path / "report.parquet").sort_values("rank")
    exercise(browser, page, probe_id=str(report["id"].iloc[500]), given="cat")


def test_100k_row_page(browser, tmp_path) -> None:
    n, k = 100_000, 10
    rng = np.random.default_rng(7)
    true = rng.integers(0, k, n)
    probs = rng.dirichlet(np.full(k, 0.2), n).astype(np.float32)
    probs[np.arange(n), true] += 1.5
    probs /= probs.sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.1, rng.integers(0, k, n), true)
    names = [f"class_{j}" for j in range(k)]
    frame = pd.DataFrame({"id": [f"r{i:06d}" for i in range(n)], "label": np.asarray(names)[labels]})
    for j, name in enumerate(names):
        frame[f"p_{name}"] = probs[:, j]
    data, report, page = tmp_path / "data.parquet", tmp_path / "report.parquet", tmp_path / "page.html"
    frame.to_parquet(data)
    assert run_cli("scan", data, "--id-col", "id", "-o", report, "-q").returncode == 0
    result = run_cli("render", report, "-o", page, "--data", data, "--show-cols", "label", "-q")
    assert result.returncode == 0, result.stderr
    assert page.stat().st_size < 30e6
    ranked = pd.read_parquet(report).sort_values("rank")
    exercise(browser, page, probe_id=str(ranked["id"].iloc[77_777]), given="class_3")


def test_hostile_strings_do_not_run(browser, tmp_path) -> None:
    payloads = ["<script>document.title='pwned'</script>", '"><img src=x onerror="document.title=\'pwned\'">']
    frame = pd.read_csv(FIXTURES / "cifar10-test-slice.csv").head(300)
    frame["label"] = frame["label"].where(frame.index % 4 != 0, payloads[0])
    frame[f"p_{payloads[0]}"] = 0.0
    frame[payloads[1]] = payloads[1]
    frame["id"] = frame["id"] + payloads[1]
    data, report, page = tmp_path / "d.csv", tmp_path / "r.parquet", tmp_path / "p.html"
    frame.to_csv(data, index=False)
    assert run_cli("scan", data, "--id-col", "id", "-o", report, "-q").returncode == 0
    result = run_cli("render", report, "-o", page, "--data", data, "--show-cols", payloads[1], "-q")
    assert result.returncode == 0, result.stderr
    open_page(browser, page)
    assert browser.title != "pwned"
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert payloads[0] in shown(browser, "given_label")
    assert all(v.endswith(payloads[1]) for v in shown(browser, "id"))
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "q").send_keys("pwned")
    _wait(browser, lambda: len(shown(browser, "id")) == 50)
    assert browser.title != "pwned"


def test_multilabel_and_aggregate_pages(browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    rng = np.random.default_rng(3)
    n, tags = 400, ["red", "green", "blue", "alpha"]
    probs = rng.uniform(size=(n, len(tags)))
    given = (probs > 0.5) ^ (rng.random((n, len(tags))) < 0.05)
    frame = pd.DataFrame(
        {"label": ["|".join(t for t, g in zip(tags, row, strict=True) if g) for row in given]}
    )
    for j, t in enumerate(tags):
        frame[f"p_{t}"] = probs[:, j]
    frame.to_csv(tmp_path / "tags.csv", index=False)
    report, page = tmp_path / "tags.parquet", tmp_path / "tags.html"
    args = ("scan", tmp_path / "tags.csv", "--multi-label", "--label-sep", "|", "-o", report, "-q")
    assert run_cli(*args).returncode == 0
    assert run_cli("render", report, "-o", page, "-q").returncode == 0
    open_page(browser, page)
    assert_not_blank(browser)
    Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="missing_tags"]')).select_by_visible_text(
        "red"
    )
    cells = browser.execute_script(
        "return [].map.call(document.querySelectorAll('#rows tr'), function (tr) {"
        " return [].map.call(tr.querySelectorAll('.chip.missing_tags'), function (c) { return c.textContent; }); });"
    )
    assert cells and all("red" in chips for chips in cells)

    # an aggregation: 150 items, 5 annotators each, one of them careless
    items = [f"item{i}" for i in range(150)]
    truth = rng.integers(0, 3, len(items))
    rows = []
    for i, item in enumerate(items):
        for a in range(5):
            wrong = rng.random() < (0.5 if a == 0 else 0.1)
            rows.append((item, f"w{a}", ["cat", "dog", "fox"][(truth[i] + wrong) % 3]))
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(tmp_path / "ann.csv", index=False)
    report, page = tmp_path / "items.parquet", tmp_path / "items.html"
    assert run_cli("aggregate", tmp_path / "ann.csv", "-o", report, "-q").returncode == 0
    assert run_cli("render", report, "-o", page, "-q").returncode == 0
    open_page(browser, page)
    first = shown(browser, "item")
    Select(
        browser.find_element(By.CSS_SELECTOR, 'select[data-key="consensus_label"]')
    ).select_by_visible_text("fox")
    assert set(shown(browser, "consensus_label")) == {"fox"} and shown(browser, "item") != first
    browser.find_element(By.CSS_SELECTOR, '#rows-table th[data-key="item"]').click()
    assert shown(browser, "item") == sorted(shown(browser, "item"))
