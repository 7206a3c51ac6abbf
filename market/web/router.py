"""``/dashboard``: the dashboard's page, its scripts and what the verify page starts from.

Every route is public and outside the OpenAPI document: the files hold no data (the
pages ask the API for it with a token), and ``config.json`` only offers the chain's URL
and the EventAnchor address an auditor may replace with the ones it trusts.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from ledger.auth.access import PUBLIC
from ledger.errors import NotFound
from market.api.deps import SettingsDep

STATIC = Path(__file__).parent / "static"
ASSETS = {path.name: path for path in STATIC.iterdir() if path.suffix in (".js", ".css")}
MEDIA = {".js": "text/javascript", ".css": "text/css"}
# The pages run no script but their own, load nothing from elsewhere, and talk only to
# this API and the chain's JSON-RPC (any origin: the auditor chooses the node).
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src *; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("", openapi_extra=PUBLIC)
def dashboard_page() -> FileResponse:
    """The one page; its policy keeps any injected markup from running or loading."""
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Content-Security-Policy": POLICY,
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/static/{name}", openapi_extra=PUBLIC)
def dashboard_asset(name: str) -> FileResponse:
    """A file of the dashboard by its name only, from a list made at import: no path from
    the request ever reaches the file system."""
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"no dashboard file {name!r}", code="NOT_FOUND", field="name")
    return FileResponse(path, media_type=MEDIA[path.suffix],
                        headers={"X-Content-Type-Options": "nosniff"})


@router.get("/config.json", openapi_extra=PUBLIC)
def dashboard_config(settings: SettingsDep) -> JSONResponse:
    """The chain a browser can ask, and the EventAnchor this deployment anchors to.

    The API's own chain URL is offered only when it is a node on this machine: a hosted
    node's URL usually carries its key, which this public route must not hand out. Any
    other deployment names the browser's URL itself (``FLEXMARKET_BROWSER_CHAIN_URL``).
    """
    chain_url = settings.browser_chain_url or _local(settings.chain_endpoint)
    try:
        deployment = json.loads(settings.deployment_file.read_text())
        anchor = deployment["addresses"]["EventAnchor"]
        chain_id = deployment["chain_id"]
    except (OSError, ValueError, KeyError, TypeError):
        anchor = chain_id = None  # not deployed (yet): the auditor names its own
    return JSONResponse({"chain_url": chain_url, "chain_id": chain_id, "event_anchor": anchor})


def _local(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost") \
            and not (parts.username or parts.password or parts.query):
        return url
    return None
