"""The aggregator's read models: baselines of its PoDs."""
