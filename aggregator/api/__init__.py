"""HTTP face of the aggregator platform: how each PoD is offered."""
