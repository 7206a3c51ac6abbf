"""What a session's clearing reads from the read models, on both backends: the requests
and offers in before the gate and not withdrawn, and each PoD's capacity netted of the
day-ahead awards (MARKET_RULES.md "Time": RT netting of DA awards)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine

from ledger.catalog import EventPayload, new_event
from ledger.projection import Record, project
from ledger.store.migrate import upgrade
from ledger.store.writer import ReadModelWriter, make_async_engine
from market.domain.calendar import find_session
from market.domain.clearing.registry import get_clearer
from market.domain.events import (
    AwardLine,
    FlexOfferWithdrawn,
    MarketCleared,
    MtuQuantity,
    ObjectiveValues,
    PriceStep,
)
from market.store.clearing_input import load_clearing_input
from tests.builders import (
    AGGREGATOR_ID,
    DA_SESSION,
    POD_ID,
    make_offer_submitted,
    make_pod_registered,
    make_request_submitted,
)

pytestmark = pytest.mark.integration
ROME = ZoneInfo("Europe/Rome")
RT = find_session("RT-2026-06-10-2", ROME)  # delivers 08:00–12:00, MTUs 32–47
ZERO = ObjectiveValues(cost_eur=0, unserved=0, risk=0, unserved_dso=0)


def _log() -> list[tuple[EventPayload, object]]:
    assert RT is not None
    open_at = RT.opens_at + timedelta(minutes=5)
    step = (PriceStep(mtu=40, quantity=5.0, price_eur_per_mwh=80.0),)
    day_ahead_award = AwardLine(
        award_id="AW-1", request_id="R-DA", requester_id="DSO-1", offer_id="O-DA",
        aggregator_id=AGGREGATOR_ID, pod_id=POD_ID, mtu=40, quantity=3.0,
        bid_price_eur_per_mwh=90.0, price_eur_per_mwh=90.0, value_cents=7)
    return [
        (make_pod_registered(), open_at),
        (make_offer_submitted(offer_id="O-DA", session_id=DA_SESSION, steps=step), open_at),
        (MarketCleared(outcome_id="MO-DA", session_id=DA_SESSION, market_type="DA",
                       engine="milp", engine_version="1", pricing="pay_as_bid",
                       request_ids=("R-DA",), offer_ids=("O-DA",), awards=(day_ahead_award,),
                       unserved=(), objectives=ZERO, pareto_front=(ZERO,), statistics={}),
         open_at),
        (make_request_submitted(request_id="R-RT", session_id=RT.session_id,
                                quantities=(MtuQuantity(mtu=40, quantity=5.0),)), open_at),
        (make_offer_submitted(offer_id="O-RT", session_id=RT.session_id, steps=step), open_at),
        (make_offer_submitted(offer_id="O-GONE", session_id=RT.session_id, steps=step),
         open_at),
        (FlexOfferWithdrawn(offer_id="O-GONE", session_id=RT.session_id,
                            aggregator_id=AGGREGATOR_ID), open_at),
        (make_offer_submitted(offer_id="O-LATE", session_id=RT.session_id, steps=step),
         RT.gate_closes_at),
    ]


def _project(url: str) -> None:
    records = [Record("t", 0, i, None, new_event(p, actor="X", occurred_at=at).to_bytes())
               for i, (p, at) in enumerate(_log())]
    writer = ReadModelWriter(make_async_engine(url))

    async def write() -> None:
        await writer.write([project(r) for r in records])
        await writer.engine.dispose()

    asyncio.run(write())


def test_rt_clearing_nets_day_ahead_awards_and_skips_late_and_withdrawn_offers(
        empty_database: str) -> None:
    assert RT is not None
    upgrade(empty_database)
    _project(empty_database)
    with create_engine(empty_database).connect() as conn:
        given = load_clearing_input(conn, RT, default_reliability=0.9)
    assert given.offer_ids == ["O-RT"] and given.request_ids == ["R-RT"]
    # 5 kW of upward flexibility, 3 kW of it sold in the day-ahead session.
    assert given.problem.pod_capacity == {(POD_ID, "up", "P", 40): 2.0}
    result = get_clearer("milp").clear(given.problem)
    assert [(a.offer_id, a.quantity) for a in result.awards] == [("O-RT", 2.0)]
    assert [(u.request_id, u.quantity) for u in result.unserved] == [("R-RT", 3.0)]
