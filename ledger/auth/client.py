"""The participant's side of the token endpoint: a client secret traded for a token."""

from __future__ import annotations

import httpx


def request_token(base_url: str, participant_id: str, secret: str) -> str:
    """A bearer token from the API at ``base_url`` (OAuth2 client credentials).

    Raises:
        LookupError: the API refused (its answer included).
        httpx.HTTPError: the API could not be reached.
    """
    answer = httpx.post(f"{base_url.rstrip('/')}/v1/auth/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": participant_id,
        "client_secret": secret})
    if answer.status_code != 200:
        raise LookupError(f"token of {participant_id}: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])
