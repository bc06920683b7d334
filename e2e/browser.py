"""A real headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium, for the dashboard tests."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
#: Screenshots for the README are written here when WRITE_SCREENSHOTS=1 (`make screenshots`); otherwise to a
#: temporary folder, so a test run leaves the repository as it was.
SCREENSHOTS = ROOT / "docs" / "screenshots"


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def open_browser(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    assert paths, "chromium and chromium-driver are needed (make test installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_script_timeout(30)
    return driver


def wait(condition: Callable[[], Any], timeout: float = 30, message: str = "condition", interval: float = 0.1) -> Any:
    """Polls `condition` until it returns something truthy; fails with `message` after `timeout` seconds."""
    deadline = time.time() + timeout
    last_error: Exception | None = None
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # the page is changing under us: look again
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}" + (f" (last error: {last_error})" if last_error else ""))


def unlabelled_controls(driver) -> list[str]:
    """Visible inputs, selects and text areas without a label (label[for], a wrapping label, aria-label(ledby))."""
    return driver.execute_script(
        """
        const missing = [];
        for (const control of document.querySelectorAll('input, select, textarea')) {
          if (control.type === 'hidden' || control.hidden || control.getAttribute('aria-hidden') === 'true') continue;
          const labelled = (control.id && document.querySelector(`label[for="${control.id}"]`)) || control.closest('label')
            || control.getAttribute('aria-label') || control.getAttribute('aria-labelledby');
          if (!labelled) missing.push(control.outerHTML.slice(0, 120));
        }
        return missing;
        """
    )


def fetch(driver, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A same-origin fetch made by the page (with its session cookie): `{status, body}`."""
    return driver.execute_async_script(
        """
        const [path, method, headers, done] = arguments;
        fetch(path, {method, headers, credentials: 'same-origin'})
          .then(async (response) => done({status: response.status, body: await response.text()}))
          .catch((error) => done({status: 0, body: String(error)}));
        """,
        path,
        method,
        headers or {},
    )


def screenshot(driver, name: str, folder: Path) -> None:
    target = SCREENSHOTS if os.environ.get("WRITE_SCREENSHOTS") == "1" else folder
    target.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(target / f"{name}.png"))
