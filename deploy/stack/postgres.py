"""PostgreSQL from Debian's packages: a cluster of the project's own under ``var/postgres``."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from pathlib import Path

from deploy.stack.base import ServiceStatus, StackError, apt_install, run
from ledger.settings import Settings, get_settings

DEBIAN_PACKAGE = "postgresql"


def _bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed, if any."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                      key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _cluster_home(var_dir: Path) -> Path:
    """``var_dir`` when the server's user can reach it, else a folder of its own.

    As root the server runs as ``postgres``, which cannot enter a checkout below a private
    home (``/root`` is 0700); the cluster then lives under /var/lib/postgresql, one per
    checkout.
    """
    if os.geteuid() != 0 or _postgres_can_enter(var_dir):
        return var_dir
    digest = hashlib.sha256(str(var_dir.resolve()).encode()).hexdigest()[:10]
    return Path("/var/lib/postgresql") / f"flexmarket-{digest}"


def _postgres_can_enter(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)],
                           capture_output=True, check=False)
    return probe.returncode == 0


class Postgres:
    """A private PostgreSQL cluster on loopback with a ``flexmarket`` role and database."""

    name = "postgres"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        home = _cluster_home(self.settings.var_dir)
        self.data_dir = home / "postgres"
        self.socket_dir = home / "run"
        self.log_file = home / "log" / "postgres.log"
        self.port = self.settings.postgres_port

    def install(self) -> None:
        """Install Debian's ``postgresql`` package when the server binaries are missing."""
        if _bin_dir() is not None:
            return
        apt_install(DEBIAN_PACKAGE, what="PostgreSQL")

    def start(self) -> None:
        """Create the cluster once, start it, and make sure the role and database exist."""
        self.install()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if not self._running():
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.log_file.parent, self.socket_dir)
            self._pg("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60",
                     "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1",
                     "start", what="starting PostgreSQL")
        self._ensure_role_and_database()

    def stop(self) -> None:
        if self._running():
            self._pg("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop",
                     what="stopping PostgreSQL")

    def status(self) -> ServiceStatus:
        bin_dir = _bin_dir()
        version = bin_dir.parts[-2] if bin_dir else "not installed"
        return ServiceStatus(self.name, self._running(), f"127.0.0.1:{self.port}",
                             f"PostgreSQL {version}, data {self.data_dir}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one statement as the superuser over the Unix socket; returns unaligned rows."""
        return self._pg("psql", "-h", self.socket_dir, "-p", str(self.port), "-U", "postgres",
                        "-d", database, "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql,
                        what="psql")

    def _initdb(self) -> None:
        # Local connections are trusted over the private socket only; TCP needs a password.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self._pg("initdb", "-D", self.data_dir, "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                 what="initdb")

    def _ensure_role_and_database(self) -> None:
        password = self.settings.postgres_password.replace("'", "''")
        if not self.psql("SELECT 1 FROM pg_roles WHERE rolname='flexmarket'").strip():
            self.psql(f"CREATE ROLE flexmarket LOGIN CREATEDB PASSWORD '{password}'")
        if not self.psql("SELECT 1 FROM pg_database WHERE datname='flexmarket'").strip():
            self.psql("CREATE DATABASE flexmarket OWNER flexmarket")

    def _running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        proc = subprocess.run(
            [str(self._bin("pg_isready")), "-h", str(self.socket_dir), "-p", str(self.port)],
            capture_output=True, check=False)
        return proc.returncode == 0

    def _bin(self, tool: str) -> Path:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise StackError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        return bin_dir / tool

    def _pg(self, tool: str, *args: str | Path, what: str) -> str:
        """Run a PostgreSQL tool; as root, as the 'postgres' user (the server refuses root)."""
        cmd: list[str | Path] = [self._bin(tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return run(cmd, what=what)

    def _chown(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam("postgres")
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, user.pw_uid, user.pw_gid)
