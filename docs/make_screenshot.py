"""Make docs/report.png, the README's picture of the HTML report, from the bundled CIFAR-10 slice.

    python docs/make_screenshot.py

Scans ``fixtures/cifar10-test-slice.csv`` as ``make demo`` does, renders the page with each row's top classes
(``labelaudit render --data``), opens it in headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
``pip install selenium pillow``), filters the table to flagged rows, and saves the top of the page as a
small palette PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "report.png"
sys.path.insert(0, str(REPO / "benchmarks"))

from _browser import INSTALL, chromium_paths, start_chromium  # noqa: E402


def labelaudit(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "labelaudit", *args], check=True, cwd=REPO)


def main() -> int:
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    work = Path(tempfile.mkdtemp(prefix="labelaudit-shot-"))
    try:
        data = "fixtures/cifar10-test-slice.csv"
        report, page, shot = work / "report.parquet", work / "report.html", work / "shot.png"
        labelaudit("scan", data, "--id-col", "id", "-o", str(report), "-q")
        labelaudit("render", str(report), "-o", str(page), "--data", data, "--title", "labelaudit scan", "-q")
        paths = chromium_paths()
        if paths is None:
            sys.exit(f"headless Chromium not found: {INSTALL}")
        driver = start_chromium(
            paths, str(work / "profile"), window="1280,1500", extra=("--hide-scrollbars",)
        )
        try:
            driver.get(page.as_uri())
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')")
            )
            Select(driver.find_element(By.ID, "flag")).select_by_value("1")
            driver.save_screenshot(str(shot))
        finally:
            driver.quit()
        image = Image.open(shot).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
