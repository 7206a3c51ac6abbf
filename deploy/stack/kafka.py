"""Apache Kafka in KRaft mode from the official jars on Maven Central (deploy/kafka/pom.xml)."""

from __future__ import annotations

import base64
import shutil
import socket
import uuid
from pathlib import Path

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

KAFKA_DIR = Path(__file__).resolve().parents[1] / "kafka"
POM = KAFKA_DIR / "pom.xml"


def kafka_version() -> str:
    """The Kafka release the pom pins."""
    text = POM.read_text()
    return text.split("<kafka.version>")[1].split("</kafka.version>")[0]


def _host_port(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    return host or "127.0.0.1", int(port)


class Kafka:
    """A single-node broker+controller whose data lives under ``var/kafka``."""

    name = "kafka"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.host, self.port = _host_port(self.settings.kafka_bootstrap)
        var = self.settings.var_dir
        self.home = var / "kafka"
        self.lib = var / "kafka-lib" / kafka_version()
        self.data_dir = self.home / "data"
        self.config = self.home / "server.properties"
        self.pid_file = var / "run" / "kafka.pid"
        self.log_dir = var / "log"
        self.log_file = self.log_dir / "kafka.out"

    def install(self) -> None:
        """Fetch the broker jars with Maven (skipped when this version is already there)."""
        stamp = self.lib / ".complete"
        if stamp.exists():
            return
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise StackError("Kafka needs java (17+) and mvn; install the JDK and Maven")
        self.lib.mkdir(parents=True, exist_ok=True)
        print(f"fetching Apache Kafka {kafka_version()} jars from Maven Central …", flush=True)
        run(["mvn", "-q", "-B", "-f", POM, "dependency:copy-dependencies",
             f"-DoutputDirectory={self.lib}", "-DincludeScope=runtime"],
            what="mvn dependency:copy-dependencies (deploy/kafka/pom.xml)")
        stamp.write_text(kafka_version())

    def start(self) -> None:
        """Format the storage once, start the node and wait until it answers metadata."""
        if read_pid(self.pid_file) is not None:
            return
        self.install()
        self._write_config()
        if not (self.data_dir / "meta.properties").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            run(self._java("kafka.tools.StorageTool", "format", "-t", _cluster_id(),
                           "-c", self.config, "-g"), what="formatting Kafka storage")
        spawn(self._java("kafka.Kafka", self.config, jvm=True),
              log_file=self.log_file, pid_file=self.pid_file)
        try:
            wait_until(self._answers_metadata, timeout_s=90, what="Kafka",
                       alive=lambda: read_pid(self.pid_file) is not None,
                       log_file=self.log_dir / "kafka-server.log")
        except StackError:
            self.stop()  # leave nothing half-started behind
            raise

    def stop(self) -> None:
        terminate(self.pid_file, timeout_s=45)

    def status(self) -> ServiceStatus:
        running = read_pid(self.pid_file) is not None and self._answers_metadata()
        return ServiceStatus(self.name, running, f"{self.host}:{self.port}",
                             f"Apache Kafka {kafka_version()} (KRaft), data {self.data_dir}")

    def _java(self, main: str, *args: str | Path, jvm: bool = False) -> list[str | Path]:
        # bin/*.sh would set heap and GC; plain java needs them (notes/kafka-and-solc.md §4).
        heap = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true"] if jvm else []
        logging = [f"-Dkafka.logs.dir={self.log_dir}",
                   f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}"]
        return ["java", *heap, *logging, "-cp", f"{self.lib}/*", main, *args]

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        template = (KAFKA_DIR / "server.properties").read_text()
        self.config.write_text(template.format(
            host=self.host, port=self.port, controller_port=self.port + 1,
            data_dir=self.data_dir))

    def _answers_metadata(self) -> bool:
        """Readiness is a metadata answer, not an open port (notes/kafka-and-solc.md §4)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1):
                pass
        except OSError:
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(bootstrap_servers=f"{self.host}:{self.port}",
                                     request_timeout_ms=3000)
        except (KafkaError, OSError, ValueError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, base64url without padding (22 characters)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
