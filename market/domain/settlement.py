"""Daily settlement per PoD and MTU (MARKET_RULES.md "Settlement", FR_MP_SET_4/5): what
each PoD delivered against its validated awards, what the system operators pay, the
penalties outside the ±30 % band, what the customers receive under their mechanisms, and
the token transfers that carry it all.

Pure rules over plain inputs; the settlement processor reads them from the read models
and moves the tokens on chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.canonical import keccak_hex
from market.domain.clearing.problem import MTU_HOURS
from market.domain.events import (
    MtuDelivery,
    PodSettled,
    RequesterSettlement,
    SettlementMechanismCreated,
    TransferKind,
)
from market.domain.kpis import within_penalty_band


@dataclass(frozen=True)
class SettlementRules:
    """The deployment's settlement parameters (``FLEXMARKET_SETTLEMENT_…`` settings).

    Attributes:
        band: the tolerated deviation of effectiveness from 100 % (0.30: the ±30 % of
            Italian TSO rule 300/2017/R/ee, Platone KPI_PR_04).
        penalty_eur_per_mwh: the penalty rate on the deviation of a PoD whose
            effectiveness falls outside the band, €/MWh (€/MVArh).
    """

    band: float = 0.30
    penalty_eur_per_mwh: float = 100.0


@dataclass(frozen=True)
class SettledAward:
    """An accepted award of a validated outcome, with its offer's direction and type."""

    request_id: str
    requester_id: str
    aggregator_id: str
    pod_id: str
    mtu: int
    direction: str  # up | down
    quantity_type: str  # P | Q
    quantity: float  # kW or kVAr, accepted
    value_cents: int  # of the accepted quantity


@dataclass(frozen=True)
class PodAccount:
    """Who a PoD's money goes to: its aggregator, its customer, and their mechanism."""

    aggregator_id: str
    customer_id: str
    mechanism_id: str | None


@dataclass(frozen=True)
class Transfer:
    """One token transfer a settlement asks for, in cents, with its once-only id."""

    settlement_id: str  # 0x + 64 hex: the id the chain records
    delivery_day: date
    pod_id: str
    kind: TransferKind
    payer_id: str
    payee_id: str
    amount_cents: int


