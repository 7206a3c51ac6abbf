"""The pure parts of the demo's market day: the TSO simulator's requests, the aggregators'
offers, the light nodes' readings and the summary's check (``make demo`` runs them end to
end against the stack)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from access_layer.domain.certification import certify
from access_layer.domain.packets import parse_packet
from market.demo_delivery import SILENT_MTUS, plan_delivery, window_packets
from market.demo_offers import RT_SHARE, offer_bodies, offering, real_time_pods
from market.demo_summary import zero_counts
from market.demo_tso import DA_MTUS, TSO_ID, TsoSimulator, pom_of
from market.domain.calendar import SessionKind, day_sessions, delivery_mtus
from market.domain.events import FlexOfferSubmitted, FlexRequestSubmitted
from market.domain.submissions import PodView, check_offer, check_request

ZONE = ZoneInfo("Europe/Rome")
DAY = date(2026, 6, 10)
SESSIONS = day_sessions(DAY, ZONE)
DA = SESSIONS[0]
RT = SESSIONS[1:]


def _pod(i: int, up_p_kw: float = 6.0) -> PodView:
    return PodView(pod_id=f"POD-{i:05d}", aggregator_id=f"AGG-{i % 3 + 1}",
                   primary_substation="PS-1", mv_feeder="PS-1-F1", secondary_substation="SS-3",
                   up_p_kw=up_p_kw, down_p_kw=0.0, up_q_kvar=0.0, down_q_kvar=0.0)


PODS = [_pod(i, up_p_kw=(3.0, 6.0, 10.0, 50.0)[i % 4]) for i in range(40)]


def _open(slot):  # type: ignore[no-untyped-def]
    return slot.opens_at + timedelta(minutes=1)


def test_tso_requests_one_per_session_at_the_pom_and_pass_the_market_rules() -> None:
    tso = TsoSimulator(pom_of(PODS))
    for slot in SESSIONS:
        [body] = tso.requests(slot)
        assert body["requester_id"] == TSO_ID and body["location"] == {"kind": "pom",
                                                                       "id": "PS-1"}
        assert body["market_type"] == slot.kind.value
        request = FlexRequestSubmitted(**{k: v for k, v in body.items() if k != "market_type"},
                                       request_id="R-1", session_id=slot.session_id,
                                       player_service_id="TSO::PS-1::x::y")
        check_request(request, slot, {}, True, _open(slot), slot.kind.value)


def test_tso_day_ahead_asks_the_evening_peak_and_real_time_a_block_of_its_window() -> None:
    tso = TsoSimulator("PS-1")
    [da] = tso.requests(DA)
    assert [q["mtu"] for q in da["quantities"]] == list(DA_MTUS)
    assert all(120 <= q["quantity"] <= 180 for q in da["quantities"])
    for slot in RT:
        [rt] = tso.requests(slot)
        mtus = [q["mtu"] for q in rt["quantities"]]
        assert 4 <= len(mtus) <= 8 and mtus == list(range(mtus[0], mtus[0] + len(mtus)))
        assert all(slot.covers(m) for m in mtus)
        assert all(32 <= q["quantity"] <= 144 for q in rt["quantities"])


def test_tso_draws_are_seeded() -> None:
    assert TsoSimulator("PS-1").requests(RT[2]) == TsoSimulator("PS-1").requests(RT[2])
    assert TsoSimulator("PS-1").requests(RT[2]) != TsoSimulator("PS-1").requests(RT[3])


def test_offers_pass_the_market_rules_for_their_session_window() -> None:
    pods = offering(PODS)
    views = {p.pod_id: p for p in pods}
    for slot in SESSIONS:
        chosen = pods if slot.kind is SessionKind.DAY_AHEAD else real_time_pods(pods, slot)
        for body in offer_bodies(chosen, slot):
            offer = FlexOfferSubmitted(**{k: v for k, v in body.items() if k != "market_type"},
                                       offer_id="O-1", session_id=slot.session_id,
                                       player_service_id="AGG::POD::x::y")
            check_offer(offer, slot, views[offer.pod_id], _open(slot), slot.kind.value)
            mtus = {s["mtu"] for s in body["steps"]}
            expected = set(DA_MTUS) if slot.kind is SessionKind.DAY_AHEAD else set(
                range(slot.first_mtu, slot.first_mtu + slot.mtu_count))
            assert mtus == expected


def test_a_fifth_of_the_pods_offers_in_each_real_time_session_drawn_anew() -> None:
    pods = offering(PODS)
    drawn = [real_time_pods(pods, slot) for slot in RT]
    assert all(len(d) == round(RT_SHARE * len(pods)) for d in drawn)
    assert drawn[0] != drawn[1]
    assert drawn[0] == real_time_pods(pods, RT[0])


def _activation(pod: str, mtu: int, quantity: float) -> SimpleNamespace:
    return SimpleNamespace(pod_id=pod, mtu=mtu, direction="up", quantity_type="P",
                           quantity=quantity)


def test_readings_deliver_a_share_of_the_awards_with_one_node_forged_and_one_silent() -> None:
    views = {p.pod_id: p for p in PODS[:6]}
    plan = plan_delivery("t", sorted(views), views)
    window = [m for m in delivery_mtus(DAY, ZONE) if RT[4].covers(m.index)]
    awarded = [_activation(p, 72, 4.0) for p in plan.pods]
    packets = [parse_packet(raw) for raw in window_packets(plan, window, awarded)]
    by_pod = defaultdict(dict)
    for packet in packets:
        by_pod[packet.pod][packet.data.interval_start] = packet
    assert len(packets) == len(plan.pods) * len(window) - len(SILENT_MTUS)
    starts = {m.index: m.start for m in window}
    assert all(starts[m] not in by_pod[plan.silent] for m in SILENT_MTUS)
    for pod in plan.pods:
        at_72 = by_pod[pod].get(starts[72])
        if at_72 is None:
            continue  # the silent node
        assert at_72.data.p_kw == round(plan.baseline_kw[pod] - plan.delivers[pod] * 4.0, 3)
        assert by_pod[pod][starts[64]].data.p_kw == plan.baseline_kw[pod]
        verdict = certify(at_72, source="t/0/0", enrolled_address=plan.nodes[pod].address,
                          already_certified=False)
        assert (type(verdict).__name__ == "MeterReadingRejected") == (pod == plan.forged)
    assert sorted(set(plan.delivers.values())) == [0.60, 0.95]


def test_zero_counts_names_the_stages_that_counted_nothing() -> None:
    session = {"session_id": "RT-x-0", "offers": 3, "awards": 0,
               "requests": {"DSO": 0, "TSO": 1}}
    summary = {
        "pods": {"registered": 1, "light_nodes": 1}, "market_outcomes": 1,
        "technical_validations": {"sessions": 1},
        "setpoints": {"issued": 1, "relayed": 1, "acknowledged": 0},
        "readings": {"certified": 1, "rejected": 1, "missing": 1},
        "settlement": {"pods_settled": 1, "pods_penalised": 1},
        "token_transfers": {"count": 1}, "anchoring": {"batches": 1},
        "audit": {"records": 1}, "sessions": [session]}
    assert zero_counts(summary) == ["setpoints acknowledged", "RT-x-0 awards"]
