"""The web dashboard in headless Chromium (Debian's, driven by Playwright) over a real run:
a day-ahead session cleared by NSGA-II and validated on the grid by the worker, an
operator funded on an anvil of the run's own, and `flexmarket serve` answering the
browser. The pages must show that run's data, and the verify page must prove a real
event against the chain in the browser and refuse one altered in SQL (FR_MP_I_1, the
market's information published to participants; the audit of ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from eth_hash.auto import keccak
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select, update

from deploy.stack.chromium import HEADLESS_ARGS, chromium_path
from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.settings import Settings
from ledger.store.models import AnchorBatchRow, EventRow
from ledger.worker_process import free_port
from market.report import write_day_report
from market.store.models import OutcomeRow
from tests.auth import as_aggregator, as_dso, bearer
from tests.builders import DA_CLOSED_AT, DA_SESSION, make_offer_body, make_request_body
from tests.integration.anchoring_harness import ApiServer, running_chain
from tests.integration.market.harness import Market, running_market

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SPEED = 4.0
LEAD = timedelta(seconds=100)  # the gate closes 25 real seconds after the worker starts
FUNDED_CENTS = 250_000


@dataclass
class Run:
    market: Market
    url: str  # the served API
    secret: str  # ADMIN-1's client secret
    request_event: str  # the DSO request's event id


def _outcome(market: Market, stage: str) -> OutcomeRow | None:
    with market.engine.connect() as conn:
        return conn.execute(select(OutcomeRow).where(OutcomeRow.session_id == DA_SESSION,
                                                     OutcomeRow.stage == stage)).first()


def _anchored(market: Market, event_id: str) -> bool:
    with market.engine.connect() as conn:
        row = conn.execute(select(EventRow).where(EventRow.event_id == event_id)).first()
        return row is not None and conn.execute(select(AnchorBatchRow).where(
            AnchorBatchRow.topic == row.topic, AnchorBatchRow.partition == row.partition,
            AnchorBatchRow.first_offset <= row.offset,
            AnchorBatchRow.last_offset >= row.offset)).first() is not None


@pytest.fixture(scope="module")
def run(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    chain = {"var_dir": tmp / "var", "anvil_port": port, "chain_url": f"http://127.0.0.1:{port}",
             "anchor_batch_seconds": 0.3}
    with running_chain(stack.model_copy(update=chain)), running_market(
            stack, tmp, clock="simulated", clock_start=DA_CLOSED_AT - LEAD,
            clock_anchor=datetime.now(UTC), clock_speed=SPEED, clearing_engine="nsga2",
            clearing_settle_seconds=1.0, api_port=free_port(), **chain) as market, \
            market.client() as client:
        mtus = [{"mtu": m, "quantity": 4.0} for m in (70, 71, 72)]
        request = client.post(f"/v1/sessions/{DA_SESSION}/requests", headers=as_dso(),
                              json=make_request_body(quantities=mtus,
                                                     eligible_pods=["POD-000001", "POD-000002"]))
        assert request.status_code == 201, request.text
        for aggregator, pod, price in (("AGG-1", "POD-000001", 110.0),
                                       ("AGG-1", "POD-000002", 140.0),
                                       ("AGG-2", "POD-000004", 90.0)):
            offer = client.post(f"/v1/sessions/{DA_SESSION}/offers",
                                headers=as_aggregator(aggregator),
                                json=make_offer_body(aggregator_id=aggregator, pod_id=pod, steps=[
                                    {"mtu": m, "quantity": 3.0, "price_eur_per_mwh": price}
                                    for m in (70, 71, 72)]))
            assert offer.status_code == 201, offer.text
        funding = client.post("/v1/fundings", headers=as_dso(), json={
            "funding_id": "FUND-DASHBOARD", "operator_id": "DSO-1",
            "amount_cents": FUNDED_CENTS, "reference": "browser test"})
        assert funding.status_code == 201, funding.text
        market.worker.wait_until(lambda: _outcome(market, "validated") is not None,
                                 what="the validated outcome", timeout_s=180)
        event_id = request.json()["event_id"]
        market.worker.wait_until(lambda: _anchored(market, event_id), what="anchoring",
                                 timeout_s=60)
        market.worker.wait_until(lambda: client.get(
            "/v1/wallets/DSO-1", headers=as_dso()).json()["balance_cents"] == FUNDED_CENTS,
            what="the funding minted", timeout_s=60)
        with market.engine.begin() as conn:
            secret = register_participant(conn, "ADMIN-1", Role.MARKET_ADMIN,
                                          now=datetime.now(UTC))
        with ApiServer(market.settings, tmp / "api.log"):
            yield Run(market, market.settings.api_base_url, secret, event_id)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    assert path is not None, "Chromium is missing: `flexmarket stack up --only chromium` (run by " \
                             "`make test`) installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(path),
                                              args=list(HEADLESS_ARGS))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, run: Run) -> Iterator[Page]:
    """A page signed in as the market admin, through the sign-in form."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{run.url}/dashboard")
    page.fill("#client-id", "ADMIN-1")
    page.fill("#client-secret", run.secret)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who")).to_have_text("ADMIN-1 (market_admin)")
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def test_sign_in_refuses_a_wrong_secret(browser: Browser, run: Run) -> None:
    page = browser.new_page()
    page.goto(f"{run.url}/dashboard")
    page.fill("#client-id", "ADMIN-1")
    page.fill("#client-secret", "not-the-secret")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-status")).to_contain_text("INVALID_CLIENT")
    expect(page.locator("#who")).to_have_text("not signed in")
    page.close()


