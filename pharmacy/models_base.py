"""Column helpers shared by the domain models."""

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column

from . import clock


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, onupdate=clock.now_utc)
