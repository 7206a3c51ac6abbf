"""Settings of every part, read from environment variables prefixed ``FLEXMARKET_``.

Defaults run on one laptop: SQLite read models, a Kafka broker on loopback started by
``flexmarket stack up``, and the anvil chain the stack starts (``eth-tester://`` gives an
in-process chain instead, seen only by the process that made it). Settings are read when
first asked for (``get_settings()``), never at import, so tests can set variables first.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """All of flexmarket's configuration; see the README's "Configuration" table."""

    model_config = SettingsConfigDict(env_prefix="FLEXMARKET_", extra="ignore")

    var_dir: Path = Field(PROJECT_ROOT / "var", description="data, logs and pid files of the stack")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    topic_prefix: str = Field("", description="prefix of every topic name (isolates test runs)")
    topic_partitions: int = Field(4, ge=1, description="partitions of each catalog topic")
    kafka_timeout_seconds: float = Field(
        10.0, gt=0, description="how long a producer waits for the broker (to connect, "
        "for metadata, for an acknowledgement) before it fails: an API write then answers "
        "503")
    app_id: str = Field("flexmarket", description="Faust application id (consumer group)")

    database_url: str = Field(
        "", description="SQLAlchemy URL of the read models; default: SQLite under var/"
    )
    postgres_port: int = Field(5433, description="port of the PostgreSQL started by the stack")
    postgres_password: str = Field("flexmarket", description="password of the flexmarket role")

    # Not eth-tester by default: the worker anchors, the API serves proofs and the auditor's
    # CLI verifies them from three processes, and an in-process chain is seen by one only.
    chain_url: str = Field(
        "", description="JSON-RPC URL of the chain; default: the stack's anvil; "
        "eth-tester:// for an in-process chain"
    )
    anvil_port: int = Field(8545, description="port of the anvil node started by the stack")
    browser_chain_url: str = Field(
        "", description="the chain's JSON-RPC URL as a browser reaches it, offered by the "
        "dashboard's verify page; default: CHAIN_URL")
    chain_deployment_file: Path | None = Field(
        None, description="where `chain deploy` writes the contract addresses; "
        "default: var/chain/deployment.json"
    )
    anchor_batch_size: int = Field(1000, ge=1, description="most events in one anchored batch")
    anchor_batch_seconds: float = Field(
        2.0, gt=0, description="longest an event waits before its batch is anchored (s)"
    )
    # About 37,000 gas a batch: 100 keep a transaction near 4M gas, far below block limits,
    # however long the backlog an outage left.
    anchor_batches_per_transaction: int = Field(
        100, ge=1, description="most batches in one anchoring transaction"
    )

    api_host: str = Field("127.0.0.1", description="address `flexmarket serve` listens on")
    api_port: int = Field(8000, description="port `flexmarket serve` listens on")
    api_workers: int = Field(1, ge=1, description="server processes of `flexmarket serve`")
    api_token: str = Field("", description="the bearer token the CLI sends to the API "
                           "(`audit verify`): an auditor's, from POST /v1/auth/token")
    api_url: str = Field("", description="base URL of the API for the CLI; default: "
                         "http://API_HOST:API_PORT")

    projector_batch_size: int = Field(2000, ge=1, description="events per projector transaction")
    projector_batch_seconds: float = Field(0.2, gt=0, description="max wait to fill a batch (s)")

    profile: Literal["demo", "production"] = Field(
        "production", description="demo: the stack's well-known secrets are allowed; "
        "production: every secret must be configured (the API and worker refuse to start)")
    auth_keys: str = Field(
        "", description="the API's token signing keys, `kid:secret` separated by commas, "
        "first signs (at least 32 bytes of secret each); or use AUTH_KEYS_FILE")
    auth_keys_file: Path | None = Field(
        None, description="a file of signing keys, one `kid secret` per line, first signs "
        "(`flexmarket keys new|retire` edit it)")
    auth_token_minutes: float = Field(
        15.0, gt=0, le=24 * 60, description="how long a bearer token is valid (minutes)")
    retry_after_seconds: int = Field(
        5, ge=1, description="the Retry-After of a 503 when a service behind the API is down")
    uftp_domain: str = Field(
        "flexmarket.local", pattern=r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$",
        description="the market's Internet domain in USEF/UFTP messages (docs/uftp.md)")
    uftp_domains: dict[str, str] = Field(
        default_factory=dict, description="USEF/UFTP: participants' Internet domains, JSON "
        "{participant id: domain}; one not named is <id in lower case>.<UFTP_DOMAIN>")

    log_level: str = Field("WARNING", description="structured log level")
    processors: str = Field(
        "all", description="the stream processors a worker runs: all, or a comma-separated "
        "list (projector, anchor, scheduler, clearing, final_clearing, technical_validation, "
        "pod_pom_association, setpoint_relay, dso_requests, certification, "
        "metering_publication, settlement, dispatch, offer_submission)")

    time_zone: str = Field("Europe/Rome", description="time zone of the session calendar")
    clock: Literal["system", "simulated"] = Field(
        "system", description="real time, or simulated time for demos and tests")
    clock_start: datetime | None = Field(
        None, description="simulated clock: the simulated time at CLOCK_ANCHOR")
    clock_anchor: datetime | None = Field(
        None, description="simulated clock: the real instant it read CLOCK_START")
    clock_speed: float = Field(1.0, gt=0, description="simulated seconds per real second")
    scheduler_tick_seconds: float = Field(
        1.0, gt=0, description="how often the session scheduler looks at the clock (real s)")

    clearing_engine: Literal["nsga2", "milp", "merit_order"] = Field(
        "nsga2", description="the clearing engine (MARKET_RULES.md \"Clearing\")")
    clearing_pricing: Literal["pay_as_bid", "pay_as_clear"] = Field(
        "pay_as_bid", description="what an award is paid")
    clearing_seed: int = Field(1, description="NSGA-II random seed, recorded in MarketCleared")
    nsga2_population: int = Field(32, ge=4, description="NSGA-II population size")
    nsga2_generations: int = Field(40, ge=1, description="NSGA-II generations at most")
    default_reliability: float = Field(
        0.95, ge=0, le=1, description="delivery reliability of a PoD without a record")
    # Submissions the API accepted just before gate closure may reach Kafka just after
    # the scheduler's SessionClosed: clearing waits this long before reading them.
    clearing_settle_seconds: float = Field(
        2.0, ge=0, description="real seconds clearing waits after gate closure")

    dso_grid: str = Field(
        "cigre_mv", description="the DSO's grid: cigre_mv, case33bw, mv_oberrhein or a "
        "pandapower JSON file")
    dso_v_min_pu: float = Field(0.90, gt=0, description="lowest bus voltage allowed (pu)")
    dso_v_max_pu: float = Field(1.10, gt=0, description="highest bus voltage allowed (pu)")
    dso_max_loading_pct: float = Field(
        100.0, gt=0, description="highest line and transformer loading allowed (%)")
    dso_load_scale: float = Field(
        1.0, ge=0, description="the grid's loads at the daily peak, times their rated values")
    dso_id: str = Field("DSO-ARETI", description="the DSO's participant id on its requests")
    dso_voltage_quantity_type: Literal["P", "Q"] = Field(
        "Q", description="what the DSO asks for against a voltage violation (kW or kVAr)")
    dso_sgen_scale: float = Field(
        1.0, ge=0, description="the grid's generators at clear-sky noon, times their rating")

    metering_grace_minutes: float = Field(
        15.0, ge=0, description="how long after a quarter-hour ends its reading may arrive "
        "before it is published as missing (simulated minutes on a simulated clock)")
    certification_batch_size: int = Field(
        2000, ge=1, description="light-node packets the access layer checks per batch")
    settlement_band: float = Field(
        0.30, ge=0, le=1, description="tolerated deviation of delivered from awarded "
        "energy before a penalty (0.30: Italian TSO rule 300/2017/R/ee)")
    settlement_penalty_eur_per_mwh: float = Field(
        100.0, ge=0, description="penalty rate on a penalised PoD's deviation (€/MWh)")
    settlement_transfers_per_transaction: int = Field(
        200, ge=1, description="most token transfers in one settlement transaction")

    @property
    def read_model_url(self) -> str:
        """The read-model database URL, defaulting to a SQLite file under ``var_dir``."""
        return self.database_url or f"sqlite:///{self.var_dir / 'flexmarket.db'}"

    @property
    def chain_endpoint(self) -> str:
        """The chain's URL, defaulting to the anvil node of the local stack."""
        return self.chain_url or f"http://127.0.0.1:{self.anvil_port}"

    @property
    def deployment_file(self) -> Path:
        """Where the contract addresses of the configured chain are kept."""
        return self.chain_deployment_file or self.var_dir / "chain" / "deployment.json"

    @property
    def api_base_url(self) -> str:
        """The API's base URL as the CLI reaches it."""
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def postgres_url(self) -> str:
        """URL of the project's database on the PostgreSQL the stack starts."""
        return (
            f"postgresql+psycopg://flexmarket:{self.postgres_password}"
            f"@127.0.0.1:{self.postgres_port}/flexmarket"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
