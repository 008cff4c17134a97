"""Registers the segment repository, kept outside persistence/segments.py while that
file is being split; the line moves into the segments area's repository module."""

from __future__ import annotations

from domain.segments import SEGMENTS
from persistence.repositories import register
from persistence.segments import SqlSegmentRepository

register(SEGMENTS, lambda tx: SqlSegmentRepository(tx.session))
