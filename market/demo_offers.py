"""The aggregators' offers in ``make demo``: which PoDs offer in a session and what, drawn
from a seeded generator, and their posting over REST with each aggregator's token.

Every PoD with upward flexibility offers in the day-ahead session for the evening peak;
in each real-time session a fifth of them, drawn anew, offers the session's whole window
(a PoD's capacity awarded in day-ahead is not sold again: the clearing nets it,
MARKET_RULES.md "Time"). Each offer has two price steps of half the PoD's flexibility.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from ledger.settings import Settings
from market.demo_support import post
from market.demo_tso import DA_MTUS
from market.domain.calendar import SessionKind, SessionSlot
from market.domain.submissions import PodView

# (share of the PoD's max flexibility, €/MWh) per price step.
DA_STEPS = ((0.5, 90.0), (0.5, 180.0))
RT_STEPS = ((0.5, 110.0), (0.5, 220.0))
RT_SHARE = 0.2  # of the PoDs with upward flexibility, offering in each real-time session


def offering(pods: Iterable[PodView]) -> list[PodView]:
    """The PoDs that can offer upward active power, by id."""
    return sorted((p for p in pods if p.active and p.up_p_kw > 0), key=lambda p: p.pod_id)


def real_time_pods(pods: Sequence[PodView], slot: SessionSlot, seed: int = 5) -> list[PodView]:
    """The PoDs offering in real-time session ``slot``: a seeded fifth of ``pods``."""
    rng = random.Random(f"{seed}/{slot.window}")
    chosen = rng.sample(list(pods), max(1, round(RT_SHARE * len(pods))))
    return sorted(chosen, key=lambda p: p.pod_id)


def offer_bodies(pods: Sequence[PodView], slot: SessionSlot,
                 seed: int = 4) -> list[dict[str, Any]]:
    """The offer bodies (``POST /v1/sessions/{id}/offers``) of ``pods`` in ``slot``.

    Day-ahead offers cover the evening peak (``DA_MTUS``), real-time ones every MTU of
    the session's window; prices vary by ±20 % around each step's.
    """
    day_ahead = slot.kind is SessionKind.DAY_AHEAD
    mtus = ([m for m in DA_MTUS if slot.covers(m)] if day_ahead
            else list(range(slot.first_mtu, slot.first_mtu + slot.mtu_count)))
    prices = DA_STEPS if day_ahead else RT_STEPS
    rng = random.Random(f"{seed}/{slot.kind}/{slot.window}")
    offers = []
    for pod in pods:
        steps = [{"mtu": m, "quantity": round(pod.up_p_kw * share, 2),
                  "price_eur_per_mwh": round(price * rng.uniform(0.8, 1.25), 1)}
                 for m in mtus for share, price in prices]
        offers.append({"aggregator_id": pod.aggregator_id, "pod_id": pod.pod_id,
                       "market_type": slot.kind.value, "quantity_type": "P",
                       "direction": "up", "divisible": rng.random() > 0.2, "steps": steps})
    return offers


def post_offers(client: httpx.Client, settings: Settings, slot: SessionSlot,
                offers: Iterable[dict[str, Any]], tokens: dict[str, dict[str, str]],
                counts: dict[str, int]) -> int:
    """Post each offer with its aggregator's token (and an Idempotency-Key per PoD and
    session); returns how many were accepted."""
    url = f"{settings.api_base_url}/v1/sessions/{slot.session_id}/offers"
    return sum(post(client, url, offer, counts, tokens[offer["aggregator_id"]],
                    key=offer_key(slot, offer["pod_id"])) for offer in offers)


def offer_key(slot: SessionSlot, pod_id: str) -> str:
    """The Idempotency-Key of a PoD's offer in a session."""
    return f"demo-{slot.session_id}-{pod_id}"
