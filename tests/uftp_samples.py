"""The USEF/UFTP sample messages of tests/data/uftp/ (delivery day 10 June 2026, the DA
session of tests.builders), and variants of them for other senders and places."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from market.uftp.codec import read_message, write_message
from market.uftp.messages import FlexMessage

DATA = Path(__file__).resolve().parent / "data" / "uftp"
SAMPLES = ("flex_request", "flex_offer", "flex_order")


def sample_bytes(name: str) -> bytes:
    return (DATA / f"{name}.xml").read_bytes()


def sample(name: str) -> Any:
    """The sample message ``name`` (``flex_request``, ``flex_offer``, ``flex_order``)."""
    return read_message(sample_bytes(name))


def variant(name: str, *, metadata: dict[str, Any] | None = None,
            **fields: Any) -> FlexMessage:
    """Sample ``name`` with some of its fields (and of its MessageMetadata) replaced."""
    message = sample(name)
    new_metadata = message.metadata.model_copy(update=metadata or {})
    return message.model_copy(update={**fields, "metadata": new_metadata})  # type: ignore[no-any-return]


def variant_xml(name: str, **changes: Any) -> str:
    return write_message(variant(name, **changes))


def offer_xml(aggregator_domain: str, pod_id: str, message_id: str) -> str:
    """The sample FlexOffer from another aggregator, for another PoD, as a new message."""
    return variant_xml("flex_offer", metadata={"sender_domain": aggregator_domain,
                                               "message_id": message_id},
                       congestion_point=f"ea1.2026-06.{aggregator_domain}:{pod_id}")


def request_xml(operator_domain: str, local_part: str, message_id: str) -> str:
    """The sample FlexRequest from another system operator, at another grid point
    (``<kind>/<id>``), as a new message."""
    return variant_xml("flex_request", metadata={"sender_domain": operator_domain,
                                                 "message_id": message_id},
                       congestion_point=f"ea1.2026-06.{operator_domain}:{local_part}")
