"""The TSO simulator of ``make demo``: Terna's needs at the PoM of the DSO's grid, one
request per session (day-ahead and each real-time one), posted over REST with the TSO's
bearer token. The needs are drawn from a seeded generator, so every run asks the same.

A TSO request names a PoM only, never PoDs (MARKET_RULES.md "Participants and places");
the PoM of the demo's grid is its primary substation, where every PoD is connected.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from ledger.settings import Settings
from market.demo_support import post
from market.domain.calendar import SessionKind, SessionSlot
from market.domain.submissions import PodView

TSO_ID = "TSO-TERNA"
# The day-ahead need: the evening peak, 18:00–20:00 (MTUs 72–79), about 150 kW a MTU.
DA_MTUS = range(72, 80)
DA_KW = 150.0
# A real-time need: a block of 4 to 8 MTUs somewhere in the session's window, of 40 to
# 120 kW a MTU (the forecast error the TSO balances a few hours ahead).
RT_BLOCK_MTUS = (4, 8)
RT_KW = (40.0, 120.0)


def pom_of(pods: Iterable[PodView]) -> str:
    """The PoM most of the PoDs are under (the demo's grid has one)."""
    poms = Counter(p.pom() for p in pods)
    if not poms:
        raise ValueError("no PoD is registered, so no PoM is known")
    return poms.most_common(1)[0][0]


@dataclass(frozen=True)
class TsoSimulator:
    """The TSO's side of the demo.

    Attributes:
        pom: the PoM its requests name.
        seed: the generator's seed; each session draws from its own stream of it.
    """

    pom: str
    seed: int = 11

    def requests(self, slot: SessionSlot) -> list[dict[str, Any]]:
        """The request bodies (``POST /v1/sessions/{id}/requests``) of one session.

        Args:
            slot: the session; its kind and window pick the need and the draw.

        Returns:
            One upward, active-power request per session, with a quantity (kW) per MTU of
            the session's window.
        """
        rng = random.Random(f"{self.seed}/{slot.kind}/{slot.window}")
        if slot.kind is SessionKind.DAY_AHEAD:
            mtus = [m for m in DA_MTUS if slot.covers(m)]
            quantities = [round(DA_KW * rng.uniform(0.8, 1.2) / 5) * 5 for _ in mtus]
        else:
            length = min(rng.randint(*RT_BLOCK_MTUS), slot.mtu_count)
            first = slot.first_mtu + rng.randrange(slot.mtu_count - length + 1)
            mtus = list(range(first, first + length))
            level = rng.uniform(*RT_KW)
            quantities = [round(level * rng.uniform(0.8, 1.2), 1) for _ in mtus]
        return [{"requester_id": TSO_ID, "role": "TSO", "market_type": slot.kind.value,
                 "service": "congestion", "quantity_type": "P", "direction": "up",
                 "location": {"kind": "pom", "id": self.pom},
                 "quantities": [{"mtu": m, "quantity": float(q)}
                                for m, q in zip(mtus, quantities, strict=True)]}]

    def post(self, client: httpx.Client, settings: Settings, slot: SessionSlot,
             token: dict[str, str], counts: dict[str, int]) -> list[dict[str, Any]]:
        """Post the session's requests with the TSO's ``token``; returns those accepted."""
        url = f"{settings.api_base_url}/v1/sessions/{slot.session_id}/requests"
        return [body for body in self.requests(slot) if post(client, url, body, counts, token)]
