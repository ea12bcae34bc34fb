"""Each benchmark runs end to end with tiny sizes, so none of them can rot unnoticed. No timing is
asserted: the figures only mean something at full size on a quiet machine (`python -m bench.*`)."""

from __future__ import annotations

import pytest

from bench import dialog, memory, scale


@pytest.mark.slow
def test_dialog_benchmark_runs(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    assert dialog.main(["--users", "2", "--only", "capacity", "--report", str(report)]) == 0
    text = report.read_text()
    assert "## Dialog throughput" in text and "ours ÷ echo" in text and "nproc" in text


def test_scale_benchmark_runs(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    assert scale.main(["--sizes", "5,20", "--researchers", "1", "--report", str(report)]) == 0
    text = report.read_text()
    assert "ratio to smallest" in text and "EXPLAIN" in text


@pytest.mark.slow
def test_memory_benchmark_runs(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    assert memory.main(["--drafts", "30", "--warmup", "10", "--report", str(report)]) == 0
    assert "KB" in report.read_text()


def test_report_sections_are_replaced_not_appended(tmp_path):
    from bench.common import write_section

    report = tmp_path / "B.md"
    write_section("x", "X", "first", report)
    write_section("y", "Y", "other", report)
    write_section("x", "X", "second", report)
    text = report.read_text()
    assert "second" in text and "first" not in text and "other" in text and text.count("## X") == 1


@pytest.mark.slow
def test_replicas_benchmark_runs(tmp_path):
    from bench import replicas

    report = tmp_path / "BENCHMARKS.md"
    assert replicas.main(["--users", "2", "--report", str(report)]) == 0
    text = report.read_text()
    assert "two processes" in text and "lost / doubled" in text and "| 0 / 0 |" in text
