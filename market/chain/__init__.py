"""The market's web3 adapters: FlexToken funding and settlement transfers."""
