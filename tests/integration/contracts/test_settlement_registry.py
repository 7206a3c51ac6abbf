"""SettlementRegistry: mechanisms created by aggregators and listed per aggregator (Platone
FR_MP_SET_1 / FR_MP_SET_2), and settlement ids recorded once so none can pay twice.

Only aggregators enrolled by the admin (AGGREGATOR_ROLE) own mechanisms, so no other
address can front-run an aggregator's mechanism id by creating it for itself."""

from __future__ import annotations

import pytest
from web3 import Web3

from contracts.errors import DecodedError
from tests.integration.contracts.harness import ZERO32, ZERO_ADDRESS, Chain, args, events

pytestmark = pytest.mark.integration

AGGREGATOR_ROLE = Web3.keccak(text="AGGREGATOR_ROLE")
REGISTRAR_ROLE = Web3.keccak(text="REGISTRAR_ROLE")
SETTLER_ROLE = Web3.keccak(text="SETTLER_ROLE")
TERMS = '{"kind":"pay-as-bid","penalty_eur_per_mwh":50}'


def mid(n: int) -> bytes:
    return Web3.keccak(text=f"mechanism-{n}")


def sid(n: int) -> bytes:
    return Web3.keccak(text=f"settlement-{n}")


def create(chain: Chain, aggregator: str, n: int, terms: str = TERMS):
    return chain.registry.functions.createMechanism(
        aggregator, mid(n), Web3.keccak(text=terms), terms
    )


def enrol(chain: Chain, *aggregators: str) -> None:
    """The admin enrols each of ``aggregators`` (grants it AGGREGATOR_ROLE)."""
    for aggregator in aggregators:
        chain.transact(chain.registry.functions.grantRole(AGGREGATOR_ROLE, aggregator))


def enrolled(chain: Chain, account: str) -> bool:
    return bool(chain.registry.functions.hasRole(AGGREGATOR_ROLE, account).call())


def test_fr_mp_set_1_aggregator_creates_its_own_mechanism(chain: Chain) -> None:
    aggregator = chain.others[0]
    enrol(chain, aggregator)
    receipt = chain.transact(create(chain, aggregator, 1), sender=aggregator)

    (log,) = events(chain.registry.events.MechanismCreated(), receipt)
    assert args(log) == {
        "mechanismId": mid(1), "aggregator": aggregator, "termsHash": Web3.keccak(text=TERMS)
    }
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    assert chain.registry.functions.mechanism(mid(1)).call() == (
        aggregator, Web3.keccak(text=TERMS), block["timestamp"], TERMS
    )
    chain.gas(f"SettlementRegistry.createMechanism ({len(TERMS)}-byte terms)", receipt)


def test_fr_mp_set_1_registrar_creates_mechanism_for_an_aggregator(chain: Chain) -> None:
    aggregator = chain.others[0]
    enrol(chain, aggregator)
    receipt = chain.transact(create(chain, aggregator, 1))  # admin holds REGISTRAR_ROLE

    (log,) = events(chain.registry.events.MechanismCreated(), receipt)
    assert args(log)["aggregator"] == aggregator
    assert chain.registry.functions.mechanism(mid(1)).call()[0] == aggregator
    assert chain.registry.functions.mechanismsOf(aggregator).call() == [mid(1)]
    assert chain.registry.functions.mechanismsOf(chain.admin).call() == []
    chain.gas(f"SettlementRegistry.createMechanism by registrar ({len(TERMS)}-byte terms)",
              receipt)


def test_fr_mp_set_1_unenrolled_address_cannot_create_for_itself(chain: Chain) -> None:
    # The front-run the role closes: an unenrolled address claiming, for itself, the id
    # meant for a real aggregator.
    squatter, aggregator = chain.others[:2]
    enrol(chain, aggregator)
    assert not enrolled(chain, squatter)
    error = chain.revert_of(create(chain, squatter, 1), sender=squatter)
    assert error == DecodedError(
        "NotAggregatorOrRegistrar", {"caller": squatter, "aggregator": squatter}
    )
    # The id is still free for the aggregator it was meant for.
    chain.transact(create(chain, aggregator, 1), sender=aggregator)
    assert chain.registry.functions.mechanism(mid(1)).call()[0] == aggregator
    assert chain.registry.functions.mechanismsOf(squatter).call() == []
    # Once enrolled by the admin, the former squatter may create its own.
    enrol(chain, squatter)
    chain.transact(create(chain, squatter, 2), sender=squatter)
    assert chain.registry.functions.mechanismsOf(squatter).call() == [mid(2)]


