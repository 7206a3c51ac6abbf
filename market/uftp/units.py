"""What UFTP and flexmarket count in, and the conversions between them.

- Power: UFTP ``Power`` is an integer in W, positive towards the prosumer (consumption),
  negative towards the grid (D4.2 §10.9, PTU). flexmarket's quantity is a positive kW
  with a direction: "up" lowers the PoD's net withdrawal (MARKET_RULES.md "Participants
  and places"), which is negative Power; "down" is positive. kW = |W| / 1000, exactly.
- Price: UFTP ``Price`` is a currency amount (≤ 4 decimals) for the flexibility of one
  PTU, i.e. for |W| during 15 minutes; flexmarket's is €/MWh. So
  ``Price = €/MWh × |W| × 0.25 h / 10⁶`` — what ``market.domain.money.value_cents``
  makes of an award, in euros rather than cents.
- Time: PTU n (the day's first is 1) is MTU n − 1 (the day's first is 0) of the same
  local day; both last 15 minutes, and a day has 92, 96 or 100 of them.
- Sequence: ``yyyyMMddHHmmssSSS`` of a local time, as USEF recommends.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from market.domain.calendar import MTU
from market.domain.events import Direction

CURRENCY = "EUR"  # flexmarket's money is euro cents (FlexToken)
PTU_HOURS = Decimal(MTU.total_seconds()) / 3600
WATTS_PER_KW = 1000
WH_PER_MWH = Decimal(10**6)
PRICE_QUANTUM = Decimal("0.0001")  # CurrencyAmount's 4 fraction digits


def mtu_of(ptu: int) -> int:
    """The MTU index (from 0) of PTU number ``ptu`` (from 1)."""
    return ptu - 1


def ptu_of(mtu: int) -> int:
    """The PTU number (from 1) of MTU index ``mtu`` (from 0)."""
    return mtu + 1


def kw_of(power_w: int) -> float:
    """The quantity in kW of ``power_w`` W, whichever way it flows."""
    return abs(power_w) / WATTS_PER_KW


def direction_of(power_w: int) -> Direction:
    """Towards the grid is "up" (less withdrawal), towards the prosumer "down"."""
    return "up" if power_w < 0 else "down"


def watts_of(quantity_kw: float, direction: Direction) -> int:
    """``quantity_kw`` in ``direction`` as UFTP Power (W, rounded half-even to 1 W)."""
    watts = int((Decimal(repr(quantity_kw)) * WATTS_PER_KW).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN))
    return -watts if direction == "up" else watts


def eur_per_mwh_of(price: Decimal, power_w: int) -> float:
    """The €/MWh of paying ``price`` (currency amount) for ``power_w`` during one PTU."""
    return float(price * WH_PER_MWH / (abs(power_w) * PTU_HOURS))


def price_of(eur_per_mwh: float, power_w: int) -> Decimal:
    """The currency amount (4 decimals, half-even) ``power_w`` costs for one PTU at
    ``eur_per_mwh``."""
    amount = Decimal(repr(eur_per_mwh)) * abs(power_w) * PTU_HOURS / WH_PER_MWH
    return amount.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as an xs:dateTime on the local clock with its offset, to the
    millisecond (``2026-06-09T16:05:00.000+02:00``), as UFTP implementations write it."""
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def sequence_of(moment: datetime, zone: ZoneInfo) -> int:
    """USEF's recommended Sequence of a message made at ``moment``: yyyyMMddHHmmssSSS."""
    local = moment.astimezone(zone)
    return int(local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}")
