"""SQL read models: tables, the projector's writer, migrations and table digests."""
