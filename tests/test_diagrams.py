"""The state-machine diagrams: drawn from the code, not blank, and the committed ones in docs/ current."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageStat

from dialogs.answers import STEPS
from dialogs.diagrams import DEFAULT_OUT, procedure_graph, wizard_graph
from dialogs.policy import load_policies
from dialogs.wizard import EXTRA_STATES

ROOT = Path(__file__).resolve().parent.parent


def test_dot_is_installed():
    assert shutil.which("dot"), "graphviz's dot is missing: test.sh installs Debian's graphviz"


def test_wizard_diagram_is_a_real_picture():
    png = wizard_graph().pipe(format="png")
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width > 500 and image.height > 300
    assert ImageStat.Stat(image).stddev[0] > 10, "not blank"


def test_command_writes_every_machine(tmp_path):
    done = subprocess.run([sys.executable, "-m", "dialogs.diagrams", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = {p.name for p in tmp_path.glob("*.svg")}
    expected = {"wizard.svg"} | {f"procedure-{k}.svg" for k, p in load_policies().items() if p.procedure}
    assert written == expected


def test_committed_diagrams_show_the_current_machines():
    """A state or action added to the code must appear in docs/: regenerate with python -m dialogs.diagrams."""
    wizard = (DEFAULT_OUT / "wizard.svg").read_text(encoding="utf-8")
    for state in [*STEPS, *EXTRA_STATES]:
        assert f">{state}</text>" in wizard or f">{state} " in wizard, state
    for key, policy in load_policies().items():
        if policy.procedure is None:
            continue
        svg = (DEFAULT_OUT / f"procedure-{key}.svg").read_text(encoding="utf-8")
        for state in policy.procedure.states:
            assert f">{state.id}</text>" in svg, (key, state.id)
        for action in policy.procedure.actions:
            assert action.id in svg, (key, action.id)
        assert procedure_graph(policy) is not None
