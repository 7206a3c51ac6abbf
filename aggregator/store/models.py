"""SQLAlchemy tables of the aggregator's data: baselines (in the shared customer database)
and offer terms; read models, rebuilt by a replay of the ``registry`` topic."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.models import Base


class BaselineRow(Base):
    """The baseline of one PoD for one delivery day (BaselineUploaded; the latest wins)."""

    __tablename__ = "baselines"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    delivery_day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    method: Mapped[str] = mapped_column(String(20))
    slots: Mapped[list[Any]] = mapped_column(JSON)
    uploaded_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class OfferTermsRow(Base):
    """How the aggregator offers a PoD at each session (PodOfferTermsSet; the latest wins)."""

    __tablename__ = "offer_terms"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    availability: Mapped[float] = mapped_column(Float)
    directions: Mapped[list[Any]] = mapped_column(JSON)
    quantity_types: Mapped[list[Any]] = mapped_column(JSON)
    cost_curve: Mapped[list[Any]] = mapped_column(JSON)
    set_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))
