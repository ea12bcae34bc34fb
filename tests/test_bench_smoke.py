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


def test_transport_benchmark_runs(tmp_path):
    from bench import transport

    report = tmp_path / "BENCHMARKS.md"
    assert transport.main(["--calls", "16", "--concurrency", "2", "--repeats", "1", "--report", str(report)]) == 0
    assert "aiohttp ÷ httpx" in report.read_text()


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
    assert replicas.main(["--users", "2", "--repeats", "1", "--report", str(report)]) == 0
    text = report.read_text()
    assert "two processes" in text and "lost / doubled" in text and "| 0 / 0 | 0 / 0 |" in text


@pytest.mark.slow
def test_responsiveness_benchmark_runs(tmp_path):
    from bench import responsiveness

    report = tmp_path / "BENCHMARKS.md"
    assert responsiveness.main(["--users", "2", "--probes", "5", "--rounds", "1", "--report", str(report)]) == 0
    text = report.read_text()
    assert "<!-- bench:responsiveness -->" in text and "loaded p99 ÷ idle p99" in text and "Median ratio" in text
    assert "| echo bot 1 |" in text and "bare echo bot under its own load" in text


def test_p99_takes_the_99th_percentile_sample():
    from bench.responsiveness import p99

    assert p99([float(i) for i in range(1, 101)]) == 100.0
    assert p99([float(i) for i in range(1, 201)]) == 199.0
    assert p99([3.0]) == 3.0


def test_profile_summary_buckets_cpu_and_sets_waiting_apart(tmp_path):
    from bench.profile import summarise

    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        "run (bot/services.py:1);press (bot/router.py:2);execute (sqlalchemy/engine/default.py:3) 60\n"
        "run (bot/services.py:1);render (dialogs/screens.py:4) 30\n"
        "run (bot/services.py:1);send (telegram/_bot.py:5);dumps (json/__init__.py:6) 10\n"
        "begin (storage/db.py:7);_sqlite_begin (storage/db.py:8);do_execute (sqlalchemy/engine/default.py:9) 100\n")
    text = summarise(stacks)
    assert "200 samples" in text and "waiting for the SQLite write lock 50%" in text
    assert "| database (SQLAlchemy, sqlite3, psycopg) | 60% |" in text
    assert "| our dialog logic and rendering (bot/, dialogs/) | 30% |" in text
    assert "| Telegram HTTP and objects (PTB, aiohttp, httpx) | 10% |" in text
    assert "`run (bot/services.py)` | 100% |" in text


def test_profile_summary_splits_the_bot_process_from_its_flow_process(tmp_path):
    """py-spy --subprocesses names the processes a stack is in: under a second one it is the flow process's."""
    from bench.profile import summarise

    bot, flow = 'process 10:"python -m bot"', 'process 11:"python -c spawn_main"'
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        f"{bot};send (telegram/_bot.py:5) 30\n{bot};run (bot/dispatch.py:1) 10\n"
        f"{bot};{flow};_invoke (bot/flowprocess.py:1);execute (sqlalchemy/engine/default.py:3) 45\n"
        f"{bot};{flow};_invoke (bot/flowprocess.py:1);render (dialogs/screens.py:4) 15\n")
    text = summarise(stacks)
    assert "bot process 40 (40%), flow process 60 (60%)" in text  # (shares of all computing samples)
    assert "| database (SQLAlchemy, sqlite3, psycopg) | 0% | 75% | 45% |" in text
    assert "| Telegram HTTP and objects (PTB, aiohttp, httpx) | 75% | 0% | 30% |" in text
