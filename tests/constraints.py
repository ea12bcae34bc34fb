"""Writes constraints.txt: one pin for every installed distribution the project needs with its test and
bench extras (pip-compile style, with what pulls each in). `python tests/constraints.py > constraints.txt`.

Read from the installed metadata rather than resolved afresh, so the file says what was installed and
tested together; tests/test_constraints.py fails when the two drift apart.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "rongcuo-mianze-bot"
EXTRAS = ("test", "bench")
HEADER = """\
# Pinned versions of everything the project installs, with its test and bench extras, as they were
# installed and tested together (Python 3.11, Linux x86-64). run.sh and test.sh install with
# `pip install -c constraints.txt …`, so a fresh machine gets these versions and not whatever is newest.
#
# Regenerate after changing a dependency in pyproject.toml, from a venv where
# `pip install -e '.[test,bench]'` resolved and the tests passed:
#     .venv/bin/python tests/constraints.py > constraints.txt
"""


def closure(extras: tuple[str, ...] = EXTRAS) -> dict[str, tuple[str, set[str]]]:
    """{package: (installed version, the packages that require it)} for the project and its extras."""
    found: dict[str, tuple[str, set[str]]] = {}
    todo: list[tuple[str, frozenset[str], str | None]] = [(ROOT, frozenset(extras), None)]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, exts, parent = todo.pop()
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        entry = found.setdefault(key, (dist.version, set()))
        if parent:
            entry[1].add(parent)
        if (key, exts) in done:
            continue
        done.add((key, exts))
        envs = [{"extra": e} for e in exts] or [{"extra": ""}]
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras), key))
    found.pop(canonicalize_name(ROOT), None)
    return found


def render() -> str:
    lines = [HEADER]
    for key, (version, via) in sorted(closure().items()):
        lines.append(f"{key}=={version}\n    # via {', '.join(sorted(via))}\n")
    return "".join(lines)


if __name__ == "__main__":
    print(render(), end="")
