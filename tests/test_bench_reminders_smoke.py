"""The reminders benchmark, run tiny so it cannot rot; it asserts what it measured exists, never a time."""

from __future__ import annotations

import pytest

from bench.reminders import main, peak_in_any_second

pytestmark = pytest.mark.slow


def test_peak_counts_a_sliding_window():
    assert peak_in_any_second([0.0, 0.5, 0.99, 1.0, 1.2, 3.0]) == 4
    assert peak_in_any_second([]) == 0


def test_reminders_benchmark_runs_and_writes_its_section(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    assert main(["--clocks", "300", "--fanout", "20", "--repeats", "2", "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "<!-- bench:reminders -->" in text and "fan-out of 20" in text and "300 open clocks" in text
