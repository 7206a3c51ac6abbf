"""Solidity sources, their build through py-solc-x, compiled artifacts and deploy helpers."""
