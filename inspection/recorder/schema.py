"""Database tables. Changes go through an Alembic migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class InspectionRow(Base):
    __tablename__ = "inspections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    station: Mapped[str] = mapped_column(String(64), index=True)
    camera: Mapped[str] = mapped_column(String(128))
    recipe_name: Mapped[str] = mapped_column(String(128), index=True)
    recipe_version: Mapped[str] = mapped_column(String(32))
    recipe_sha256: Mapped[str | None] = mapped_column(
        String(64), index=True, doc="the effective recipe (rules, model, references); its content in recipes"
    )
    model_name: Mapped[str] = mapped_column(String(128))
    model_sha256: Mapped[str] = mapped_column(String(64), index=True)
    part_serial: Mapped[str | None] = mapped_column(String(128), index=True)
    lot: Mapped[str | None] = mapped_column(String(64), index=True, doc="production lot, when the line gives one")
    verdict: Mapped[str] = mapped_column(String(8), index=True)
    reasons: Mapped[str] = mapped_column(Text, doc="JSON list of human-readable reasons")
    grab_ms: Mapped[float] = mapped_column(Float)
    detect_ms: Mapped[float] = mapped_column(Float)
    decide_ms: Mapped[float] = mapped_column(Float)
    cycle_ms: Mapped[float] = mapped_column(Float, doc="frame grabbed -> verdict")
    source_name: Mapped[str | None] = mapped_column(String(256))
    reference_name: Mapped[str | None] = mapped_column(String(256), doc="reference image compared with")
    anomaly_score: Mapped[float | None] = mapped_column(Float, doc="an anomaly model's score (0.5: its threshold)")
    anomaly_map: Mapped[str | None] = mapped_column(
        Text, doc="its score map: base64 of a grey PNG at the network's resolution, score 0..1 as 0..255"
    )
    mm_per_px: Mapped[float | None] = mapped_column(Float, doc="scale on the part; sizes in mm = pixels x this")
    defects: Mapped[int | None] = mapped_column(Integer, doc="detections that counted towards the verdict")
    image_path: Mapped[str | None] = mapped_column(String(512), doc="relative to the data folder")
    annotated_path: Mapped[str | None] = mapped_column(String(512))
    forwarded_at: Mapped[datetime | None] = mapped_column(
        DateTime, index=True, doc="when the record reached the fleet's central database"
    )
    image_pruned_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="when the retention policy deleted the image (the paths stay, for the trail)"
    )

    detections: Mapped[list[DetectionRow]] = relationship(back_populates="inspection")


class DetectionRow(Base):
    __tablename__ = "detections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), index=True)
    class_id: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    area: Mapped[float] = mapped_column(Float)
    counted: Mapped[bool] = mapped_column(Boolean, doc="whether it counted towards the verdict")
    view: Mapped[str | None] = mapped_column(String(64), doc="a multi-camera part: the view whose image it is on")

    inspection: Mapped[InspectionRow] = relationship(back_populates="detections")


Index("ix_inspections_station_time", InspectionRow.station, InspectionRow.created_at)
# Covers the statistics' grouped scans (time, station, recipe, model, verdict, cycle time, defects), so
# they read this index, not the wide rows.
Index(
    "ix_inspections_stats",
    InspectionRow.created_at,
    InspectionRow.station,
    InspectionRow.recipe_name,
    InspectionRow.model_name,
    InspectionRow.verdict,
    InspectionRow.cycle_ms,
    InspectionRow.defects,
)
# Covers the defect Pareto (counted detections by class) without reading the detection rows.
Index("ix_detections_counted_label", DetectionRow.counted, DetectionRow.label)


class InspectionViewRow(Base):
    """One camera's view of a multi-camera part: its verdict by its recipe, its reasons and its image."""

    __tablename__ = "inspection_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    view: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(128))
    verdict: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[str] = mapped_column(Text, doc="JSON list")
    missing: Mapped[bool] = mapped_column(Boolean, doc="no image came within the view timeout")
    recipe_name: Mapped[str] = mapped_column(String(128))
    recipe_sha256: Mapped[str | None] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    detect_ms: Mapped[float] = mapped_column(Float)
    defects: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str | None] = mapped_column(String(256))
    reference_name: Mapped[str | None] = mapped_column(String(256))
    image_path: Mapped[str | None] = mapped_column(String(512), doc="relative to the data folder")


class RecipeRow(Base):
    """Each effective recipe a record names, once: what judged the parts (a hand edit is a new hash)."""

    __tablename__ = "recipes"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text, doc="canonical JSON: the recipe, its model's and references' sha256")
    first_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewRow(Base):
    """A person's judgement of a recorded verdict, stored beside it (the station's verdict is never changed)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewer: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), doc="correct | false_call | escape")
    boxes: Mapped[str | None] = mapped_column(Text, doc="JSON: the corrected boxes, when the reviewer fixed them")
    note: Mapped[str] = mapped_column(Text, default="")


class AlertRow(Base):
    """An alert a rule raised: when, why, when it cleared, and who acknowledged it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(32), doc="fail_rate | consecutive_fails | spc | class_rate | ...")
    title: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class StatePeriodRow(Base):
    """A stretch of time the station was started, in one state: running, fault (camera, PLC, MQTT, fleet,
    station) or changeover. Stopped time has no rows. The open period's ``ended_at`` is moved on as the
    station runs, so a killed station leaves it ending near its last sign of life."""

    __tablename__ = "state_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), doc="running | fault | changeover | output_fault")
    cause: Mapped[str] = mapped_column(String(32), doc="fault: camera | plc | mqtt | fleet | station; else ''")
    detail: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(String(128), doc="the recipe running meanwhile")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    open: Mapped[bool] = mapped_column(Boolean, doc="still going on (or cut short by a kill)")


Index("ix_state_periods_station_time", StatePeriodRow.station, StatePeriodRow.started_at)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), doc="operator | engineer | admin")
    password_hash: Mapped[str] = mapped_column(String(256), doc="scrypt, salted")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seal: Mapped[str | None] = mapped_column(
        String(64), doc="HMAC-SHA256 (the audit key) over name, role, hash and active: edits outside show"
    )


class AuditRow(Base):
    """Who did what, when: logins, start/stop, recipe, threshold and model changes, reviews, users."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, doc="JSON")
    chain: Mapped[str | None] = mapped_column(
        String(64), doc="HMAC-SHA256 (the station's audit key) over the previous entry's chain and this entry"
    )
