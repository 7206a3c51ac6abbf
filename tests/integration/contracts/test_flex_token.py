"""FlexToken: minted only by funding, once per funding id, moved only by transfers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3 import Web3

from contracts.errors import DecodedError
from tests.integration.contracts.harness import ZERO_ADDRESS, Chain, args, events

pytestmark = pytest.mark.integration

FUNDING_ROLE = Web3.keccak(text="FUNDING_ROLE")


def fid(n: int) -> bytes:
    return Web3.keccak(text=f"funding-{n}")


def test_metadata_two_decimals_one_cent(chain: Chain) -> None:
    token = chain.token.functions
    assert token.name().call() == "Flexmarket Token"
    assert token.symbol().call() == "FLEX"
    assert token.decimals().call() == 2
    assert token.totalSupply().call() == 0
    assert token.totalFunded().call() == 0
    assert token.FUNDING_ROLE().call() == FUNDING_ROLE


def test_fund_mints_to_operator_records_id_and_emits(chain: Chain) -> None:
    operator = chain.others[0]
    receipt = chain.transact(chain.token.functions.fund(operator, 12_345, fid(1)))

    token = chain.token.functions
    assert token.balanceOf(operator).call() == 12_345
    assert token.totalFunded().call() == 12_345
    assert token.totalSupply().call() == 12_345
    assert token.funded(fid(1)).call() is True
    assert token.funded(fid(2)).call() is False
    (funded,) = events(chain.token.events.Funded(), receipt)
    assert args(funded) == {
        "operator": operator, "amountCents": 12_345, "fundingId": fid(1)
    }
    # The ERC-20 mint event too, from the zero address.
    (minted,) = events(chain.token.events.Transfer(), receipt)
    assert args(minted) == {"from": ZERO_ADDRESS, "to": operator, "value": 12_345}
    chain.gas("FlexToken.fund", receipt)


def test_fund_by_account_without_funding_role_is_refused(chain: Chain) -> None:
    stranger = chain.others[1]
    error = chain.revert_of(chain.token.functions.fund(stranger, 100, fid(1)), sender=stranger)
    assert error == DecodedError(
        "AccessControlUnauthorizedAccount", {"account": stranger, "neededRole": FUNDING_ROLE}
    )


def test_funding_role_granted_by_admin_allows_funding(chain: Chain) -> None:
    funder = chain.others[1]
    chain.transact(chain.token.functions.grantRole(FUNDING_ROLE, funder))
    chain.transact(chain.token.functions.fund(chain.others[0], 1, fid(9)), sender=funder)
    assert chain.token.functions.balanceOf(chain.others[0]).call() == 1


def test_repeated_funding_id_is_refused(chain: Chain) -> None:
    chain.transact(chain.token.functions.fund(chain.others[0], 500, fid(1)))

    error = chain.revert_of(chain.token.functions.fund(chain.others[1], 700, fid(1)))
    assert error == DecodedError("FundingAlreadyRecorded", {"fundingId": fid(1)})
    assert chain.token.functions.totalFunded().call() == 500


def test_zero_amount_is_refused(chain: Chain) -> None:
    error = chain.revert_of(chain.token.functions.fund(chain.others[0], 0, fid(1)))
    assert error == DecodedError("ZeroAmount")
    assert chain.token.functions.funded(fid(1)).call() is False


def test_funding_the_zero_address_is_refused(chain: Chain) -> None:
    error = chain.revert_of(chain.token.functions.fund(ZERO_ADDRESS, 5, fid(1)))
    assert error == DecodedError("ERC20InvalidReceiver", {"receiver": ZERO_ADDRESS})


def test_transfers_move_tokens_without_changing_supply(chain: Chain) -> None:
    dso, aggregator, other = chain.others[:3]
    token = chain.token.functions
    chain.transact(token.fund(dso, 10_000, fid(1)))

    receipt = chain.transact(token.transfer(aggregator, 2_500), sender=dso)
    chain.gas("FlexToken.transfer (to a new holder)", receipt)
    chain.transact(token.approve(other, 1_000), sender=aggregator)
    chain.transact(token.transferFrom(aggregator, other, 400), sender=other)

    assert token.balanceOf(dso).call() == 7_500
    assert token.balanceOf(aggregator).call() == 2_100
    assert token.balanceOf(other).call() == 400
    assert token.allowance(aggregator, other).call() == 600
    assert token.totalSupply().call() == token.totalFunded().call() == 10_000


def test_transfer_beyond_balance_is_refused(chain: Chain) -> None:
    dso, aggregator = chain.others[:2]
    chain.transact(chain.token.functions.fund(dso, 100, fid(1)))
    error = chain.revert_of(chain.token.functions.transfer(aggregator, 101), sender=dso)
    assert error == DecodedError(
        "ERC20InsufficientBalance", {"sender": dso, "balance": 100, "needed": 101}
    )


class TokenMachine(RuleBasedStateMachine):
    """Random fundings (some replayed, some zero) and transfers (some too large).

    Whatever happens, total supply equals total funding and balances add up to it.
    """

    chain: Chain

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.chain.backend.snapshot()
        self.holders = [self.chain.admin, *self.chain.others[:3]]
        self.balances = dict.fromkeys(self.holders, 0)
        self.ids: set[int] = set()
        self.total = 0

    @rule(to=st.integers(0, 3), amount=st.integers(0, 10**6), n=st.integers(0, 5))
    def fund(self, to: int, amount: int, n: int) -> None:
        fn = self.chain.token.functions.fund(self.holders[to], amount, fid(n))
        if amount == 0 or n in self.ids:
            self.chain.revert_of(fn)
            return
        self.chain.transact(fn)
        self.ids.add(n)
        self.total += amount
        self.balances[self.holders[to]] += amount

    @rule(src=st.integers(0, 3), dst=st.integers(0, 3), share=st.floats(0, 1.2))
    def transfer(self, src: int, dst: int, share: float) -> None:
        sender, receiver = self.holders[src], self.holders[dst]
        amount = int(self.balances[sender] * share)
        fn = self.chain.token.functions.transfer(receiver, amount)
        if amount > self.balances[sender]:
            assert self.chain.revert_of(fn, sender=sender).name == "ERC20InsufficientBalance"
            return
        self.chain.transact(fn, sender=sender)
        self.balances[sender] -= amount
        self.balances[receiver] += amount

    @invariant()
    def supply_equals_funding(self) -> None:
        token = self.chain.token.functions
        assert token.totalSupply().call() == token.totalFunded().call() == self.total
        assert sum(token.balanceOf(h).call() for h in self.holders) == self.total

    def teardown(self) -> None:
        self.chain.backend.revert(self.snapshot)


def test_invariant_total_supply_equals_total_funded(chain: Chain) -> None:
    TokenMachine.chain = chain
    run_state_machine_as_test(
        TokenMachine,
        settings=settings(
            max_examples=6, stateful_step_count=10, deadline=None, derandomize=True,
            database=None, suppress_health_check=[HealthCheck.too_slow],
        ),
    )


SETTLER_ROLE = Web3.keccak(text="SETTLER_ROLE")


def sid(n: int) -> bytes:
    return Web3.keccak(text=f"settlement-{n}")


def test_fr_mp_set_5_settle_many_moves_tokens_once_per_settlement_id(chain: Chain) -> None:
    """A settlement pays each transfer in order (an operator's payment arrives before the
    aggregator passes part of it on), records each id, and conserves the supply."""
    operator, aggregator, customer = chain.others[:3]
    chain.transact(chain.token.functions.fund(operator, 1_000, fid(1)))
    receipt = chain.transact(chain.token.functions.settleMany([
        (sid(1), operator, aggregator, 400), (sid(2), aggregator, customer, 150)]))
    token = chain.token.functions
    assert [token.balanceOf(a).call() for a in (operator, aggregator, customer)] == [600, 250,
                                                                                     150]
    assert token.totalSupply().call() == token.totalFunded().call() == 1_000
    assert token.settled(sid(1)).call() and token.settled(sid(2)).call()
    assert not token.settled(sid(3)).call()
    settled = events(chain.token.events.Settled(), receipt)
    assert [args(s) for s in settled] == [
        {"settlementId": sid(1), "payer": operator, "payee": aggregator, "amountCents": 400},
        {"settlementId": sid(2), "payer": aggregator, "payee": customer, "amountCents": 150}]
    chain.gas("FlexToken.settleMany (2 transfers)", receipt)


def test_a_replayed_settlement_id_reverts_the_whole_batch(chain: Chain) -> None:
    operator, aggregator = chain.others[:2]
    chain.transact(chain.token.functions.fund(operator, 1_000, fid(1)))
    chain.transact(chain.token.functions.settleMany([(sid(1), operator, aggregator, 400)]))
    error = chain.revert_of(chain.token.functions.settleMany([
        (sid(2), operator, aggregator, 100), (sid(1), operator, aggregator, 400)]))
    assert error == DecodedError("SettlementAlreadyPaid", {"settlementId": sid(1)})
    assert chain.token.functions.balanceOf(aggregator).call() == 400
    assert not chain.token.functions.settled(sid(2)).call()


def test_settlement_beyond_the_payers_balance_or_of_zero_is_refused(chain: Chain) -> None:
    operator, aggregator = chain.others[:2]
    chain.transact(chain.token.functions.fund(operator, 100, fid(1)))
    short = chain.revert_of(chain.token.functions.settleMany([
        (sid(1), operator, aggregator, 101)]))
    assert short.name == "ERC20InsufficientBalance"
    zero = chain.revert_of(chain.token.functions.settleMany([(sid(1), operator, aggregator, 0)]))
    assert zero == DecodedError("ZeroAmount", {})
    assert not chain.token.functions.settled(sid(1)).call()


def test_settlement_by_account_without_settler_role_is_refused(chain: Chain) -> None:
    operator, stranger = chain.others[:2]
    chain.transact(chain.token.functions.fund(operator, 100, fid(1)))
    error = chain.revert_of(chain.token.functions.settleMany([
        (sid(1), operator, stranger, 100)]), sender=stranger)
    assert error == DecodedError(
        "AccessControlUnauthorizedAccount", {"account": stranger, "neededRole": SETTLER_ROLE})
