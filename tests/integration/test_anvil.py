"""The anvil service: a real anvil from npm on a free port, with var/ in a temporary dir."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.stack.base import read_pid
from deploy.stack.node_tools import Anvil
from ledger.settings import get_settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rpc(url: str, method: str) -> Any:
    """A JSON-RPC call written independently of the code under test."""
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        return json.load(response)["result"]


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    """An Anvil service that cannot clash with a developer's own anvil or var/."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEXMARKET_ANVIL_PORT", str(_free_port()))
        mp.setenv("FLEXMARKET_VAR_DIR", str(tmp_path_factory.mktemp("var")))
        get_settings.cache_clear()
        service = Anvil()
        service.install()
        try:
            yield service
        finally:
            service.stop()
            get_settings.cache_clear()


def test_start_answers_json_rpc_and_is_idempotent(anvil: Anvil) -> None:
    port = get_settings().anvil_port
    assert anvil.url == f"http://127.0.0.1:{port}"

    anvil.start()
    pid = read_pid(anvil.pid_file)
    assert pid is not None
    assert int(_rpc(anvil.url, "eth_chainId"), 16) == 31337
    # The default mnemonic's first account, funded.
    accounts = _rpc(anvil.url, "eth_accounts")
    assert accounts[0].lower() == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"

    anvil.start()
    assert read_pid(anvil.pid_file) == pid

    status = anvil.status()
    assert status.running
    assert status.where == anvil.url
    assert "block 0" in status.detail


def test_stop_then_status_says_stopped(anvil: Anvil) -> None:
    anvil.start()
    anvil.stop()
    anvil.stop()  # idempotent

    assert read_pid(anvil.pid_file) is None
    status = anvil.status()
    assert not status.running
    assert status.detail == "stopped"
    with pytest.raises(OSError):
        _rpc(anvil.url, "eth_chainId")
