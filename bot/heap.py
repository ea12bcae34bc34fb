"""The heap a process built at start is frozen, so the garbage collector's full passes stop walking it.

A process of the bot holds some 130,000 objects once its runtime is built (policies, the calendar,
SQLAlchemy's mappers, PTB); a full collection walks every one of them: 80-94 ms measured. The collector
runs one whenever enough new objects survived, which under load is every few seconds, and it ran wherever
the allocation happened, in the capacity profile twice inside a flow transaction: SQLite's one write lock
held for 140-190 ms while every other writer and every reply waited (docs/BENCHMARKS.md). Nothing built at
start is garbage, so it is moved out of the collector's sight (`gc.freeze`, CPython's documented remedy);
objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
