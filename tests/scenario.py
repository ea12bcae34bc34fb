"""A researcher's complete, valid application for any policy, derived from the policy file itself,
so the same script walks all five policies in unit and end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.policy import Policy

FACTS = "项目因关键技术路线选择失误未能完成合同约定目标，团队已按计划投入并保留全部原始记录，及时报告并主动纠错。"


@dataclass(frozen=True)
class Step:
    kind: str  # "press" (an action), "text", "doc" (material index → filename)
    value: str
    size: int = 0


def happy_path(policy: Policy, start_date: str | None = None, role: str | None = None) -> list[Step]:
    steps = [Step("press", f"p:{policy.key}"), Step("press", "k:person")]
    if policy.roles:
        steps.append(Step("press", f"r:{role or policy.roles[-1].id}"))
    steps += project_steps(policy)
    origin = next((o for o in policy.origins if o.asks_start_date and start_date), policy.origins[0])
    steps.append(Step("press", f"o:{origin.id}"))
    if origin.asks_start_date:
        steps.append(Step("text", start_date or ""))
    for gate in policy.gates:
        flagged = gate.bars_if if gate.bars_if is not None else gate.warns_if
        steps.append(Step("press", f"g:{gate.id}.{'n' if flagged else 'y'}"))
    steps.append(Step("press", "next"))
    if policy.conditions is not None:
        steps += [Step("press", f"t:{i}") for i in condition_ticks(policy, role or (
            policy.roles[-1].id if policy.roles else None))] + [Step("press", "next")]
    steps += [Step("press", "t:0"), Step("press", "next")]
    if policy.negative is not None:
        offered = policy.negative.for_role(role or (policy.roles[-1].id if policy.roles else None))
        steps += [Step("press", f"n:{i}.n") for i in range(len(offered))] + [Step("press", "next")]
    steps += [Step("text", FACTS), Step("press", "next")]
    for i, material in enumerate(policy.materials):
        if material.required:
            steps += [Step("press", f"m:{i}"), Step("doc", f"{material.id}.pdf", 2048)]
        else:
            steps.append(Step("press", f"l:{i}"))
    steps += [Step("press", "next"), Step("press", "next"), Step("press", "declare"), Step("press", "submit")]
    return steps


def condition_ticks(policy: Policy, role: str | None) -> list[int]:
    """The fewest conditions that satisfy the list: all, one, or each group's rule (Yunnan 第四条)."""
    assert policy.conditions is not None
    offered = policy.conditions.for_role(role)
    if policy.conditions.mode == "all":
        return list(range(len(offered)))
    if policy.conditions.mode == "at_least_one":
        return [0]
    ticks = []
    for group in policy.conditions.groups:
        members = [i for i, item in enumerate(offered) if item.id in group.items]
        ticks += members if group.mode == "all" else members[:1]
    return sorted(ticks)


def project_steps(policy: Policy) -> list[Step]:
    steps = []
    for f in policy.project_fields:
        if f.kind == "choice":
            steps.append(Step("press", f"c:{f.id}.{f.options[0].id}"))
        elif f.kind == "number":
            steps.append(Step("text", "120.5"))
        else:
            steps.append(Step("text", f"测试-{f.id}"))
    steps.append(Step("press", "next"))
    return steps
