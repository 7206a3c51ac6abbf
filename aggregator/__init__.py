"""Aggregator Platform: PoD portfolio, baselines, offers, dispatch, customer remuneration."""
