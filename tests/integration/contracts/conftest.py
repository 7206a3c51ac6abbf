"""A chain per backend (eth-tester in process, a real anvil), the contracts deployed once per
module, and each test run inside a snapshot that is reverted after it.

Every test taking ``chain`` runs on both backends. Gas recorded with ``chain.gas`` is
printed in a "contract gas" section at the end of the run (measured, never asserted).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from web3 import Web3

from contracts.chain import in_process_web3
from contracts.deploy import Deployment, contract, deploy_contracts
from deploy.stack.node_tools import Anvil
from ledger.settings import get_settings
from tests.integration.contracts.harness import Backend, Chain

BACKENDS = ("eth-tester", "anvil")

_GAS_ROWS = pytest.StashKey[list[tuple[str, str, int]]]()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise RuntimeError(f"{method} failed: {response['error']}")
    return response["result"]


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real anvil on a free port with var/ in a temporary dir, stopped after the session.

    The environment is patched only while anvil starts and stops, so the rest of the
    session keeps its own settings.
    """
    env = {
        "FLEXMARKET_ANVIL_PORT": str(_free_port()),
        "FLEXMARKET_VAR_DIR": str(tmp_path_factory.mktemp("anvil-var")),
    }

    def patched(action: Callable[[Anvil], Any]) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            get_settings.cache_clear()
            try:
                return action(Anvil())
            finally:
                get_settings.cache_clear()

    def start(service: Anvil) -> str:
        service.start()
        return service.url

    url = patched(start)
    try:
        yield url
    finally:
        patched(lambda service: service.stop())


def _eth_tester() -> Backend:
    w3 = in_process_web3()
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    return Backend("eth-tester", w3, tester.take_snapshot, tester.revert_to_snapshot)


def _anvil(url: str) -> Backend:
    # Loopback: never through an http_proxy of the environment.
    w3 = Web3(Web3.HTTPProvider(
        url, request_kwargs={"timeout": 30, "proxies": {"http": None, "https": None}}
    ))

    def revert(snapshot_id: Any) -> None:
        if _rpc(w3, "evm_revert", [snapshot_id]) is not True:
            raise RuntimeError(f"anvil could not revert to snapshot {snapshot_id}")

    return Backend("anvil", w3, lambda: _rpc(w3, "evm_snapshot", []), revert)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend once per session; anvil starts on first use."""
    if request.param == "eth-tester":
        return _eth_tester()
    return _anvil(request.getfixturevalue("anvil_url"))


@pytest.fixture(scope="module")
def deployment(backend: Backend) -> Deployment:
    """The three contracts, deployed once per test module and backend."""
    return deploy_contracts(backend.w3, backend.w3.eth.accounts[0])


@pytest.fixture
def chain(backend: Backend, deployment: Deployment,
          request: pytest.FixtureRequest) -> Iterator[Chain]:
    """The deployed contracts on one backend; everything a test does is reverted after it."""
    w3 = backend.w3
    accounts = list(w3.eth.accounts)
    snapshot_id = backend.snapshot()
    try:
        yield Chain(
            backend=backend,
            w3=w3,
            admin=accounts[0],
            others=accounts[1:6],
            deployment=deployment,
            token=contract(w3, "FlexToken", deployment.addresses["FlexToken"]),
            anchor=contract(w3, "EventAnchor", deployment.addresses["EventAnchor"]),
            registry=contract(w3, "SettlementRegistry",
                              deployment.addresses["SettlementRegistry"]),
            gas_rows=request.config.stash.setdefault(_GAS_ROWS, []),
        )
    finally:
        backend.revert(snapshot_id)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The gas measured by this run, per backend."""
    rows = config.stash.get(_GAS_ROWS, [])
    if not rows:
        return
    terminalreporter.section("contract gas (measured, not asserted)")
    for backend, label, used in rows:
        terminalreporter.write_line(f"{backend:<11} {label:<66} {used:>9,}")
