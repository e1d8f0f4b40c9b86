"""How big the HTML page of a large report is, and how fast headless Chromium paints it and answers.

For each size: a real scan (``labelaudit.scan``) of synthetic probabilities (10 classes, 10 % of labels
flipped), then its page as ``scan --html --show-cols caption`` makes it (every row, with its top classes, its
error probability and one input column shown). Reported, as the
median of ``--runs`` fresh page loads in one headless Chromium (Debian's ``chromium`` + ``chromium-driver``,
``pip install selenium``):

* page size (MB) and the time to render it in Python;
* first contentful paint (ms, the browser's own ``paint`` timing), ready (ms: the script has parsed the
  rows and drawn the first page, so the table answers) and load (ms, the navigation's ``loadEventEnd``);
* search, sort and filter (ms, from the event to the new rows in the table).

The targets: a 100,000-row page under 30 MB that paints in under 3 s.

    python benchmarks/bench_html.py [--sizes 10000,100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _browser import INSTALL, chromium_paths, start_chromium
from _util import synthetic

TARGET_MB, TARGET_PAINT_MS = 30.0, 3000.0


def make_result(n: int, k: int = 10):
    """A real scan (``labelaudit.scan``) of a synthetic table: an id, a caption and ``p_*`` columns."""
    import labelaudit as la

    labels, probs = synthetic(n, k, noise=0.1, seed=1)
    names = np.asarray([f"class_{j}" for j in range(k)], dtype=object)
    data = pd.DataFrame(
        {
            "id": [f"img-{i:07d}" for i in range(n)],
            "label": names[labels],
            "caption": [f"photo {i} of a {names[t]}" for i, t in enumerate(labels)],
        }
    )
    for j, name in enumerate(names):
        data[f"p_{name}"] = probs[:, j]
    return la.scan(data, id_col="id")


def browser(profile: str):
    paths = chromium_paths()
    if paths is None:
        sys.exit(f"headless Chromium not found: {INSTALL}")
    return start_chromium(paths, profile)


_AFTER = """
var done = arguments[arguments.length - 1], t0 = performance.now();
var body = document.getElementById('rows'), before = body.firstChild;
new MutationObserver(function (_, obs) { obs.disconnect(); done(performance.now() - t0); })
  .observe(body, {childList: true});
(function () { %s })();
"""


def measure(driver, page: Path) -> dict[str, float]:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(page.as_uri())
    ready = WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')")
    )
    paint = WebDriverWait(driver, 60).until(
        lambda d: d.execute_script(
            "var e = performance.getEntriesByName('first-contentful-paint'); return e.length ? e[0].startTime : null;"
        )
    )
    load = driver.execute_script("return performance.getEntriesByType('navigation')[0].loadEventEnd")
    search = driver.execute_async_script(
        _AFTER
        % "var q = document.getElementById('q'); q.value = 'img-00077'; q.dispatchEvent(new Event('input'));"
    )
    driver.execute_script(
        "var q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input'));"
    )
    time.sleep(0.4)
    sort = driver.execute_async_script(
        _AFTER % "document.querySelector('#rows-table th[data-key=\"label_quality\"]').click();"
    )
    filt = driver.execute_async_script(
        _AFTER % "var s = document.querySelector('select[data-key=\"given_label\"]'); s.value = '3';"
        "s.dispatchEvent(new Event('change'));"
    )
    return {
        "paint": float(paint),
        "ready": float(ready),
        "load": float(load),
        "search": search,
        "sort": sort,
        "filter": filt,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    profile = tempfile.mkdtemp(prefix="bench-html-")
    workdir = Path(tempfile.mkdtemp(prefix="bench-html-pages-"))
    driver = browser(profile)
    rows = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            result = make_result(n)
            started = time.perf_counter()
            page_text = result.to_html(show_cols=["caption"])
            render_s = time.perf_counter() - started
            page = workdir / f"page-{n}.html"
            page.write_text(page_text, encoding="utf-8")
            runs = [measure(driver, page) for _ in range(args.runs)]
            med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            rows.append((n, page.stat().st_size / 1e6, render_s, med))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"HTML page in headless Chromium (median of {args.runs} loads; times in ms unless noted)")
    print()
    print("| rows | page MB | render (s) | first paint | ready | load | search* | sort | filter |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, mb, render_s, med in rows:
        print(
            f"| {n:,} | {mb:.1f} | {render_s:.2f} | {med['paint']:.0f} | {med['ready']:.0f} | {med['load']:.0f} | "
            f"{med['search']:.0f} | {med['sort']:.0f} | {med['filter']:.0f} |"
        )
    print("* search includes the script's typing pause (60 ms; 200 ms above 20,000 rows)")
    print()
    for n, mb, _, med in rows:
        if n == 100_000:
            print(
                f"100,000 rows: {mb:.1f} MB (target < {TARGET_MB:.0f} MB, {mb / TARGET_MB:.2f}× the limit); "
                f"painted and interactive in {max(med['ready'], med['load'], med['paint']) / 1000:.2f} s "
                f"(target < {TARGET_PAINT_MS / 1000:.0f} s, "
                f"{max(med['ready'], med['load'], med['paint']) / TARGET_PAINT_MS:.2f}× the limit)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
