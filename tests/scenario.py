"""A researcher's complete, valid application for any policy, derived from the policy file itself,
so the same script walks all five policies in unit and end-to-end tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dialogs.policy import Policy

FACTS = "项目因关键技术路线选择失误未能完成合同约定目标，团队已按计划投入并保留全部原始记录，及时报告并主动纠错。"


@dataclass(frozen=True)
class Step:
    kind: str  # "press" (an action), "text", "doc" (material index → filename)
    value: str
    size: int = 0


IDENTITY = {"name": "张三", "title": "研究员", "phone": "0769-12345678"}


def happy_path(policy: Policy, start_date: str | None = None, role: str | None = None,
               remembered: bool = False) -> list[Step]:
    """Every step of a complete application as a researcher takes it. `remembered`: the identity was
    given in an earlier application, so the applicant step only shows it for review."""
    steps = [Step("press", f"p:{policy.key}")]
    if policy.status(dt.date.today()) == "lapsed":
        steps.append(Step("press", "lapsed_ok"))
    steps.append(Step("press", "k:person"))
    if policy.roles:
        steps.append(Step("press", f"r:{role or policy.roles[-1].id}"))
    if not remembered:
        steps += identity_steps()
    steps.append(Step("press", "next"))
    steps += project_steps(policy)
    origin = next((o for o in policy.origins if o.asks_start_date and start_date), policy.origins[0])
    steps.append(Step("press", f"o:{origin.id}"))
    if origin.asks_start_date:
        steps.append(Step("text", start_date or ""))
    for gate in policy.gates:
        steps.append(Step("press", f"g:{gate.id}.{'n' if gate.bars_if else 'y'}"))
    steps.append(Step("press", "next"))
    if policy.conditions is not None:
        offered = policy.conditions.for_role(role)
        count = len(offered) if policy.conditions.mode == "all" else 1
        steps += [Step("press", f"t:{i}") for i in range(count)] + [Step("press", "next")]
    steps += [Step("press", "t:0"), Step("press", "next")]
    if policy.negative is not None:
        offered = policy.negative.for_role(role or (policy.roles[-1].id if policy.roles else None))
        steps += [Step("press", f"n:{i}.n") for i in range(len(offered))] + [Step("press", "next")]
    steps += [Step("text", FACTS), Step("press", "next")]
    for i, material in enumerate(policy.materials):
        if material.id in ("application", "statement"):
            continue  # the assistant writes the 申请书; the 情况说明 is the statement typed above
        if material.required:
            steps += [Step("press", f"m:{i}"), Step("doc", f"{material.id}.pdf", 2048)]
        else:
            steps.append(Step("press", f"l:{i}"))
    steps += [Step("press", "next"), Step("press", "next"), Step("press", "declare"), Step("press", "submit")]
    return steps


def identity_steps() -> list[Step]:
    return [Step("text", IDENTITY["name"]), Step("text", IDENTITY["title"]), Step("text", IDENTITY["phone"])]


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
