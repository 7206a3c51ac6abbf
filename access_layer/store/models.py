"""SQLAlchemy tables of the shared customer database: certified meter readings (a read
model, rebuilt by a replay of the ``readings`` topic)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.models import Base


class MeterReadingRow(Base):
    """One PoD's certified reading of one quarter-hour (MeterReadingCertified)."""

    __tablename__ = "meter_readings"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    p_kw: Mapped[float] = mapped_column(Float)
    q_kvar: Mapped[float] = mapped_column(Float)
    energy_kwh: Mapped[float] = mapped_column(Float)
    node_address: Mapped[str] = mapped_column(String(42))
    event_id: Mapped[str] = mapped_column(String(36))
