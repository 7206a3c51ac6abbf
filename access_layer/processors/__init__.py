"""Stream processors of the access layer: the blockchain access layer's certification
and the shared customer database's publications."""
