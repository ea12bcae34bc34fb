"""Deadline arithmetic for Chinese statutory time limits (working days under the State Council's
yearly holiday arrangement, calendar days, and paused clocks)."""

from scheduler.calendar import Due, WorkCalendar, YearArrangement, load_arrangement, save_arrangement

__all__ = ["Due", "WorkCalendar", "YearArrangement", "load_arrangement", "save_arrangement"]
