"""SQLAlchemy tables of the shared customer database (Platone A.5): light nodes, certified,
rejected and missing readings, setpoints and closed metering days; read models, rebuilt by
a replay of the log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Integer, String
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


class LightNodeRow(Base):
    """The light node enrolled for a PoD now (LightNodeEnrolled; the latest wins)."""

    __tablename__ = "light_nodes"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    node_address: Mapped[str] = mapped_column(String(42))
    enrolled_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class RejectedPacketRow(Base):
    """A light-node packet the access layer refused, and why (MeterReadingRejected)."""

    __tablename__ = "rejected_packets"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pod_id: Mapped[str] = mapped_column(String(100), index=True)
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(300))
    interval_start: Mapped[datetime | None] = mapped_column(index=True)
    node_address: Mapped[str | None] = mapped_column(String(42))
    packet_hash: Mapped[str | None] = mapped_column(String(66))
    rejected_at: Mapped[datetime]


class MissingReadingRow(Base):
    """A quarter-hour of an enrolled PoD without a certified reading (MeterReadingMissing)."""

    __tablename__ = "missing_readings"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    node_address: Mapped[str] = mapped_column(String(42))
    event_id: Mapped[str] = mapped_column(String(36))


class SetpointRow(Base):
    """A PoD's activation for a 4-hour window and how far it got: issued by the
    aggregator, relayed by the DSO, acknowledged by the light node (Platone flow 6)."""

    __tablename__ = "setpoints"

    activation_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    pod_id: Mapped[str] = mapped_column(String(100), index=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    slots: Mapped[list[Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime]
    relayed_at: Mapped[datetime | None]
    sent_by_dso_at: Mapped[datetime | None]
    received_by_node_at: Mapped[datetime | None]
    received_by_device_at: Mapped[datetime | None]
    event_id: Mapped[str] = mapped_column(String(36))


class MeteringDayRow(Base):
    """A delivery day whose metering the shared customer database closed (its daily
    bundle for settlement, MeteringDayClosed)."""

    __tablename__ = "metering_days"

    delivery_day: Mapped[date] = mapped_column(Date, primary_key=True)
    pods: Mapped[int] = mapped_column(Integer)
    certified: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))
