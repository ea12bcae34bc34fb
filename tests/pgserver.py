"""A private PostgreSQL server for the tests that take the database away or change how it authenticates
(the shared one must never be stopped): started with tests/postgres.sh on a free port, stopped and
started again on the same data directory."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin() -> Path:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if (d / "pg_ctl").exists():
            return d
    raise AssertionError("PostgreSQL is not installed (test.sh installs it: apt-get install postgresql)")


def _as_postgres(command: str) -> None:
    if os.getuid() == 0:
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True, capture_output=True)
    else:
        subprocess.run(["sh", "-c", command], check=True, capture_output=True)


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        out = subprocess.run(["bash", str(ROOT / "tests" / "postgres.sh")], check=True, capture_output=True,
                             text=True, env={**os.environ, "PGTEST_PORT": str(self.port)})
        self.url, directory = out.stdout.split()
        self.dir = Path(directory)

    def _ctl(self, action: str) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '{self.dir}' -F -c fsync=off -c max_connections=200"
        _as_postgres(f"'{_bin()}/pg_ctl' -D '{self.dir}/data' -o \"{options}\" -l '{self.dir}/log' -m immediate "
                     f"-w {action}")

    def pause(self) -> None:
        """The server goes away at once (connections dropped, nothing shut down politely)."""
        self._ctl("stop")

    def resume(self) -> None:
        self._ctl("start")

    def require_passwords(self) -> None:
        """From now on TCP connections must authenticate with a password (scram-sha-256)."""
        hba = self.dir / "data" / "pg_hba.conf"
        _as_postgres(f"printf 'local all all trust\\nhost all all 127.0.0.1/32 scram-sha-256\\n' > '{hba}'")
        _as_postgres(f"'{_bin()}/pg_ctl' -D '{self.dir}/data' reload")

    def stop(self) -> None:
        subprocess.run(["bash", str(ROOT / "tests" / "postgres.sh"), "stop", str(self.dir)], check=False,
                       capture_output=True)

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
