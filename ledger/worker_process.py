"""Run ``flexmarket worker`` as a child process with given settings (demo, tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ledger.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see ``settings``."""
    env = dict(os.environ)
    for field, value in settings.model_dump().items():
        if value is not None:
            env[f"FLEXMARKET_{field.upper()}"] = str(value)
    env["FLEXMARKET_DATABASE_URL"] = settings.read_model_url
    env["FLEXMARKET_CHAIN_DEPLOYMENT_FILE"] = str(settings.deployment_file)
    return env


class WorkerProcess:
    """A worker (or another long-running ``flexmarket`` command, e.g. ``serve``) in its own
    process group, logging to ``log_file``."""

    def __init__(self, settings: Settings, log_file: Path,
                 command: tuple[str, ...] = ("worker",)) -> None:
        self.settings = settings
        self.log_file = log_file
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ledger.cli", *self.command],
                env=settings_env(self.settings),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final offset commit (a crash)."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
            self.proc.wait()  # type: ignore[union-attr]

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL after the timeout, so no worker outlives its owner."""
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=timeout_s)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
