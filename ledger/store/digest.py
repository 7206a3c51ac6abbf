"""Table digests: one SHA-256 per read-model table over its rows in primary-key order.

Two databases built from the same Kafka log must give identical digests whatever the
backend, so every value is first normalised (UTC times, JSON canonicalised) and each row
encoded as RFC 8785 canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from ledger.canonical import canonical_json
from ledger.envelope import format_time
from ledger.store.models import Base
from ledger.store.queries import utc

# Written beside the log, not projected from it, so a replay rebuilds neither: credentials
# (and a digest of secret hashes would say nothing), and the API's idempotency keys.
NOT_PROJECTED = frozenset({"participants", "idempotency_keys"})


def normalise(value: Any) -> Any:
    """A stored value in one form whatever the backend returned (for digests and diffs)."""
    if isinstance(value, datetime):
        return format_time(utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def table_digests(engine: Engine) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": hex}}`` for every read-model table."""
    digests: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_PROJECTED:
                continue
            hasher = hashlib.sha256()
            count = 0
            query = select(table).order_by(*table.primary_key.columns)
            for row in conn.execute(query).mappings():
                hasher.update(canonical_json({k: normalise(v) for k, v in row.items()}))
                hasher.update(b"\n")
                count += 1
            digests[table.name] = {"rows": count, "sha256": hasher.hexdigest()}
    return digests
