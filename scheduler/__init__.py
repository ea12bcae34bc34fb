"""Deadline arithmetic for Chinese statutory time limits (working days under the State Council's
yearly holiday arrangement, calendar days rolled per 民法典 第二百零三条, and paused clocks)."""

from scheduler.calendar import Due, WorkCalendar
from scheduler.holiday_file import YearArrangement, load_arrangement, save_arrangement

__all__ = ["Due", "WorkCalendar", "YearArrangement", "load_arrangement", "save_arrangement"]
