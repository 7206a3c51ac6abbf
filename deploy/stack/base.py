"""What every service of the local stack offers, and the process helpers they share."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StackError(RuntimeError):
    """A service could not be installed or started; the message says what to do."""


@dataclass(frozen=True)
class ServiceStatus:
    """One line of ``flexmarket stack status``."""

    name: str
    running: bool
    where: str
    detail: str = ""


class Service(Protocol):
    """A part of the local stack. Every method is idempotent."""

    name: str

    def install(self) -> None:
        """Fetch what the service needs (a no-op when already there)."""

    def start(self) -> None:
        """Start the service and return once it answers (a no-op when running)."""

    def stop(self) -> None:
        """Stop the service (a no-op when stopped)."""

    def status(self) -> ServiceStatus:
        """Say whether it runs and where."""


def run(cmd: Sequence[str | Path], *, cwd: Path | None = None, what: str) -> str:
    """Run a set-up command, raising a StackError with its output when it fails."""
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        raise StackError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def apt_install(package: str, *, what: str) -> None:
    """Install one of Debian's packages, as root with apt-get (the CI machine's way).

    Raises:
        StackError: not root, no apt-get, or apt-get failed; the message names the package.
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"{what} is missing: install Debian's {package!r} package")
    print(f"installing {what} from Debian's packages …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise StackError(f"{' '.join(cmd)} failed: {proc.stderr[-1500:]}")


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process is alive, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # A zombie still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return None
    return None if state == "Z" else pid


def spawn(cmd: Sequence[str | Path], *, log_file: Path, pid_file: Path,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start a long-running process detached from this one, logging to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env, cwd=cwd,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def wait_until(ready: Callable[[], bool], *, timeout_s: float, what: str,
               alive: Callable[[], bool] = lambda: True, log_file: Path | None = None) -> None:
    """Poll ``ready`` until true; fail fast if ``alive`` turns false, else after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            raise StackError(f"{what} exited during start-up{_log_tail(log_file)}")
        time.sleep(0.3)
    raise StackError(f"{what} did not become ready within {timeout_s:.0f} s{_log_tail(log_file)}")


def terminate(pid_file: Path, *, timeout_s: float = 30.0) -> None:
    """SIGTERM the process group in ``pid_file``, SIGKILL it after the timeout."""
    pid = read_pid(pid_file)
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while read_pid(pid_file) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if read_pid(pid_file) is not None:
            _signal_group(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _log_tail(log_file: Path | None) -> str:
    if log_file is None or not log_file.exists():
        return ""
    lines = log_file.read_text(errors="replace").splitlines()[-15:]
    return f"; last lines of {log_file}:\n" + "\n".join(lines)
