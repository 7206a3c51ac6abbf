"""Run ``flexmarket worker`` as a child process with given settings (demo, tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

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


class WorkerWaitFailed(RuntimeError):
    """The worker died, or the awaited condition did not come true in time."""


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

    def wait_until(self, condition: Callable[[], bool], *, what: str, timeout_s: float,
                   poll_s: float = 0.2, report_every_s: float | None = None) -> None:
        """Poll ``condition`` until it holds, as long as the worker lives.

        Args:
            condition: checked every ``poll_s`` seconds.
            what: what is awaited, for messages ("2,000 events projected").
            timeout_s: longest wait (s).
            poll_s: pause between checks (s).
            report_every_s: print "… waiting for <what>" this often (s), for long CLI work.

        Raises:
            WorkerWaitFailed: the worker died (with the end of its log), or time ran out.
        """
        deadline = time.monotonic() + timeout_s
        reported = time.monotonic()
        while not condition():
            if not self.alive():
                raise WorkerWaitFailed(f"the worker died while waiting for {what}; end of "
                                       f"{self.log_file}:\n{self.log_file.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise WorkerWaitFailed(f"timed out after {timeout_s:.0f} s waiting for {what}; "
                                       f"see {self.log_file}")
            if report_every_s is not None and time.monotonic() - reported > report_every_s:
                print(f"  … waiting for {what}", flush=True)
                reported = time.monotonic()
            time.sleep(poll_s)

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


def api_answers(settings: Settings) -> bool:
    """Whether ``flexmarket serve`` at the settings' base URL answers its health check
    (liveness only, no service behind it): what to wait for while one starts."""
    try:
        return httpx.get(f"{settings.api_base_url}/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A TCP port free on loopback now (for a second API or node beside the stack's)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
