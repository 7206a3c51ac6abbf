"""The stack's Node-based tools: solc-js behind a solc-compatible shim, and the anvil chain.

Both come from npm (``deploy/node/package.json``, pinned in its lock file) so a fresh clone
needs only Node.js and npm: no solc download from binaries.soliditylang.org (py-solc-x's
``install_solc``) and no foundryup. py-solc-x is pointed at ``deploy/solc/solc``, a wrapper
that behaves like solc's ``--version`` and ``--standard-json``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from deploy.stack.base import (
    ServiceStatus,
    StackError,
    read_pid,
    run,
    spawn,
    terminate,
    wait_until,
)
from ledger.settings import Settings, get_settings

DEPLOY_DIR = Path(__file__).resolve().parents[1]
NODE_DIR = DEPLOY_DIR / "node"
NODE_MODULES = NODE_DIR / "node_modules"
SOLC_SHIM = DEPLOY_DIR / "solc" / "solc"
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

ANVIL_CHAIN_ID = 31337
ANVIL_HARDFORK = "cancun"
# Foundry's default mnemonic, passed explicitly so the funded accounts never change.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

# Written into node_modules after a successful install; npm ci deletes node_modules first,
# so a stamp that matches the lock file proves the tree was installed from that lock.
_STAMP = NODE_MODULES / ".flexmarket-install.sha256"
# Loopback JSON-RPC must not go through an http_proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_VERSION_RE = re.compile(r"\d+\.\d+\.\d+(?:-nightly\.\d+\.\d+\.\d+)?\+commit\.\w+")


def _lock_digest() -> str:
    """Hash of what decides the contents of node_modules (package.json and its lock)."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        file = NODE_DIR / name
        digest.update(name.encode() + b"\0")
        digest.update(file.read_bytes() if file.exists() else b"")
    return digest.hexdigest()


def _installed() -> bool:
    try:
        return _STAMP.read_text().strip() == _lock_digest()
    except FileNotFoundError:
        return False


