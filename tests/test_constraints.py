"""constraints.txt pins what is installed: every package the project (with its test and bench extras)
needs is pinned, at the version installed here, so run.sh and test.sh reproduce this environment."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from tests.constraints import closure

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version
    return found


def test_every_needed_package_is_pinned_at_the_installed_version():
    needed = {k: v for k, (v, _via) in closure().items()}
    assert pins() == needed


def test_both_scripts_install_with_the_constraints():
    for script in ("run.sh", "test.sh"):
        text = (ROOT / script).read_text()
        assert "-c constraints.txt" in text, script
