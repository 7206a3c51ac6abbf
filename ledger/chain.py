"""The chain adapter: connecting (JSON-RPC or in process), the deployment file, EventAnchor.

Everything web3 touches in the ledger goes through here; the anchoring rules themselves
are in ``ledger.anchoring`` and know nothing of web3.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract

from contracts.artifacts import load_artifact
from contracts.chain import in_process_web3
from contracts.deploy import Deployment, contract, deploy_contracts
from ledger.anchoring import AnchorBatch, AnchoredBatch, Stream
from ledger.settings import Settings

IN_PROCESS = "eth-tester://"
RPC_TIMEOUT_S = 10


class ChainError(RuntimeError):
    """The chain cannot be used: unreachable, not deployed to, or another chain."""


class ChainUnreachable(ChainError):
    """Nothing answers JSON-RPC at the chain's URL."""


class NotDeployed(ChainError):
    """The chain answers, but our contracts are not (or no longer) on it."""


def connect(url: str) -> Web3:
    """A web3 connection to ``url``; ``eth-tester://`` is this process's in-process chain."""
    if url == IN_PROCESS:
        return _in_process()[0]
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"chain URL {url!r} is neither eth-tester:// nor http(s)://")
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_S}))


@cache
def _in_process() -> tuple[Web3, Deployment]:
    """One eth-tester chain per process, with the contracts deployed as it starts.

    Nothing outside the process can see it, so there is no deployment file to write.
    """
    w3 = in_process_web3()
    return w3, deploy_contracts(w3, w3.eth.accounts[0])


def deploy(settings: Settings) -> Deployment:
    """Deploy the contracts to the configured chain and record where they are.

    Raises:
        ChainError: when the chain does not answer.
    """
    url = settings.chain_endpoint
    if url == IN_PROCESS:
        return _in_process()[1]
    w3 = _reachable(url)
    deployment = deploy_contracts(w3, w3.eth.accounts[0])
    path = settings.deployment_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"chain_url": url, **asdict(deployment)}, indent=2) + "\n")
    return deployment


def ensure_deployed(settings: Settings) -> tuple[Deployment, bool]:
    """The configured chain's deployment, deploying first if it has none (idempotent).

    Returns:
        The deployment, and whether it was made just now.
    """
    try:
        return load_deployment(settings, _reachable(settings.chain_endpoint)), False
    except NotDeployed:
        return deploy(settings), True


def load_deployment(settings: Settings, w3: Web3) -> Deployment:
    """The deployment of the configured chain, checked against the chain itself.

    Raises:
        ChainError: no deployment file, a file for another chain, or no code at the
            recorded address (a fresh node after a restart without its state).
    """
    url = settings.chain_endpoint
    if url == IN_PROCESS:
        return _in_process()[1]
    path = settings.deployment_file
    if not path.is_file():
        raise NotDeployed(f"no contracts deployed for {url} ({path} missing): "
                         "run `flexmarket chain deploy`")
    data = json.loads(path.read_text())
    deployment = Deployment(chain_id=data["chain_id"], addresses=data["addresses"],
                            block_number=data["block_number"])
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise NotDeployed(f"{path} is for chain {deployment.chain_id}, but {url} is chain "
                         f"{chain_id}: run `flexmarket chain deploy`")
    for name, address in deployment.addresses.items():
        code = bytes(w3.eth.get_code(address))
        if not code:
            raise NotDeployed(f"{url} has no {name} at {address} (a new chain?): run "
                             "`flexmarket chain deploy`")
        # Contracts changed in the checkout (a new function) are not the ones on chain.
        if code != bytes.fromhex(load_artifact(name).deployed_bytecode.removeprefix("0x")):
            raise NotDeployed(f"the {name} at {address} on {url} is not the committed "
                             "contract (an older build?): run `flexmarket chain deploy`")
    return deployment


def open_chain(settings: Settings) -> tuple[Web3, Deployment]:
    """A connection to the configured chain and its checked deployment.

    Raises:
        ChainError: see ``load_deployment``; also when the chain does not answer.
    """
    w3 = _reachable(settings.chain_endpoint)
    return w3, load_deployment(settings, w3)


def _reachable(url: str) -> Web3:
    w3 = connect(url)
    try:
        w3.eth.chain_id  # noqa: B018 - the call is the reachability check
    except Exception as exc:
        raise ChainUnreachable(f"no chain answers at {url}: {exc}") from None
    return w3


class AnchorLedger:
    """The ``EventAnchor`` contract of one deployment, read by anyone, written by the anchorer."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.contract: Contract = contract(w3, "EventAnchor",
                                           deployment.addresses["EventAnchor"])

    @classmethod
    def open(cls, settings: Settings) -> AnchorLedger:
        """The anchor of the configured chain.

        Raises:
            ChainError: see ``load_deployment``; also when the chain does not answer.
        """
        return cls(*open_chain(settings))

    @property
    def address(self) -> str:
        return self.deployment.addresses["EventAnchor"]

    def next_offset(self, stream: Stream) -> int:
        """The first offset of ``stream`` the chain has not anchored (0 for none)."""
        return int(self.contract.functions.nextOffset(stream.topic, stream.partition).call())

    def anchor(self, batches: Sequence[AnchorBatch]) -> list[AnchoredBatch]:
        """Anchor ``batches`` in one transaction and return them as the chain recorded them.

        Raises:
            web3's errors: a revert (``RangeNotContiguous`` when another writer moved a
                partition on) or a connection failure; the caller re-reads the chain.
        """
        sender = self.w3.eth.accounts[0]
        tx = self.contract.functions.anchorMany([
            (b.stream.topic, b.stream.partition, b.first_offset, b.last_offset, b.count, b.root)
            for b in batches
        ]).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=60)
        if receipt["status"] != 1:
            raise ChainError(f"anchor transaction {tx.hex()} reverted")
        timestamp = int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        logs = self.contract.events.BatchAnchored().process_receipt(receipt)
        return [_anchored(log, timestamp, int(receipt["gasUsed"])) for log in logs]

    def anchored(self, stream: Stream | None = None, from_offset: int = 0) -> list[AnchoredBatch]:
        """Batches on chain (of ``stream``, or all), oldest first, read from the logs.

        Args:
            stream: one partition, or None for every partition.
            from_offset: skip batches that end before this offset.
        """
        filters: dict[str, Any] = {}
        if stream is not None:
            filters["stream"] = self.contract.functions.streamId(stream.topic,
                                                                 stream.partition).call()
        logs = self.contract.events.BatchAnchored().get_logs(
            from_block=self.deployment.block_number, argument_filters=filters)
        timestamps: dict[int, int] = {}
        batches = []
        for log in logs:
            block = int(log["blockNumber"])
            if block not in timestamps:
                timestamps[block] = int(self.w3.eth.get_block(block)["timestamp"])
            batch = _anchored(log, timestamps[block], gas_used=None)
            if batch.batch.last_offset >= from_offset:
                batches.append(batch)
        return batches


def _anchored(log: Any, timestamp: int, gas_used: int | None) -> AnchoredBatch:
    args = log["args"]
    return AnchoredBatch(
        batch=AnchorBatch(Stream(args["topic"], int(args["partition"])), int(args["firstOffset"]),
                          int(args["lastOffset"]), int(args["count"]), bytes(args["root"])),
        tx_hash="0x" + bytes(log["transactionHash"]).hex(),
        block_number=int(log["blockNumber"]),
        block_timestamp=timestamp,
        tx_gas_used=gas_used,
    )
