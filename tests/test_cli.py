"""The command lines as a new user meets them (`python -m bot`, `python -m scheduler due`): clear words,
never a stack trace."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_without_a_token_the_bot_says_how_to_set_one(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "BOT_TOKEN": ""}
    out = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert out.returncode == 2
    assert "BOT_TOKEN" in out.stderr and "@BotFather" in out.stderr and "console" in out.stderr
    assert "Traceback" not in out.stderr


# -- python -m scheduler due: every kind of time limit ------------------------------------------------------

def _due(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    from scheduler.__main__ import main

    monkeypatch.delenv("HOLIDAY_DATA_DIR", raising=False)  # the shipped folder: no year beyond the package
    code = main(["due", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_due_working_days(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "filing", "--from", "2026-02-12",
                        "--lang", "en")
    assert code == 0 and out.split()[0] == "2026-03-04"
    assert "10 working days after 2026-02-12, clause 4(1)2" in out and "PROVISIONAL" not in out
    assert "203" not in out and len(out.strip().splitlines()) == 1


def test_due_calendar_days_rolled_per_civil_code_203(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "zhejiang", "--step", "publicity", "--from", "2026-09-30")
    assert code == 0 and out.split()[0] == "2026-10-08"
    assert "7 日（自然日）" in out and "期末逢休息日顺延（民法典第二百零三条）" in out and "2026-10-07" in out
    code, out, _ = _due(capsys, monkeypatch, "--policy", "yunnan", "--step", "interview", "--from", "2026-09-24",
                        "--lang", "en")
    assert out.split()[0] == "2026-10-08" and "10 calendar days" in out
    assert "2026-10-04, is a rest day" in out and "Art. 203" in out


def test_due_calendar_days_not_rolled_on_a_make_up_working_day(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "yunnan", "--step", "correction_notice", "--from",
                        "2026-10-03")
    assert code == 0 and out.split()[0] == "2026-10-10" and "第二百零三条" not in out


def test_due_provisional_year(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "filing", "--from", "2026-12-31",
                        "--lang", "en")
    assert code == 0 and out.split()[0] == "2027-01-15"
    assert "PROVISIONAL" in out and "2027" in out and "statutory holidays" in out
    code, out, _ = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "filing", "--from", "2026-12-31")
    assert "暂定 PROVISIONAL：2027 年" in out


def test_due_rolled_into_a_provisional_year_says_both(capsys, monkeypatch):
    # 12-22 + 10 日 = 2027-01-01 (元旦) → Mon 01-04, provisional because 2027 is not loaded.
    code, out, _ = _due(capsys, monkeypatch, "--policy", "yunnan", "--step", "interview", "--from", "2026-12-22")
    assert out.split()[0] == "2027-01-04" and "第二百零三条" in out and "PROVISIONAL" in out


def test_due_per_case_length(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "liaoning", "--step", "review_request", "--from",
                        "2026-09-24", "--length", "10", "--lang", "en")
    assert code == 0 and out.split()[0] == "2026-10-08" and "10 calendar days" in out and "Art. 203" in out
    code, out, _ = _due(capsys, monkeypatch, "--policy", "shanwei", "--step", "expert_review", "--from",
                        "2026-09-25", "--length", "1", "--lang", "en")
    assert code == 0 and out.split()[0] == "2026-09-28" and "1 working day after" in out  # singular


def test_due_per_case_without_length_says_how(capsys, monkeypatch):
    code, out, err = _due(capsys, monkeypatch, "--policy", "liaoning", "--step", "review_request", "--from",
                          "2026-09-24")
    assert code == 2 and out == "" and "--length" in err and "第八条" in err


def test_due_length_for_a_fixed_limit_is_refused(capsys, monkeypatch):
    code, _, err = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "filing", "--from", "2026-09-24",
                        "--length", "3", "--lang", "en")
    assert code == 2 and "fixed by 4(1)2 at 10 working days" in err


def test_due_with_the_extension(capsys, monkeypatch):
    code, out, _ = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "decision", "--from", "2026-09-11",
                        "--extended", "--lang", "en")
    assert code == 0 and out.split()[0] == "2026-11-19" and "45 working days (extension included, 4(3))" in out
    code, _, err = _due(capsys, monkeypatch, "--policy", "dongguan", "--step", "filing", "--from", "2026-09-11",
                        "--extended")
    assert code == 2 and "--extended" in err


def test_due_unknown_policy_and_bad_input(capsys, monkeypatch):
    code, _, err = _due(capsys, monkeypatch, "--policy", "beijing", "--step", "filing", "--from", "2026-09-11",
                        "--lang", "en")
    assert code == 2 and "unknown policy beijing" in err and "dongguan" in err
    for bad in (["--from", "2026-13-01", "--length", "3"], ["--from", "2026-09-11", "--length", "0"]):
        with pytest.raises(SystemExit) as exc:
            _due(capsys, monkeypatch, "--policy", "liaoning", "--step", "review_request", *bad)
        assert exc.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
