"""Stream processors of the ledger: thin Faust agents around ``ledger.projection``."""
