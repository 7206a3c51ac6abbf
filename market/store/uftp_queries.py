"""Read-model queries of the USEF/UFTP adapter: the messages kept beside submissions, and
the PoDs a grid point serves."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger.store.models import EventRow, PodRow
from market.domain.events import GridPoint, UftpFlexOfferReceived, UftpFlexRequestReceived

_GRID_COLUMNS = {"primary_substation": PodRow.primary_substation,
                 "mv_feeder": PodRow.mv_feeder,
                 "secondary_substation": PodRow.secondary_substation}


def _kept(conn: Connection, event_type: str, session_id: str, field: str,
          subject_id: str) -> str | None:
    # The kept message is an event without a table of its own: its row in ``events``,
    # found by type and partition key (both indexed), then by the submission it names.
    row = conn.execute(
        select(EventRow.payload).where(EventRow.type == event_type,
                                       EventRow.key == session_id,
                                       EventRow.payload[field].as_string() == subject_id)
        .order_by(EventRow.occurred_at).limit(1)).first()
    return None if row is None else str(row.payload["xml"])


def kept_offer_message(conn: Connection, session_id: str, offer_id: str) -> str | None:
    """The FlexOffer (canonical XML) that offer ``offer_id`` arrived as, if it did."""
    return _kept(conn, UftpFlexOfferReceived.spec.type, session_id, "offer_id", offer_id)


def kept_request_message(conn: Connection, session_id: str, request_id: str) -> str | None:
    """The FlexRequest (canonical XML) that request ``request_id`` arrived as, if it did."""
    return _kept(conn, UftpFlexRequestReceived.spec.type, session_id, "request_id",
                 request_id)


def pods_under(conn: Connection, point: GridPoint) -> list[str]:
    """The active PoDs under a DSO's grid point, by id; none under a PoM, which a DSO
    request does not name."""
    column = _GRID_COLUMNS.get(point.kind)
    if column is None:
        return []
    return list(conn.scalars(select(PodRow.pod_id).where(column == point.id,
                                                         PodRow.active.is_(True))
                             .order_by(PodRow.pod_id)))
