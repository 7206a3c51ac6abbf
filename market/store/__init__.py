"""SQL read models, projection rules and queries of the Market Platform."""
