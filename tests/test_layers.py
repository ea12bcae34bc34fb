"""The shape of the code, checked: imports only point down, the time zone is defined once, comments name
files that exist, and no module hides behind a one-letter alias.

Allowed: bot → dialogs, scheduler, storage; scheduler → dialogs, storage; storage → dialogs; dialogs →
nothing of ours. Every import counts, including one inside a function: a lazy import is how a cycle hides.
A package's `__main__.py` (a command line's composition root) is exempt, and nothing may import one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs", "scheduler", "storage")
ALLOWED = {"bot": {"bot", "dialogs", "scheduler", "storage"}, "scheduler": {"scheduler", "dialogs", "storage"},
           "storage": {"storage", "dialogs"}, "dialogs": {"dialogs"}}


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_imports_only_point_down():
    """A `__main__` module is a command line's composition root, like bot/runtime.py for the bot: it wires
    the layers together and nothing imports it, so it may reach up (scheduler/__main__.py renders the `due`
    command's answers with the bot's catalogue, bot.i18n, so that they read like the bot's own). The
    second check keeps that exemption honest: no module imports a `__main__`."""
    upward = []
    for path in _sources(*PACKAGES):
        package = path.relative_to(ROOT).parts[0]
        imports = _imports(path)
        upward += [f"{path.relative_to(ROOT)}:{line} imports the entry point {module}" for line, module in imports
                   if module.split(".")[-1] == "__main__"]
        if path.name == "__main__.py":
            continue
        for line, module in imports:
            top = module.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[package]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_the_dialogs_never_import_telegram():
    for path in _sources("dialogs"):
        assert not any(m.split(".")[0] == "telegram" for _l, m in _imports(path)), path


def test_the_time_zone_is_defined_once():
    definitions = [f"{p.relative_to(ROOT)}" for p in _sources(*PACKAGES, "bench")
                   if 'ZoneInfo("Asia/Shanghai")' in p.read_text(encoding="utf-8")]
    assert definitions == ["dialogs/tz.py"], definitions


def test_no_module_has_a_one_letter_alias():
    for path in _sources(*PACKAGES, "tests", "bench"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    assert alias.asname is None or len(alias.asname) > 1, f"{path}: {alias.name} as {alias.asname}"


_PATH = re.compile(r"(?<![\w<>{}/.-])((?:[\w-]+/)+[\w.-]+\.(?:py|md|yaml|po|toml|sh|svg|cfg))\b")


def test_files_named_in_comments_and_docstrings_exist():
    missing = []
    for path in _sources(*PACKAGES, "bench"):
        text = path.read_text(encoding="utf-8")
        for match in _PATH.finditer(text):
            name = match.group(1)
            if not (ROOT / name).exists() and not (path.parent / name).exists():
                missing.append(f"{path.relative_to(ROOT)}: {name}")
        if "LIBRARY-NOTES" in text:
            missing.append(f"{path.relative_to(ROOT)}: LIBRARY-NOTES (not in the repository)")
    assert not missing, missing
