"""Browser tests of the UI: headless Chromium driven by selenium against the suite's live
`weir server` (the `server` fixture of tests/python/conftest.py).

They skip when /usr/bin/chromium is missing on a developer machine; with CI=true they fail
instead (scripts/setup installs chromium and chromium-driver). Each test saves screenshots of
the pages it visits into target/ui-screenshots/ and fails on errors in the browser console.
"""
import os
import pathlib
import shutil
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO / "target" / "ui-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config, items):
    """Missing Chromium skips these tests on a developer machine and fails them in CI."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    reason = f"browser tests need {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver, or ./scripts/setup)"
    if os.environ.get("CI") == "true":
        return  # the `browser` fixture fails them with this reason
    for item in items:
        if "/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


class Browser:
    """A selenium driver with the helpers the tests share."""

    def __init__(self, driver, host):
        self.driver = driver
        self.host = host

    def get(self, path):
        self.driver.get(self.host + path)

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def wait_for(self, condition, timeout=60, message="condition"):
        deadline = time.time() + timeout
        last_error = None
        while time.time() < deadline:
            try:
                result = condition()
                if result:
                    return result
            except Exception as error:  # the page may be swapping the element right now
                last_error = error
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {message}; last error: {last_error!r}")

    def text(self, selector):
        return self.css(selector).text

    def shot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def console_errors(self, allowed=()):
        """Console errors since the last call, minus the ones matching `allowed`."""
        entries = self.driver.get_log("browser")
        return [
            e["message"] for e in entries
            if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)
        ]

    def assert_no_console_errors(self, allowed=()):
        errors = self.console_errors(allowed)
        assert not errors, f"console errors: {errors}"

    def resize(self, width, height):
        self.driver.set_window_size(width, height)

    def fits_width(self):
        """Whether the page needs no horizontal scrolling (wide tables scroll inside)."""
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture(scope="session")
def browser(server):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(f"CI=true and {CHROMIUM} or {CHROMEDRIVER} is missing; run ./scripts/setup")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="weir-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--window-size=1280,800"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(1280, 800)
    driver.set_page_load_timeout(60)
    try:
        yield Browser(driver, server.host)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
