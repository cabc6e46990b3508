"""Headless Chromium for the tests that drive the staff and schools' pages in a real browser: Debian's
chromium and chromium-driver (`make chromium`), Selenium Manager never asked (the driver is given), a
profile of the test's own, and a whole page saved as a screenshot for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


@contextmanager
def chromium(tmp_path: Path, width: int = 1366) -> Iterator[webdriver.Chrome]:
    found, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert found and driver, "headless Chromium is needed: `make chromium` installs Debian's chromium and driver"
    options = Options()
    options.binary_location = found
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},1000", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}"]:
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(executable_path=driver, log_output=str(tmp_path / "driver.log")),
                              options=options)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


def save_page(browser: webdriver.Chrome, folders: tuple[Path, ...], name: str, width: int = 1366) -> None:
    """The whole page at `width` (a laptop's, or a phone's), saved in each folder for a person to look at."""
    browser.set_window_size(width, 1000)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, max(1000, int(height) + 100))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(folder / f"{name}.png"))
    browser.set_window_size(1366, 1000)
