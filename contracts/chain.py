"""An in-process chain (eth-tester on py-evm) that reports reverts the way a node does.

web3 8's ``EthereumTesterProvider`` turns every revert into ``TransactionFailed("execution
reverted: ...")`` after trying to decode the revert data as an ``Error(string)``: a custom
error's selector and arguments are lost (or garbled into the message). A JSON-RPC node such
as anvil answers ``{"code": 3, "message": "execution reverted", "data": "0x<selector><args>"}``
instead, from which web3 raises ``ContractCustomError`` (or ``ContractPanicError``) with the
raw data. ``NodeLikeEthereumTesterProvider`` answers like the node, so code that handles our
contracts' custom errors (see ``contracts.errors``) runs the same on both chains.
"""

from __future__ import annotations

import ast
from typing import Any, cast

from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse


def revert_data(exc: TransactionFailed) -> bytes | None:
    """The raw revert data eth-tester attached to ``exc``, if any.

    eth-tester passes it as bytes, as an exception wrapping bytes, or as the ``repr`` of
    the bytes (``"b'...'"``), depending on the code path.
    """
    arg: Any = exc.args[0] if exc.args else None
    if isinstance(arg, Exception):
        arg = arg.args[0] if arg.args else None
    if isinstance(arg, bytes | bytearray):
        return bytes(arg)
    if isinstance(arg, str) and arg[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(arg)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return None


class NodeLikeEthereumTesterProvider(EthereumTesterProvider):
    """``EthereumTesterProvider`` whose reverts are JSON-RPC errors carrying the revert data."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Dispatch like the parent, except that a revert becomes a node-style error."""
        namespace, _, endpoint = method.partition("_")
        delegator = (self.api_endpoints or {}).get(namespace, {}).get(endpoint)
        if delegator is None:
            return super().make_request(method, params)
        request_id = self._current_request_id
        self._current_request_id += 1
        try:
            result = delegator(self.ethereum_tester, params)
        except NotImplementedError:
            return super().make_request(method, params)
        except TransactionFailed as exc:
            data = revert_data(exc)
            error: dict[str, Any] = {"code": 3, "message": "execution reverted"}
            if data is None:
                error["message"] = f"execution reverted: {exc.args[0] if exc.args else ''}"
            else:
                error["data"] = "0x" + data.hex()
            return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "error": error})
        return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "result": result})


def in_process_web3() -> Web3:
    """A fresh in-process chain (py-evm's default fork, Prague, which runs Cancun code).

    Its ten accounts are funded and unlocked, so ``eth_sendTransaction`` works as on anvil.
    """
    return Web3(NodeLikeEthereumTesterProvider(EthereumTester(PyEVMBackend())))
