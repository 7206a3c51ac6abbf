"""The web dashboard: static pages served by the API, which read the same REST API with
the signed-in participant's bearer token, so a page can show no more than the API lets
that participant see. The verify page checks a proof against the chain from the browser
itself: its keccak-256, canonical JSON and Merkle path are computed in the page, and the
anchored root is read from the chain's JSON-RPC, not from our API.
"""