def settle_pod(day: date, pod_id: str, account: PodAccount,
               awards: Iterable[SettledAward], baseline: Mapping[int, tuple[float, float]],
               measured: Mapping[int, tuple[float, float]],
               mechanism: SettlementMechanismCreated | None,
               rules: SettlementRules) -> PodSettled:
    """Settle one PoD's delivery day.

    Delivered = baseline − measured for "up", measured − baseline for "down", per MTU;
    an MTU without a certified reading delivered nothing provable (0). The PoD's
    effectiveness per quantity type is its delivered over awarded energy for the day,
    delivery below 0 counted as 0. Each system operator pays the accepted value of the
    quantity delivered in each MTU, shared pro rata over its awards there and capped at
    them; outside the band the PoD also owes the penalty rate on its deviation
    |awarded − delivered|, shared over the operators by awarded energy.

    Args:
        day: the delivery day.
        pod_id: the PoD.
        account: its aggregator, customer and settlement mechanism.
        awards: its accepted awards of the day's validated outcomes.
        baseline: per MTU index, (P kW, Q kVAr) withdrawal positive.
        measured: per MTU index, the certified reading's (P kW, Q kVAr).
        mechanism: the PoD's mechanism, or None (the customer is paid off-platform).
        rules: band and penalty rate.

    Returns:
        The PoD's settlement outcome.
    """
    cells: dict[tuple[str, str, int], list[SettledAward]] = defaultdict(list)
    for award in awards:
        if award.quantity > 0:
            cells[(award.quantity_type, award.direction, award.mtu)].append(award)

    mtus: list[MtuDelivery] = []
    # Per (requester, quantity type): awarded and delivered energy, value earned.
    awarded_e: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    delivered_e: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    earned: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    values: dict[tuple[str, str], int] = defaultdict(int)
    for (qtype, direction, mtu), lines in sorted(cells.items()):
        awarded = sum(a.quantity for a in lines)
        base = _component(baseline.get(mtu), qtype)
        reading = measured.get(mtu)
        meas = None if reading is None else _component(reading, qtype)
        delivered = 0.0 if meas is None or base is None else (
            base - meas if direction == "up" else meas - base)
        mtus.append(MtuDelivery.model_validate({
            "mtu": mtu, "direction": direction, "quantity_type": qtype, "awarded": awarded,
            "baseline": base or 0.0, "measured": meas, "delivered": delivered}))
        served = Decimal(repr(min(max(delivered, 0.0), awarded)))
        for line in lines:
            share = Decimal(repr(line.quantity)) / Decimal(repr(awarded))
            key = (line.requester_id, qtype)
            awarded_e[key] += _energy(Decimal(repr(line.quantity)))
            # Delivery beyond the award counts for effectiveness, not for payment.
            delivered_e[key] += _energy(Decimal(repr(max(delivered, 0.0))) * share)
            earned[key] += Decimal(line.value_cents) * (served * share
                                                       / Decimal(repr(line.quantity)))
            values[key] += line.value_cents

    effectiveness: dict[str, float | None] = {}
    for qtype in {k[1] for k in awarded_e}:
        total_awarded = sum(v for k, v in awarded_e.items() if k[1] == qtype)
        total_delivered = sum(v for k, v in delivered_e.items() if k[1] == qtype)
        effectiveness[qtype] = (float(total_delivered / total_awarded)
                                if total_awarded > 0 else None)

    requesters: list[RequesterSettlement] = []
    rate = Decimal(repr(rules.penalty_eur_per_mwh))
    for key in sorted(awarded_e):
        requester_id, qtype = key
        ratio = effectiveness[qtype]
        penalised = ratio is not None and not within_penalty_band(ratio, rules.band)
        deviation_mwh = abs(awarded_e[key] - delivered_e[key]) / Decimal(1000)
        penalty = _cents(rate * deviation_mwh * 100) if penalised else 0
        requesters.append(RequesterSettlement(
            requester_id=requester_id, quantity_type=qtype,  # type: ignore[arg-type]
            awarded_energy=float(awarded_e[key]), delivered_energy=float(delivered_e[key]),
            effectiveness=ratio, penalised=penalised, awarded_value_cents=values[key],
            payment_cents=_cents(earned[key]), penalty_cents=penalty))

    return PodSettled(
        settlement_id=f"STL-{day.isoformat()}-{pod_id}"[:100], delivery_day=day,
        pod_id=pod_id, aggregator_id=account.aggregator_id, customer_id=account.customer_id,
        mechanism_id=account.mechanism_id, mtus=tuple(mtus), requesters=tuple(requesters),
        customer_cents=customer_reward(requesters, mechanism))


def customer_reward(requesters: Iterable[RequesterSettlement],
                    mechanism: SettlementMechanismCreated | None) -> int:
    """What the customer receives under ``mechanism``, in cents, never below 0: its share
    of the payments, its reward per kWh (kVArh) delivered within the awards, less its
    share of the penalties (Platone A.1: the token policy is the aggregator's)."""
    if mechanism is None:
        return 0
    lines = list(requesters)
    paid = sum(Decimal(r.payment_cents) for r in lines)
    penalties = sum(Decimal(r.penalty_cents) for r in lines)
    # The reward counts delivery up to the award, as the payment does.
    rewarded_kwh = sum((min(Decimal(repr(r.delivered_energy)), Decimal(repr(r.awarded_energy)))
                        for r in lines), Decimal(0))
    reward = (paid * Decimal(repr(mechanism.revenue_share_pct)) / 100
              + rewarded_kwh * Decimal(repr(mechanism.reward_cents_per_kwh))
              - penalties * Decimal(repr(mechanism.penalty_pass_through_pct)) / 100)
    return max(0, _cents(reward))


