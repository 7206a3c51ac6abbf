"""Solidity sources, their build through py-solc-x, compiled artifacts and deploy helpers.

- ``contracts/src/*.sol``: FlexToken (settlement token, 1 unit = 1 euro cent), EventAnchor
  (Merkle roots of Kafka batches, contiguous per partition) and SettlementRegistry
  (aggregators' settlement mechanisms and recorded settlements), on OpenZeppelin 5.
- ``contracts.build``: ``python -m contracts.build`` compiles them with solc-js (npm, behind
  ``deploy/solc/solc``) and rewrites ``contracts/artifacts/*.json``; a test checks that a
  fresh compile reproduces the committed files byte for byte.
- ``contracts.artifacts``: ``load_artifact(name)`` reads a committed artifact (no compiler
  needed at run time).
- ``contracts.deploy``: ``deploy_contracts(w3, admin)`` and ``contract(w3, name, address)``.
- ``contracts.errors``: decode a revert into the custom error's name and arguments.
- ``contracts.chain``: an in-process eth-tester chain that reports reverts like a node.
"""
