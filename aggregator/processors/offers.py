"""Scheduled offer submission (FR_AP_MI&O_2): when a session opens, every enabled PoD with
offer terms and a baseline for the delivery day is offered, built from its baseline, max
flexibility and cost curve, and checked by the market's own arrival rules.

Offer ids derive from the session, PoD, direction and quantity type, and event ids and
times from the session's opening, so offering a session again repeats the same events.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import structlog
from sqlalchemy import Engine, create_engine, select

from aggregator.domain.baselines import AggregatorError
from aggregator.domain.events import BaselineUploaded
from aggregator.domain.offers import CostCurve, build_portfolio_offers
from aggregator.store.models import BaselineRow, OfferTermsRow
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.errors import FlexmarketError
from ledger.processors.support import answer_each
from ledger.settings import Settings
from ledger.store.models import PodRow
from ledger.topics import Topic
from market.domain.calendar import find_session
from market.domain.events import SessionOpened
from market.domain.submissions import check_offer
from market.store import queries

log = structlog.get_logger("flexmarket.offers")


def attach(app: faust.App, settings: Settings) -> None:
    """Add the offer-submission agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    answer_each(app, settings, name="offer-submission", source=Topic.SESSIONS,
                kind=SessionOpened, target=Topic.OFFERS, engine=engine,
                wait_for=[Topic.REGISTRY], answer=partial(session_offers, settings, engine))


def session_offers(settings: Settings, engine: Engine, event: Event,
                   opened: SessionOpened) -> list[Event]:
    """Every aggregator's offers for the session that opened, as the market would accept
    them at that moment; an offer it would refuse is logged and left out."""
    zone = ZoneInfo(settings.time_zone)
    slot = find_session(opened.session_id, zone)
    if slot is None:
        return []
    with engine.connect() as conn:
        terms = [t for t in conn.execute(select(OfferTermsRow).where(OfferTermsRow.enabled))]
        pods = queries.get_pod_views(conn, [t.pod_id for t in terms])
        baselines = {r.pod_id: BaselineUploaded(
            pod_id=r.pod_id, aggregator_id=r.aggregator_id, delivery_day=r.delivery_day,
            method=r.method, slots=r.slots) for r in conn.execute(select(BaselineRow).where(
                BaselineRow.delivery_day == slot.delivery_day,
                BaselineRow.pod_id.in_(list(pods))))}
        flexibility = dict(conn.execute(select(PodRow.pod_id, PodRow.flexibility_type).where(
            PodRow.pod_id.in_(list(pods)))).all())
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Any]] = defaultdict(list)
    for t in terms:
        groups[(tuple(t.directions), tuple(t.quantity_types))].append(t)
    events = []
    for (directions, quantity_types), group in sorted(groups.items()):
        try:
            built = build_portfolio_offers(
                [pods[t.pod_id] for t in group if t.pod_id in pods], baselines, slot,
                {t.pod_id: CostCurve(tuple((s["share"], s["price_eur_per_mwh"])
                                           for s in t.cost_curve)) for t in group},
                zone, directions=directions, quantity_types=quantity_types,
                availability={t.pod_id: t.availability for t in group},
                flexibility_types=flexibility)
        except AggregatorError as exc:
            log.error("offers not built", session=opened.session_id, error=exc.message)
            continue
        for offer in built:
            try:
                check_offer(offer, slot, pods[offer.pod_id], event.occurred_at,
                            opened.market_type)
            except FlexmarketError as exc:
                log.warning("offer the market would refuse; not submitted", pod=offer.pod_id,
                            code=exc.code, reason=exc.message)
                continue
            events.append(new_event(offer, actor=offer.aggregator_id,
                                    occurred_at=event.occurred_at,
                                    event_id=derived_event_id(event.occurred_at, "Offer",
                                                              offer.offer_id)))
    if events:
        log.info("offers submitted", session=opened.session_id, offers=len(events))
    return events

