"""A researcher's complete, valid application for any policy, derived from the policy file itself,
so the same script walks all five policies in unit and end-to-end tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dialogs.answers import FACTS_MAX_CHARS, MAX_FIELD_CHARS
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
        if material.id in ("application", "statement"):
            continue  # the assistant writes the 申请书; the 情况说明 is the statement typed above
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


ASTRAL = "𠀀"  # outside the BMP: one character, two UTF-16 units, as Telegram counts
MAXIMAL_FACTS = ("事" + ASTRAL) * (FACTS_MAX_CHARS // 2)  # 3,500 characters, 5,250 UTF-16 units


def maximal_path(policy: Policy, role: str | None = None) -> list[Step]:
    """The longest application the wizard accepts: every text field at its limit in astral characters,
    every item ticked, 3,500 astral characters of facts, a file for every material that takes one."""
    long = ASTRAL * MAX_FIELD_CHARS
    steps = [Step("press", f"p:{policy.key}")]
    if policy.status(dt.date.today()) == "lapsed":
        steps.append(Step("press", "lapsed_ok"))
    kinds = {k.id for k in policy.applicant_kinds}
    kind = "unit" if "unit" in kinds else policy.applicant_kinds[0].id  # a unit also names its responsible person
    steps.append(Step("press", f"k:{kind}"))
    role = role or (policy.roles[0].id if policy.roles else None)
    if role:
        steps.append(Step("press", f"r:{role}"))
    steps += [Step("text", long)] * (3 if kind == "unit" else 2) + [Step("text", "0769-12345678"), Step("press", "next")]
    for f in policy.project_fields:
        if f.kind == "choice":
            steps.append(Step("press", f"c:{f.id}.{f.options[-1].id}"))
        elif f.kind == "number":
            steps.append(Step("text", "999999999"))
        else:
            steps.append(Step("text", long))
    steps.append(Step("press", "next"))
    origin = next((o for o in policy.origins if o.asks_start_date), policy.origins[0])
    steps.append(Step("press", f"o:{origin.id}"))
    if origin.asks_start_date:
        steps.append(Step("text", (dt.date.today() - dt.timedelta(days=2)).isoformat()))
    steps += [Step("press", f"g:{g.id}.{'n' if g.bars_if else 'y'}") for g in policy.gates]
    steps.append(Step("press", "next"))
    for name in ("conditions", "grounds"):
        item_list = getattr(policy, name)
        if item_list is not None:
            steps += _tick_all(len(item_list.for_role(role)))
    if policy.negative is not None:
        count = len(policy.negative.for_role(role))
        for page in range(0, count, 8):
            steps += [Step("press", f"n:{i}.n") for i in range(page, min(count, page + 8))]
            if page + 8 < count:
                steps.append(Step("press", f"pg:{page // 8 + 1}"))
        steps.append(Step("press", "next"))
    steps += [Step("text", MAXIMAL_FACTS), Step("press", "next")]
    for i, material in enumerate(policy.materials):
        if material.id == "application":
            continue
        steps += [Step("press", f"m:{i}"), Step("doc", f"{material.id}-{'材料' * 20}.pdf", 4096)]
    steps += [Step("press", "next"), Step("press", "next"), Step("press", "declare"), Step("press", "submit")]
    return steps


def _tick_all(count: int) -> list[Step]:
    steps = []
    for page in range(0, count, 8):
        steps += [Step("press", f"t:{i}") for i in range(page, min(count, page + 8))]
        if page + 8 < count:
            steps.append(Step("press", f"pg:{page // 8 + 1}"))
    return [*steps, Step("press", "next")]