def npm_install() -> None:
    """Install deploy/node's npm packages unless node_modules already matches the lock.

    Comparing a hash rather than mtimes keeps this right after ``git checkout`` (which
    resets mtimes) and makes the done case a file read. An exclusive lock on deploy/node
    lets parallel callers (test workers, ``stack up``) share one ``npm ci``.
    """
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise StackError("npm not found on PATH: install Node.js >= 20 with npm, then retry")
    dir_fd = os.open(NODE_DIR, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        if _installed():  # another process finished the install while we waited
            return
        has_lock = (NODE_DIR / "package-lock.json").exists()
        verb = "ci" if has_lock else "install"
        run([npm, verb, "--no-audit", "--no-fund"], cwd=NODE_DIR, what=f"npm {verb} in {NODE_DIR}")
        _STAMP.write_text(_lock_digest() + "\n")
    finally:
        os.close(dir_fd)  # also releases the flock


def _ensure_executable(path: Path) -> None:
    """Add the exec bits a checkout or a tarball may have lost."""
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def solc_binary() -> Path:
    """Path of the solc shim to pass as py-solc-x's ``solc_binary``, installing solc-js first.

    Absolute, because py-solc-x runs it from any working directory and refuses relative
    copies (see the notes in /work/shared/notes/kafka-and-solc.md, section 5).
    """
    npm_install()
    _ensure_executable(SOLC_SHIM)
    return SOLC_SHIM


def solc_version() -> str:
    """The compiler version as py-solc-x reads it, e.g. ``0.8.30+commit.73712a01``."""
    out = run([solc_binary(), "--version"], what="solc --version")
    match = _VERSION_RE.search(out)
    if match is None:
        raise StackError(f"solc --version printed no X.Y.Z+commit.<hash>: {out!r}")
    return match.group(0)


class Solc:
    """solc-js as a stack "service": installed by npm, nothing to start or stop."""

    name = "solc"

    def install(self) -> None:
        """Install solc-js (and the other npm tools) from the lock file."""
        npm_install()

    def start(self) -> None:
        """Nothing to start: each compile runs the shim as a short-lived process."""

    def stop(self) -> None:
        """Nothing to stop."""

    def status(self) -> ServiceStatus:
        """``running`` means usable: the shim answers ``--version``."""
        if not _installed():
            return ServiceStatus(self.name, False, str(SOLC_SHIM), "not installed")
        try:
            version = solc_version()
        except StackError as exc:
            return ServiceStatus(self.name, False, str(SOLC_SHIM), str(exc))
        return ServiceStatus(self.name, True, str(SOLC_SHIM), f"solc-js {version}")


class Anvil:
    """A local anvil chain (chain id 31337) on 127.0.0.1, for runs against a real node."""

    name = "anvil"

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """The settings given, or else the process's (read on each call)."""
        return self._settings or get_settings()

    @property
    def url(self) -> str:
        """JSON-RPC URL of the chain."""
        return f"http://127.0.0.1:{self.settings.anvil_port}"

    @property
    def pid_file(self) -> Path:
        return self.settings.var_dir / "run" / "anvil.pid"

    @property
    def log_file(self) -> Path:
        return self.settings.var_dir / "log" / "anvil.log"

    @property
    def state_file(self) -> Path:
        """The chain's state, kept across stops (delete it for a fresh chain)."""
        return self.settings.var_dir / "anvil" / "state.json"

    def install(self) -> None:
        """Install the anvil binary (npm package @foundry-rs/anvil-linux-amd64)."""
        npm_install()

    def binary(self) -> Path:
        """The anvil executable, installing it first; only linux x86_64 is packaged."""
        if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
            raise StackError(
                f"anvil comes from @foundry-rs/anvil-linux-amd64, which does not run on "
                f"{platform.system()} {platform.machine()}; install foundry's anvil yourself "
                "and point FLEXMARKET_CHAIN_URL at it"
            )
        npm_install()
        if not ANVIL_BINARY.is_file():
            raise StackError(f"{ANVIL_BINARY} missing after npm ci: delete {NODE_MODULES}, retry")
        _ensure_executable(ANVIL_BINARY)
        return ANVIL_BINARY

    def start(self) -> None:
        """Start anvil unless our pid file names a live one; return once it answers RPC."""
        if read_pid(self.pid_file) is not None:
            return
        if self._rpc("eth_chainId") is not None:
            raise StackError(
                f"something not started by flexmarket already answers JSON-RPC at {self.url}; "
                "stop it or choose another port with FLEXMARKET_ANVIL_PORT"
            )
        port = self.settings.anvil_port
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        cmd: list[str | Path] = [
            self.binary(), "--host", "127.0.0.1", "--port", str(port),
            "--chain-id", str(ANVIL_CHAIN_ID), "--mnemonic", ANVIL_MNEMONIC,
            # The contracts are compiled for Cancun; pinned so an anvil upgrade cannot
            # change the EVM under them.
            "--hardfork", ANVIL_HARDFORK,
            # Loaded at start and written at exit, so anchored roots survive a restart.
            "--state", str(self.state_file),
            "--quiet", "--color", "never",
        ]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        spawn(cmd, log_file=self.log_file, pid_file=self.pid_file, cwd=self.log_file.parent)
        try:
            wait_until(
                lambda: self._rpc("eth_chainId") is not None,
                timeout_s=30, what=f"anvil on port {port}",
                alive=lambda: read_pid(self.pid_file) is not None, log_file=self.log_file,
            )
        except StackError:
            terminate(self.pid_file)
            raise
        chain_id = int(self._rpc("eth_chainId") or "0x0", 16)
        if chain_id != ANVIL_CHAIN_ID:
            terminate(self.pid_file)
            raise StackError(f"anvil at {self.url} reports chain id {chain_id}, not 31337")

    def stop(self) -> None:
        """Terminate the anvil we started; it writes its state file as it exits."""
        terminate(self.pid_file)

    def status(self) -> ServiceStatus:
        """Running state, URL and current block number."""
        pid = read_pid(self.pid_file)
        if pid is None:
            return ServiceStatus(self.name, False, self.url, "stopped")
        block = self._rpc("eth_blockNumber")
        if block is None:
            return ServiceStatus(self.name, True, self.url, f"pid {pid}, not answering JSON-RPC")
        return ServiceStatus(
            self.name, True, self.url,
            f"pid {pid}, chain id {ANVIL_CHAIN_ID}, block {int(block, 16)}",
        )

    def _rpc(self, method: str, params: list[Any] | None = None) -> Any | None:
        """The JSON-RPC result, or None when nothing answers (yet)."""
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with _LOOPBACK.open(request, timeout=2) as response:
                return json.load(response).get("result")
        except (urllib.error.URLError, OSError, ValueError):
            return None
