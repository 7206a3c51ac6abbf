"""Debian's Chromium, for the dashboard's browser tests: installed, never started (each
test run launches its own headless browser through Playwright)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from deploy.stack.base import ServiceStatus, apt_install

DEBIAN_PACKAGE = "chromium"
# Flags for a headless run on a machine with no network beyond loopback: without the
# background-networking ones Chromium keeps dialling Google's hosts and is refused.
HEADLESS_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync")


def chromium_path() -> Path | None:
    """The installed Chromium binary, if there is one."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


class Chromium:
    """Chromium as a stack "service": installed from Debian's packages when missing."""

    name = "chromium"

    def install(self) -> None:
        if chromium_path() is None:
            apt_install(DEBIAN_PACKAGE, what="Chromium")

    def start(self) -> None:
        """Installs it; there is nothing to start."""
        self.install()

    def stop(self) -> None:
        """Nothing to stop."""

    def status(self) -> ServiceStatus:
        path = chromium_path()
        if path is None:
            return ServiceStatus(self.name, False, "-", "not installed")
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                                 check=False).stdout.strip()
        return ServiceStatus(self.name, True, str(path), version or "installed")
