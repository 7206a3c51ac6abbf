"""The roles of the market's participants (MARKET_RULES.md "Participants") and how far a
role reaches on a route: its own records only, or everyone's."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DSO = "dso"
    TSO = "tso"
    AGGREGATOR = "aggregator"
    CUSTOMER = "customer"
    AUDITOR = "auditor"
    MARKET_ADMIN = "market_admin"


class Scope(StrEnum):
    """``own``: the caller's records only (its PoDs, offers, results, wallet);
    ``any``: every participant's, as the DSO reads any PoD of its grid."""

    OWN = "own"
    ANY = "any"
