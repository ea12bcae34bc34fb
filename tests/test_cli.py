"""The command line as a new user meets it: clear words, never a stack trace."""

from __future__ import annotations

import subprocess
import sys


def test_without_a_token_the_bot_says_how_to_set_one(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "BOT_TOKEN": ""}
    out = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert out.returncode == 2
    assert "BOT_TOKEN" in out.stderr and "@BotFather" in out.stderr and "console" in out.stderr
    assert "Traceback" not in out.stderr
