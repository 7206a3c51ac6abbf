"""Final clearing: the market outcome cut to what the DSO's technical validation accepted,
and that validated outcome filtered per participant (Platone FR_MP_FS_5, flow 5)."""

from __future__ import annotations

from collections.abc import Iterable

from dso.domain.events import AwardVerdict, TechnicalValidationCompleted
from market.domain.events import (
    AwardLine,
    MarketCleared,
    ParticipantResultsPublished,
    ValidatedAward,
    ValidatedOutcomePublished,
)
from market.domain.money import value_cents

NO_VERDICT = "the technical validation gave no verdict on this award"


def validate_outcome(market: MarketCleared, market_event_id: str,
                     validation: TechnicalValidationCompleted,
                     validation_event_id: str) -> ValidatedOutcomePublished:
    """The validated outcome: each award at the quantity the DSO accepted.

    A verdict never raises an award: an accepted quantity above the awarded one is
    capped at the award, with the reason saying so.

    Raises:
        ValueError: the validation is of another market outcome or names an award the
            market outcome does not have.
    """
    if validation.market_outcome_event_id != market_event_id:
        raise ValueError(f"validation {validation.validation_id} is of market outcome "
                         f"{validation.market_outcome_event_id}, not {market_event_id}")
    verdicts = {v.award_id: v for v in validation.verdicts}
    awarded = {a.award_id: (a.request_id, a.offer_id, a.mtu) for a in market.awards}
    stray = sorted(award_id for award_id, v in verdicts.items()
                   if awarded.get(award_id) != (v.request_id, v.offer_id, v.mtu))
    if stray:
        raise ValueError(f"validation {validation.validation_id} judges awards the market "
                         f"outcome does not have: {stray[:3]}")
    awards = tuple(_validated(a, verdicts.get(a.award_id)) for a in market.awards)
    return ValidatedOutcomePublished(
        outcome_id=market.outcome_id, session_id=market.session_id,
        market_type=market.market_type, market_outcome_event_id=market_event_id,
        validation_event_id=validation_event_id, awards=awards,
        total_value_cents=sum(a.value_cents for a in awards))


def _validated(award: AwardLine, verdict: AwardVerdict | None) -> ValidatedAward:
    base = award.model_dump()
    if verdict is None:
        accepted, status, reason = 0.0, "rejected", NO_VERDICT
    else:
        accepted, status, reason = verdict.accepted_quantity, verdict.status, verdict.reason
        if accepted > award.quantity:
            accepted = award.quantity
            reason = f"{reason or ''} (accepted quantity capped at the award)".strip()
    return ValidatedAward(**{
        **base, "quantity": accepted, "awarded_quantity": award.quantity, "status": status,
        "reason": reason, "value_cents": value_cents(accepted, award.price_eur_per_mwh)})


def participant_results(validated: ValidatedOutcomePublished, validated_event_id: str,
                        participants: Iterable[str] = ()) -> list[ParticipantResultsPublished]:
    """One filtered copy per participant: a requester sees the awards it asked for, an
    aggregator those of its offers (FR_MP_FS_5 step 4).

    Args:
        participants: everyone who requested or offered in the session; those without an
            award get an empty copy, so that no answer is also an answer.
    """
    named = ({a.requester_id for a in validated.awards}
             | {a.aggregator_id for a in validated.awards} | set(participants))
    results = []
    for participant in sorted(named):
        mine = tuple(a for a in validated.awards
                     if participant in (a.requester_id, a.aggregator_id))
        results.append(ParticipantResultsPublished(
            session_id=validated.session_id, participant_id=participant,
            validated_outcome_event_id=validated_event_id, awards=mine,
            total_value_cents=sum(a.value_cents for a in mine)))
    return results
