"""Headless Chromium through selenium, started the same way by the HTML benchmark, its browser tests and the
README screenshot script."""

from __future__ import annotations

import shutil

INSTALL = "apt-get install -y chromium chromium-driver; pip install selenium"
# no network of any kind: background services otherwise try to reach the outside at every start
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_paths() -> tuple[str, str] | None:
    """(browser, chromedriver) when both are installed, else ``None``."""
    chromium = next(
        (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
        None,
    )
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def start_chromium(
    paths: tuple[str, str], profile: str, *, window: str = "1280,1600", extra: tuple[str, ...] = ()
):
    """A selenium driver of headless Chromium with a fresh ``profile`` directory."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, *extra, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver_path))
