"""Light nodes, the blockchain access layer and the shared customer database."""
