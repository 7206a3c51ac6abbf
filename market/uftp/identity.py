"""Who a UFTP participant is (its Internet domain and USEF role), and USEF's rule that a
message's sender is the participant that sends it, mirrored by flexmarket's ``NOT_YOURS``.

USEF signs each message in a SignedMessage envelope whose signer must be the message's
``SenderDomain`` and ``SenderRole`` (D4.2 §10.9, MessageMetadata). Here the bearer token
says who is calling instead, and the sender named in the message must be that caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.auth.roles import Role
from ledger.errors import Conflict, Forbidden, Rejected
from market.uftp.messages import DOMAIN_PATTERN, FlexMessage, FlexOffer, FlexRequest, UsefRole

# USEF names no TSO: a TSO buying flexibility at its connection point plays the part USEF
# gives the DSO, the grid operator that procures flexibility.
USEF_ROLES: dict[Role, UsefRole] = {Role.AGGREGATOR: "AGR", Role.DSO: "DSO", Role.TSO: "DSO"}
# Which USEF role sends each message the market takes (FlexOrders it issues, never takes).
SENDER_ROLES: dict[type, UsefRole] = {FlexOffer: "AGR", FlexRequest: "DSO"}
_DOMAIN = re.compile(DOMAIN_PATTERN)


@dataclass(frozen=True)
class Directory:
    """Participants' Internet domains: as configured (``FLEXMARKET_UFTP_DOMAINS``), else
    ``<participant id in lower case>.<market domain>``, so that a laptop needs none."""

    market_domain: str
    domains: Mapping[str, str] = field(default_factory=dict)

    def domain_of(self, participant_id: str) -> str:
        """``participant_id``'s domain.

        Raises:
            Conflict: ``NO_UFTP_DOMAIN`` when neither the configured nor the derived
                domain is an Internet domain USEF accepts.
        """
        domain = self.domains.get(participant_id) or \
            f"{participant_id.lower().replace('_', '-')}.{self.market_domain}"
        if not _DOMAIN.match(domain):
            raise Conflict(f"{participant_id} has no UFTP domain ({domain!r} is not one): "
                           "configure FLEXMARKET_UFTP_DOMAINS", code="NO_UFTP_DOMAIN",
                           field="participant_id")
        return domain


def check_sender(message: FlexMessage, participant_id: str, role: Role,
                 directory: Directory) -> None:
    """The caller may send ``message``: the market takes it from the caller's role, and
    it names the caller as its sender.

    Raises:
        Rejected: ``UFTP_MESSAGE_NOT_TAKEN`` for a FlexOrder (the market issues them).
        Forbidden: ``NOT_YOUR_ROLE`` when the caller's role does not send this message or
            it names another role; ``NOT_YOURS`` when it names another sender.
    """
    root = type(message).__name__
    sender_role = SENDER_ROLES.get(type(message))
    if sender_role is None:
        raise Rejected(f"the market issues {root}s; it takes FlexRequests and FlexOffers",
                       code="UFTP_MESSAGE_NOT_TAKEN", field="body")
    if USEF_ROLES.get(role) != sender_role:
        raise Forbidden(f"a {role} does not send {root}s (USEF role {sender_role} does)",
                        code="NOT_YOUR_ROLE", field="body")
    metadata = message.metadata
    if metadata.sender_role != sender_role:
        raise Forbidden(f"{participant_id} sends as {sender_role}, not {metadata.sender_role}",
                        code="NOT_YOUR_ROLE", field=f"{root}.MessageMetadata.SenderRole")
    domain = directory.domain_of(participant_id)
    if metadata.sender_domain != domain:
        raise Forbidden(f"{participant_id} is {domain}: it may not send as "
                        f"{metadata.sender_domain}", code="NOT_YOURS",
                        field=f"{root}.MessageMetadata.SenderDomain")
