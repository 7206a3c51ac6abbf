"""The dashboard's public routes: its files, and a config.json that offers a browser the
chain to verify against without handing out a hosted node's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.settings import Settings
from market.api.app import create_app
from tests.auth import TEST_AUTH_KEYS


def _config(tmp_path: Path, **settings: object) -> dict[str, object]:
    app = create_app(Settings(auth_keys=TEST_AUTH_KEYS, var_dir=tmp_path,  # type: ignore[arg-type]
                              database_url=f"sqlite:///{tmp_path / 'rm.db'}", **settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/dashboard/config.json")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_local_node_and_the_deployed_anchor_are_offered(tmp_path: Path) -> None:
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "deployment.json").write_text(json.dumps(
        {"chain_id": 31337, "addresses": {"EventAnchor": "0xabc"}, "block_number": 1}))
    assert _config(tmp_path, chain_url="http://127.0.0.1:8545") == {
        "chain_url": "http://127.0.0.1:8545", "chain_id": 31337, "event_anchor": "0xabc"}


@pytest.mark.parametrize("url", ["https://mainnet.example.io/v3/SECRET-KEY",
                                 "http://user:pass@127.0.0.1:8545",
                                 "http://127.0.0.1:8545/?key=SECRET", "eth-tester://"])
def test_a_chain_url_that_may_carry_a_key_is_not_offered(tmp_path: Path, url: str) -> None:
    assert _config(tmp_path, chain_url=url)["chain_url"] is None


def test_the_browser_chain_url_is_offered_as_set(tmp_path: Path) -> None:
    config = _config(tmp_path, chain_url="https://mainnet.example.io/v3/SECRET-KEY",
                     browser_chain_url="https://rpc.example.org")
    assert config["chain_url"] == "https://rpc.example.org"


def test_a_missing_or_broken_deployment_file_offers_no_anchor(tmp_path: Path) -> None:
    assert _config(tmp_path)["event_anchor"] is None
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "deployment.json").write_text("{not json")
    assert _config(tmp_path)["event_anchor"] is None


def test_only_the_dashboards_own_files_are_served(tmp_path: Path) -> None:
    app = create_app(Settings(auth_keys=TEST_AUTH_KEYS, var_dir=tmp_path,  # type: ignore[arg-type]
                              database_url=f"sqlite:///{tmp_path / 'rm.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert client.get("/dashboard/static/verify.js").status_code == 200
        assert client.get("/dashboard/static/..%2Frouter.py").status_code == 404
        assert client.get("/dashboard/static/index.html").status_code == 404