def test_fr_mp_set_1_registrar_cannot_create_for_an_unenrolled_address(chain: Chain) -> None:
    stranger = chain.others[0]
    error = chain.revert_of(create(chain, stranger, 1))  # admin holds REGISTRAR_ROLE
    assert error == DecodedError("NotAnAggregator", {"aggregator": stranger})
    # Nor for itself: holding REGISTRAR_ROLE (or DEFAULT_ADMIN_ROLE) enrols no one.
    assert not enrolled(chain, chain.admin)
    error = chain.revert_of(create(chain, chain.admin, 1))
    assert error == DecodedError("NotAnAggregator", {"aggregator": chain.admin})
    assert chain.registry.functions.mechanismsOf(stranger).call() == []
    assert chain.call_error(chain.registry.functions.mechanism(mid(1))) == DecodedError(
        "UnknownMechanism", {"mechanismId": mid(1)}
    )


def test_fr_mp_set_1_third_party_cannot_create_for_an_aggregator(chain: Chain) -> None:
    # The third party is itself an enrolled aggregator: enrolment lets it create its own
    # mechanisms only, never another's (enrolled or not).
    aggregator, intruder, stranger = chain.others[:3]
    enrol(chain, aggregator, intruder)
    for target in (aggregator, stranger):
        error = chain.revert_of(create(chain, target, 1), sender=intruder)
        assert error == DecodedError(
            "NotAggregatorOrRegistrar", {"caller": intruder, "aggregator": target}
        )
    # Once made a registrar it may, for the enrolled aggregator only.
    chain.transact(chain.registry.functions.grantRole(REGISTRAR_ROLE, intruder))
    error = chain.revert_of(create(chain, stranger, 1), sender=intruder)
    assert error == DecodedError("NotAnAggregator", {"aggregator": stranger})
    chain.transact(create(chain, aggregator, 1), sender=intruder)
    assert chain.registry.functions.mechanismsOf(aggregator).call() == [mid(1)]
    assert chain.registry.functions.mechanismsOf(intruder).call() == []


def test_fr_mp_set_1_only_the_admin_enrols_and_removes_aggregators(chain: Chain) -> None:
    aggregator, other, registrar = chain.others[:3]
    view = chain.registry.functions
    assert view.getRoleAdmin(AGGREGATOR_ROLE).call() == ZERO32  # DEFAULT_ADMIN_ROLE
    chain.transact(view.grantRole(REGISTRAR_ROLE, registrar))
    enrol(chain, other)
    # Neither a registrar, nor an enrolled aggregator, nor the account itself may enrol.
    for sender in (registrar, other, aggregator):
        error = chain.revert_of(view.grantRole(AGGREGATOR_ROLE, aggregator), sender=sender)
        assert error == DecodedError(
            "AccessControlUnauthorizedAccount", {"account": sender, "neededRole": ZERO32}
        )
    assert not enrolled(chain, aggregator)

    receipt = chain.transact(view.grantRole(AGGREGATOR_ROLE, aggregator))
    (log,) = events(chain.registry.events.RoleGranted(), receipt)
    assert args(log) == {"role": AGGREGATOR_ROLE, "account": aggregator, "sender": chain.admin}
    assert enrolled(chain, aggregator)
    chain.transact(create(chain, aggregator, 1), sender=aggregator)

    # Nor may they remove an aggregator.
    for sender in (registrar, other):
        error = chain.revert_of(view.revokeRole(AGGREGATOR_ROLE, aggregator), sender=sender)
        assert error == DecodedError(
            "AccessControlUnauthorizedAccount", {"account": sender, "neededRole": ZERO32}
        )
    assert enrolled(chain, aggregator)

    receipt = chain.transact(view.revokeRole(AGGREGATOR_ROLE, aggregator))
    (log,) = events(chain.registry.events.RoleRevoked(), receipt)
    assert args(log) == {"role": AGGREGATOR_ROLE, "account": aggregator, "sender": chain.admin}
    assert not enrolled(chain, aggregator)
    # Removed: no new mechanism, by itself or by a registrar; the existing one stays.
    error = chain.revert_of(create(chain, aggregator, 2), sender=aggregator)
    assert error == DecodedError(
        "NotAggregatorOrRegistrar", {"caller": aggregator, "aggregator": aggregator}
    )
    error = chain.revert_of(create(chain, aggregator, 2), sender=registrar)
    assert error == DecodedError("NotAnAggregator", {"aggregator": aggregator})
    assert view.mechanismsOf(aggregator).call() == [mid(1)]
    assert view.mechanism(mid(1)).call()[0] == aggregator


