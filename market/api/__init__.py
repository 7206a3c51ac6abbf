"""The HTTP face of flexmarket: one FastAPI app joining every part's routers."""
