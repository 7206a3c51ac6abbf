"""The Solidity contracts on a real chain: in process (eth-tester on py-evm) and anvil."""
