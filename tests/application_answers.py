"""Complete answers for any policy's application, built from the policy file, with the applicant's
identity (answers["identity"], which the wizard's identity step stores), for the document tests.

Values are Chinese words and file names without ASCII identifiers, so a test can tell an internal id
(a material id, an option id, a state id) leaking into the document from something the applicant typed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dialogs.policy import Policy
from dialogs.wizard import DraftView, UploadInfo

FACTS = "项目因关键技术路线选择失误未能完成合同约定目标。\n团队已按计划投入并保留全部原始记录，及时报告并主动纠错。"
PERSON = {"name": "王晓明", "title": "研究员", "phone": "13800138000"}
UNIT = {"name": "东莞市松山湖示范科技有限公司", "responsible": "李建国", "title": "总经理", "phone": "0769-22880000"}
START = "2026-11-13"
FILED = dt.date(2026, 12, 2)
FILE_NAMES = ("实验记录.pdf", "经费明细.xlsx")


def answers_for(policy: Policy, *, kind: str = "person", identity: dict[str, str] | None = None,
                choice: int = 0) -> dict[str, Any]:
    """`choice`: which option of every choice field (0 = the first; -1 = the last)."""
    kinds = [o.id for o in policy.applicant_kinds]
    a: dict[str, Any] = {"policy": policy.key, "applicant_kind": kind if kind in kinds else kinds[0]}
    if policy.roles:
        a["role"] = policy.roles[-1].id
    project: dict[str, Any] = {}
    for f in policy.project_fields:
        if f.kind == "choice":
            project[f.id] = f.options[choice].id
        elif f.kind == "number":
            project[f.id] = 120.5
        elif f.id == "unit":
            project[f.id] = "浙江大学材料学院"
        else:
            project[f.id] = f"示例{f.label.zh[:4]}"
    a["project"] = project
    origin = next((o for o in policy.origins if o.asks_start_date), policy.origins[0])
    a["origin"] = origin.id
    if origin.asks_start_date:
        a["start_date"] = START
    a["gates"] = {g.id: not g.bars_if for g in policy.gates}
    if policy.conditions is not None:
        a["conditions"] = [i.id for i in policy.conditions.for_role(a.get("role"))]
    a["grounds"] = [policy.grounds.for_role(a.get("role"))[0].id]
    if policy.negative is not None:
        a["negative"] = {i.id: False for i in policy.negative.for_role(a.get("role"))}
    a["facts"] = FACTS
    a["declared"] = True
    a["identity"] = dict(identity if identity is not None else (UNIT if a["applicant_kind"] == "unit" else PERSON))
    return a


def uploads_for(policy: Policy) -> list[UploadInfo]:
    """One file per required material, and the evidence file sent twice (it must be listed once)."""
    out = []
    for n, m in enumerate(policy.materials):
        if m.required and m.id != "application":
            out.append(UploadInfo(m.id, f"附件{n + 1}.pdf", 2048, f"F{n}", f"U{n}"))
    evidence = next((m.id for m in policy.materials if "evidence" in m.id), policy.materials[-1].id)
    out += [UploadInfo(evidence, FILE_NAMES[0], 900, "Fx", "Ux"), UploadInfo(evidence, FILE_NAMES[0], 900, "Fx2", "Ux")]
    return out


def draft_for(policy: Policy, **kw: Any) -> DraftView:
    return DraftView("submitted", answers_for(policy, **kw), uploads_for(policy))


def internal_ids(policy: Policy) -> set[str]:
    """Every id the policy file defines: none may appear in a document a person reads."""
    ids = {policy.key}
    ids |= {o.id for o in policy.applicant_kinds} | {r.id for r in policy.roles}
    for f in policy.project_fields:
        ids.add(f.id)
        ids |= {o.id for o in f.options}
    ids |= {o.id for o in policy.origins} | {g.id for g in policy.gates} | {m.id for m in policy.materials}
    for item_list in (policy.conditions, policy.grounds, policy.negative):
        if item_list is not None:
            ids |= {i.id for i in item_list.items}
    ids |= {t.id for t in policy.time_limits}
    if policy.procedure is not None:
        ids |= {s.id for s in policy.procedure.states} | {a.id for a in policy.procedure.actions}
    return ids


# The wizard's prompts and its material states: none belongs in a filed document.
PROMPTS = ("请选择", "请逐项", "还剩", "请勾选", "请确认符合", "稍后提交", "可选", "Please select", "Please answer",
           "Please confirm", "Please tick", "days left", "to submit later", "optional", "not yet provided")


def leaked_ids(text: str, policy: Policy, lang: str) -> set[str]:
    """Ids of `policy` found in `text`. In Chinese every ASCII word is suspect (ids are ASCII); in
    English only ids that cannot be ordinary words (with _ or a digit, e.g. unit_certificate, n1)."""
    ids = internal_ids(policy)
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))
    if lang == "en":
        ids = {i for i in ids if "_" in i or re.search(r"\d", i)}
    found = {w for w in words if w in ids}
    if re.search(r"\bdraft-\d+", text):
        found.add("draft-<id>")
    return found