def test_sessions_page_lists_the_day_with_the_cleared_session(page: Page, run: Run) -> None:
    page.goto(f"{run.url}/dashboard#/sessions?day=2026-06-10")
    row = page.locator("#sessions tbody tr", has_text=DA_SESSION)
    expect(row).to_contain_text("closed")
    expect(row).to_contain_text("market, technical, validated")
    expect(page.locator("#sessions tbody tr")).to_have_count(7)  # DA and six RT


def test_session_page_shows_requests_offers_and_the_pareto_front(page: Page,
                                                                  run: Run) -> None:
    market = _outcome(run.market, "market")
    validated = _outcome(run.market, "validated")
    assert market is not None and validated is not None
    page.goto(f"{run.url}/dashboard#/session/{DA_SESSION}")
    expect(page.locator("#requests tbody tr")).to_have_count(1)
    expect(page.locator("h2", has_text="Requests (1)")).to_be_visible()
    expect(page.locator("#offers tbody tr")).to_have_count(3)
    expect(page.locator("h2", has_text="Offers (3)")).to_be_visible()
    expect(page.locator("#pareto circle")).to_have_count(len(market.payload["pareto_front"]))
    expect(page.locator("#pareto circle.chosen")).to_have_count(1)
    expect(page.locator("#validation")).to_contain_text("AC power flows on cigre_mv")
    expect(page.locator("#awards tbody tr")).to_have_count(len(validated.payload["awards"]))
    # The cheapest offer (AGG-2's POD-000004) is not eligible for the DSO's request.
    expect(page.locator("#awards")).not_to_contain_text("POD-000004")


def test_grid_page_colours_the_buses_by_the_voltages_the_api_computes(page: Page,
                                                                     run: Run) -> None:
    picture = httpx.get(f"{run.url}/v1/dso/sessions/{DA_SESSION}/grid-picture",
                        headers=bearer("ADMIN-1", "market_admin")).json()
    page.goto(f"{run.url}/dashboard#/grid/{DA_SESSION}")
    after = page.locator("#grid-after circle.bus")
    expect(after).to_have_count(len(picture["buses"]))
    shown = sorted(float(v) for v in after.evaluate_all("els => els.map(e => e.dataset.vm)"))
    assert shown == sorted(b["vm_after_pu"] for b in picture["buses"])
    expect(page.locator("#grid-before line.branch")).to_have_count(len(picture["branches"]))
    expect(page.locator("#grid-summary")).to_contain_text("highest loading")
    page.fill("input[name=mtu]", "71")
    page.click("form button[type=submit]")
    expect(page.locator("h2", has_text="MTU 71")).to_be_visible()


def test_wallet_page_shows_the_funded_balance_from_the_chain(page: Page, run: Run) -> None:
    page.goto(f"{run.url}/dashboard#/wallets?participant=DSO-1&day=2026-06-10")
    expect(page.locator("#wallet")).to_contain_text("DSO-1: 2,500.00 €")
    expect(page.locator("#settlements")).to_be_visible()


def test_keccak_in_the_page_is_the_servers(page: Page, run: Run) -> None:
    texts = ["", "abc", "x" * 135, "x" * 136, "é€😀" * 50]
    hashed = page.evaluate("texts => texts.map(t => FlexHash.keccakHex(t))", texts)
    assert hashed == ["0x" + keccak(t.encode()).hex() for t in texts]


def test_verify_page_proves_a_real_event_against_the_chain(page: Page, run: Run) -> None:
    page.goto(f"{run.url}/dashboard#/verify?event={run.request_event}")
    page.click("#verify button[type=submit]")
    expect(page.locator("#verdict")).to_have_attribute("data-ok", "true", timeout=20_000)
    expect(page.locator("#verdict")).to_contain_text("FlexRequestSubmitted is anchored")
    expect(page.locator("#steps li.ok")).to_have_count(4)


def test_verify_page_fails_an_event_altered_in_sql(page: Page, run: Run) -> None:
    engine = run.market.engine
    with engine.begin() as conn:
        row = conn.execute(select(EventRow).where(
            EventRow.event_id == run.request_event)).one()
        altered = {**row.payload, "quantities": [{"mtu": 70, "quantity": 400.0}]}
        conn.execute(update(EventRow).where(EventRow.event_id == run.request_event)
                     .values(payload=altered))
    try:
        page.goto(f"{run.url}/dashboard#/verify?event={run.request_event}")
        page.click("#verify button[type=submit]")
        expect(page.locator("#verdict")).to_have_attribute("data-ok", "false", timeout=20_000)
        expect(page.locator("#verdict")).to_have_text("NOT verified")
        expect(page.locator("#steps li.fail")).to_contain_text("altered")
    finally:
        with engine.begin() as conn:
            conn.execute(update(EventRow).where(EventRow.event_id == run.request_event)
                         .values(payload=row.payload))


def test_day_report_draws_the_run_in_the_browser(browser: Browser, run: Run,
                                                 tmp_path: Path) -> None:
    """The demo's HTML report of the run's day, opened from disk: each cleared session's
    Pareto front, its voltages before and after, and the grid maps are drawn."""
    path = write_day_report(run.market.engine, run.market.settings, date(2026, 6, 10),
                            tmp_path / "report.html", {"stage": "browser test"})
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    expect(page.locator("#report")).to_have_attribute("data-drawn", "true")
    front = _outcome(run.market, "market").payload["pareto_front"]  # type: ignore[union-attr]
    expect(page.locator(f"#pareto-{DA_SESSION} circle")).to_have_count(len(front))
    expect(page.locator(f"#volts-{DA_SESSION} path.series")).to_have_count(2)
    expect(page.locator(f"#volts-{DA_SESSION}-map-after circle.bus")).to_have_count(15)
    page.close()
    assert errors == []
