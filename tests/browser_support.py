"""Headless Chromium for the layout and preview tests: the system browser, driven by Playwright.

Playwright's Python package drives the Chromium that Debian installs (`/usr/bin/chromium`); it never
downloads a browser of its own (`playwright install` is not used). Without a Chromium the browser
tests skip with the reason, except under CI (the CI variable set, as `.ci/run` does), where they fail:
a green CI must not hide that the browser was never started.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

# Flags for a browser in a closed sandbox: no background connections (they are refused here and slow
# start-up), no GPU, no sandbox (tests run as root in CI), a profile of its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """$DISTRIBUTE_CHROMIUM, else the system Chromium (Debian's package), else None."""
    override = os.environ.get("DISTRIBUTE_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run: .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[BrowserContext]:
    """One headless Chromium for the session (a Playwright Browser)."""
    path = chromium_path()
    if path is None:
        _unavailable("headless Chromium not found (apt-get install chromium, or set DISTRIBUTE_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    profile = tempfile.mkdtemp(prefix="distribute-chromium-")
    with sync_playwright() as pw:
        # A persistent context is how Playwright takes a --user-data-dir of our own.
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=path, headless=True, args=FLAGS, ignore_default_args=["--enable-automation"]
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(chromium: BrowserContext) -> Iterator[Page]:
    """A fresh tab, closed after the test."""
    tab = chromium.new_page()
    try:
        yield tab
    finally:
        tab.close()
