"""Participants' token wallets: one address per participant id.

The market settles custodially, as in Platone, where the market platform assigns the
tokens and updates the customers' wallets itself (FR_MP_SET_5): a wallet is an address
derived from the participant's id, which no key controls, and only the platform's
settlement role moves tokens out of it. Anyone can recompute a participant's address
and read its balance on chain.
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from ledger.canonical import keccak256


def wallet_address(participant_id: str, namespace: str = "") -> str:
    """The checksummed address of ``participant_id``'s wallet; ``namespace`` tells apart
    deployments that share a token contract (their topic prefix), "" for a deployment of
    its own."""
    prefix = b"flexmarket-wallet\x1f" + (namespace.encode() + b"\x1f" if namespace else b"")
    return to_checksum_address(keccak256(prefix + participant_id.encode())[12:])
