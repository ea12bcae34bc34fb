"""Draw the state machines from the code: `python -m dialogs.diagrams [--out docs/diagrams] [--format svg]`.

The pictures in the README are generated from the same transition tables the bot runs (the wizard's
`transitions_table()` and each policy file's procedure), with transitions' GraphMachine and Debian's graphviz,
so a diagram cannot drift from the behaviour without the test that compares them failing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import graphviz
from transitions.extensions import GraphMachine

from dialogs.answers import STEPS
from dialogs.policy import Policy, Procedure, load_policies
from dialogs.procedure import transition_table
from dialogs.wizard import EXTRA_STATES, transitions_table

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "diagrams"
EX_OFFICIO_START = "ex_officio_start"


class _Model:
    """GraphMachine needs a model to draw; conditions are drawn by name and never evaluated."""


def _graph(states: list[str], initial: str, transitions: list[dict[str, Any]], title: str,
           rankdir: str) -> graphviz.Digraph:
    machine = GraphMachine(model=_Model(), states=states, initial=initial, transitions=transitions,
                           auto_transitions=False, graph_engine="graphviz", show_conditions=True, title=title)
    graph = machine.get_combined_graph()
    graph.graph_attr.update(rankdir=rankdir, fontname="Helvetica")
    return graph


def wizard_graph() -> graphviz.Digraph:
    """The researcher's wizard: every step, the optional ones skipped by conditions, edits from the summary."""
    return _graph([*STEPS, *EXTRA_STATES], "policy", transitions_table(), "Application wizard (dialogs/wizard.py)",
                  "TB")


def procedure_transitions(procedure: Procedure) -> list[dict[str, Any]]:
    """dialogs.procedure.transition_table, the table the machine is built from, with the guards drawn by
    name (an action without `to` keeps the case where it is: drawn as a loop). A case the deciding body
    opens itself (Yunnan 第六条(二)) enters from the pseudo-state EX_OFFICIO_START."""
    roles = {a.id: a.role for a in procedure.actions}
    table: list[dict[str, Any]] = []
    for row in transition_table(procedure):
        role = roles[row["trigger"]]
        label = f"{row['trigger']} ({role})" if role != "officer" else row["trigger"]
        table.append({"trigger": label, "source": row["source"], "dest": row["dest"] or "=",
                      "conditions": row["guards"]})
    if procedure.ex_officio is not None:
        table.append({"trigger": "ex_officio (officer opens)", "source": EX_OFFICIO_START,
                      "dest": procedure.ex_officio.to, "conditions": []})
    return table


def procedure_graph(policy: Policy) -> graphviz.Digraph | None:
    if policy.procedure is None:
        return None
    proc = policy.procedure
    states = [s.id for s in proc.states] + ([EX_OFFICIO_START] if proc.ex_officio is not None else [])
    return _graph(states, proc.initial, procedure_transitions(proc),
                  f"{policy.short_name.en}: deciding body's procedure ({policy.key}.yaml, clause {proc.clause})", "LR")


def all_graphs() -> dict[str, graphviz.Digraph]:
    graphs = {"wizard": wizard_graph()}
    for key, policy in load_policies().items():
        graph = procedure_graph(policy)
        if graph is not None:
            graphs[f"procedure-{key}"] = graph
    return graphs


def render_all(out: Path, fmt: str = "svg") -> list[Path]:
    """Write every diagram; raises graphviz.ExecutableNotFound, with its own message, without `dot`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, graph in all_graphs().items():
        target = out / f"{name}.{fmt}"
        target.write_bytes(graph.pipe(format=fmt))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogs.diagrams", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--format", default="svg", choices=["svg", "png"])
    args = parser.parse_args(argv)
    try:
        written = render_all(args.out, args.format)
    except graphviz.ExecutableNotFound:
        print("graphviz's `dot` is missing: apt-get install graphviz", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