def settlement_id(namespace: str, day: date, pod_id: str, kind: TransferKind,
                  payer_id: str, payee_id: str) -> str:
    """The once-only id of one transfer: the same every time the day is settled, so the
    chain, which refuses an id twice, makes a replay pay nothing. ``namespace`` tells
    apart deployments that share a token contract (their topic prefix, as anchoring
    names its streams)."""
    return keccak_hex(f"flexmarket-settlement\x1f{namespace}\x1f{day.isoformat()}\x1f{pod_id}"
                      f"\x1f{kind}\x1f{payer_id}\x1f{payee_id}".encode())


def transfers_of(outcome: PodSettled, namespace: str = "") -> list[Transfer]:
    """The transfers a PoD's settlement asks for: per system operator the payment less
    the penalty (the operator pays the aggregator, or the aggregator the operator when
    the penalty is larger), then the customer's reward from the aggregator. Their ids
    are in ``namespace`` (see ``settlement_id``)."""
    net: dict[str, int] = defaultdict(int)
    for line in outcome.requesters:
        net[line.requester_id] += line.payment_cents - line.penalty_cents
    transfers: list[Transfer] = []
    day, pod, aggregator = outcome.delivery_day, outcome.pod_id, outcome.aggregator_id
    for requester_id, amount in sorted(net.items()):
        if amount > 0:
            transfers.append(_transfer(namespace, day, pod, "payment", requester_id,
                                       aggregator, amount))
        elif amount < 0:
            transfers.append(_transfer(namespace, day, pod, "penalty", aggregator,
                                       requester_id, -amount))
    if outcome.customer_cents > 0:
        transfers.append(_transfer(namespace, day, pod, "customer_reward", aggregator,
                                   outcome.customer_id, outcome.customer_cents))
    return transfers


@dataclass(frozen=True)
class TransferPlan:
    """The transfers that can be made now, and those a payer's balance cannot cover yet."""

    payable: list[Transfer]
    outstanding: list[Transfer]


_ORDER: dict[str, int] = {"payment": 0, "penalty": 1, "customer_reward": 2}


def plan_transfers(transfers: Iterable[Transfer], balances: Mapping[str, int]) -> TransferPlan:
    """Order transfers so money arrives before it is passed on (operators' payments, then
    penalties, then customers' rewards) and keep back what a payer cannot cover.

    Args:
        transfers: not yet paid.
        balances: each payer's wallet balance now, cents (absent = 0).
    """
    left = dict(balances)
    payable: list[Transfer] = []
    outstanding: list[Transfer] = []
    for transfer in sorted(transfers, key=lambda t: (_ORDER[t.kind], t.delivery_day,
                                                     t.pod_id, t.settlement_id)):
        if left.get(transfer.payer_id, 0) >= transfer.amount_cents:
            left[transfer.payer_id] = left.get(transfer.payer_id, 0) - transfer.amount_cents
            left[transfer.payee_id] = left.get(transfer.payee_id, 0) + transfer.amount_cents
            payable.append(transfer)
        else:
            outstanding.append(transfer)
    return TransferPlan(payable, outstanding)


def _transfer(namespace: str, day: date, pod_id: str, kind: TransferKind, payer: str,
              payee: str, amount: int) -> Transfer:
    return Transfer(settlement_id(namespace, day, pod_id, kind, payer, payee), day, pod_id,
                    kind, payer, payee, amount)


def _component(values: tuple[float, float] | None, quantity_type: str) -> float | None:
    if values is None:
        return None
    return values[0] if quantity_type == "P" else values[1]


def _energy(power: Decimal) -> Decimal:
    """kWh (kVArh) of ``power`` kW (kVAr) held for one MTU."""
    return power * Decimal(repr(MTU_HOURS))


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