def test_fr_mp_set_1_duplicate_mechanism_id_is_refused(chain: Chain) -> None:
    first, second = chain.others[:2]
    enrol(chain, first, second)
    chain.transact(create(chain, first, 1), sender=first)
    # Not even another aggregator can take the id.
    for sender, aggregator in ((first, first), (second, second), (chain.admin, second)):
        error = chain.revert_of(create(chain, aggregator, 1, terms="other"), sender=sender)
        assert error == DecodedError("MechanismExists", {"mechanismId": mid(1)})
    assert chain.registry.functions.mechanism(mid(1)).call()[3] == TERMS


def test_fr_mp_set_1_zero_aggregator_is_refused(chain: Chain) -> None:
    assert chain.revert_of(create(chain, ZERO_ADDRESS, 1)) == DecodedError("ZeroAddress")


def test_fr_mp_set_2_mechanisms_listed_per_aggregator(chain: Chain) -> None:
    a, b = chain.others[:2]
    enrol(chain, a, b)
    for aggregator, n, sender in [(a, 3, a), (b, 1, b), (a, 1_000, chain.admin), (a, 2, a)]:
        chain.transact(create(chain, aggregator, n), sender=sender)

    listed = chain.registry.functions.mechanismsOf
    assert listed(a).call() == [mid(3), mid(1_000), mid(2)]  # creation order
    assert listed(b).call() == [mid(1)]
    assert listed(chain.others[2]).call() == []


def test_fr_mp_set_2_unknown_mechanism_reverts(chain: Chain) -> None:
    enrol(chain, chain.others[0])
    chain.transact(create(chain, chain.others[0], 1))
    assert chain.call_error(chain.registry.functions.mechanism(mid(9))) == DecodedError(
        "UnknownMechanism", {"mechanismId": mid(9)}
    )


def test_record_settlement_by_settler(chain: Chain) -> None:
    aggregator = chain.others[0]
    enrol(chain, aggregator)
    chain.transact(create(chain, aggregator, 1), sender=aggregator)
    outcome = Web3.keccak(text="outcome of session 42")

    receipt = chain.transact(chain.registry.functions.recordSettlement(sid(1), mid(1), outcome))

    (log,) = events(chain.registry.events.SettlementRecorded(), receipt)
    assert args(log) == {"settlementId": sid(1), "mechanismId": mid(1), "outcomeHash": outcome}
    view = chain.registry.functions
    assert view.isSettled(sid(1)).call() is True
    assert view.settlementOf(sid(1)).call() == [mid(1), outcome]
    chain.gas("SettlementRegistry.recordSettlement", receipt)


def test_repeated_settlement_is_refused(chain: Chain) -> None:
    enrol(chain, chain.others[0])
    chain.transact(create(chain, chain.others[0], 1))
    chain.transact(create(chain, chain.others[0], 2))
    chain.transact(chain.registry.functions.recordSettlement(sid(1), mid(1), ZERO32))
    # Same id, even with another mechanism or outcome: a replay.
    error = chain.revert_of(
        chain.registry.functions.recordSettlement(sid(1), mid(2), Web3.keccak(text="x"))
    )
    assert error == DecodedError("SettlementAlreadyRecorded", {"settlementId": sid(1)})
    assert chain.registry.functions.settlementOf(sid(1)).call() == [mid(1), ZERO32]


def test_settlement_under_unknown_mechanism_is_refused(chain: Chain) -> None:
    error = chain.revert_of(chain.registry.functions.recordSettlement(sid(1), mid(7), ZERO32))
    assert error == DecodedError("UnknownMechanism", {"mechanismId": mid(7)})
    assert chain.registry.functions.isSettled(sid(1)).call() is False


def test_settlement_without_settler_role_is_refused(chain: Chain) -> None:
    aggregator = chain.others[0]
    enrol(chain, aggregator)
    chain.transact(create(chain, aggregator, 1), sender=aggregator)
    # Not even the mechanism's own aggregator, nor a registrar, may record settlements.
    chain.transact(chain.registry.functions.grantRole(REGISTRAR_ROLE, chain.others[1]))
    for sender in (aggregator, chain.others[1]):
        error = chain.revert_of(
            chain.registry.functions.recordSettlement(sid(1), mid(1), ZERO32), sender=sender
        )
        assert error == DecodedError(
            "AccessControlUnauthorizedAccount", {"account": sender, "neededRole": SETTLER_ROLE}
        )


def test_unsettled_views_are_empty(chain: Chain) -> None:
    view = chain.registry.functions
    assert view.isSettled(sid(5)).call() is False
    assert view.settlementOf(sid(5)).call() == [ZERO32, ZERO32]
    assert view.AGGREGATOR_ROLE().call() == AGGREGATOR_ROLE
    assert view.REGISTRAR_ROLE().call() == REGISTRAR_ROLE
    assert view.SETTLER_ROLE().call() == SETTLER_ROLE
