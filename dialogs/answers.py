"""What counts as a complete answer for each step, and how old drafts meet a newer policy file.

Kept apart from the state machine so the summary, the machine's conditions and the submission check
all ask the same questions of the same code: the step declarations (dialogs/steps.py) call these
functions as their validation.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dialogs.policy import Gate, Item, ItemList, Origin, Policy
from dialogs.status import needs_confirmation
from dialogs.text import N_, Msg, Text, msg

STEPS = ["policy", "applicant", "project", "origin", "conditions", "grounds", "negative", "facts",
         "materials", "summary"]
FACTS_MIN_CHARS = 10
FACTS_MAX_CHARS = 3500
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the Bot API lets a bot download files up to 20 MB
MAX_FIELD_CHARS = 200
STATUS_ACK = "status_ack"
"""answers[STATUS_ACK] is the key of the lapsed policy the researcher confirmed after reading its status."""
# The applicant's identity, asked once inside the applicant step and remembered for the next application.
IDENTITY_FIELDS = ("name", "responsible", "title", "phone")
# Materials the researcher never uploads: the assistant writes the 申请书 itself, and the 情况说明 is the
# statement of facts typed in the wizard (an attachment stays possible).
GENERATED_MATERIAL = "application"
TYPED_MATERIAL = "statement"
IDENTITY_LABELS = {"name": N_("identity.name"), "unit_name": N_("identity.unit_name"),
                   "responsible": N_("identity.responsible"), "title": N_("identity.title"),
                   "phone": N_("identity.phone")}
_PHONE = re.compile(r"^[0-9+()\- ]{5,24}$")

_DATE_PATTERNS = [
    re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})\.(\d{1,2})\.(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*$"),
]


def parse_date(text: str, today: dt.date) -> dt.date | Msg:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                value = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return msg("err.date_invalid", text=text)
            if value > today:
                return msg("err.date_future", date=value.isoformat())
            if value.year < 2000:
                return msg("err.date_too_old", date=value.isoformat())
            return value
    return msg("err.date_format", text=text)


def parse_amount(text: str) -> float | Msg:
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("万元").removesuffix("万").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return msg("err.number_format", text=text)
    if value < 0 or value != value or value > 1e9:
        return msg("err.number_range", text=text)
    return value


def role_of(answers: dict[str, Any]) -> str | None:
    return answers.get("role")


def items_for(item_list: ItemList | None, answers: dict[str, Any]) -> list[Item]:
    return item_list.for_role(role_of(answers)) if item_list else []


def origins_offered(policy: Policy) -> list[Origin]:
    """The origins a researcher may choose; the others start only from the deciding body (ex officio)."""
    return [o for o in policy.origins if o.offered]


def gate_effect(gate: Gate, answer: bool | None) -> str | None:
    """"bar", "warn" or None for one gate's answer."""
    if answer is None:
        return None
    if gate.bars_if is not None and answer is gate.bars_if:
        return "bar"
    if gate.warns_if is not None and answer is gate.warns_if:
        return "warn"
    return None


def conditions_problem(item_list: ItemList, answers: dict[str, Any], key: str = "conditions") -> Text | None:
    """The rule of a conditions list: all, at least one, or each group's own (Yunnan 第四条)."""
    offered = items_for(item_list, answers)
    if not offered:
        return None
    ticked = set(answers.get(key, [])) & {i.id for i in offered}
    if item_list.mode == "grouped":
        offered_ids = [i.id for i in offered]
        for group in item_list.groups:
            members = [i for i in group.items if i in offered_ids]
            if not members:
                continue
            chosen = ticked & set(members)
            if group.mode == "all" and len(chosen) < len(members):
                return msg("err.group_all", group=group.label, clause=group.clause)
            if group.mode == "at_least_one" and not chosen:
                return msg("err.group_one", group=group.label, clause=group.clause)
        return None
    if item_list.mode == "all" and len(ticked) < len(offered):
        return msg("err.conditions_all", clause=item_list.clause)
    if not ticked:
        return msg("err.at_least_one", clause=item_list.clause)
    return None


def applies(step: str, policy: Policy | None) -> bool:
    if step == "conditions":
        return policy is not None and policy.conditions is not None
    if step == "negative":
        return policy is not None and policy.negative is not None
    return True


def steps_for(policy: Policy | None) -> list[str]:
    return [s for s in STEPS if applies(s, policy)]


# The steps whose completeness depends on the files given (the rest never read `uploads`): a caller with
# no files at hand need not fetch them for any other step.
FILE_STEPS = frozenset({"materials", "summary"})


def step_problem(step: str, policy: Policy | None, answers: dict[str, Any],
                 uploads: dict[str, int], today: dt.date | None = None) -> Text | None:
    """None when the step is complete; otherwise the message telling the user what is missing.
    With `today`, a lapsed document must have been confirmed (answers[STATUS_ACK]) before the policy
    step is complete."""
    if step == "policy":
        if policy is None:
            return msg("err.choose_policy")
        if today is not None and needs_confirmation(policy, today) and answers.get(STATUS_ACK) != policy.key:
            return msg("err.confirm_status", until=(policy.valid_until or today).isoformat(),
                       clause=policy.status_clause)
        return None
    assert policy is not None
    if step == "applicant":
        if answers.get("applicant_kind") not in {o.id for o in policy.applicant_kinds}:
            return msg("err.choose_applicant_kind")
        if policy.roles and answers.get("role") not in {r.id for r in policy.roles}:
            return msg("err.choose_role")
        return None
    if step == "project":
        given = answers.get("project", {})
        missing = [f for f in policy.project_fields if f.required and given.get(f.id) in (None, "")]
        if missing:
            return msg("err.field_missing", field=missing[0].label)
        return None
    if step == "origin":
        origin = policy.origin(answers.get("origin", ""))
        if origin is None or not origin.offered:
            return msg("err.choose_origin")
        if origin.asks_start_date and not answers.get("start_date"):
            return msg("err.start_date_missing")
        gates = answers.get("gates", {})
        for gate in policy.gates:
            if gate.id not in gates:
                return msg("err.gate_missing", question=gate.question)
        return None
    if step == "conditions":
        assert policy.conditions is not None
        return conditions_problem(policy.conditions, answers)
    if step == "grounds":
        offered_ids = {i.id for i in items_for(policy.grounds, answers)}
        if not set(answers.get("grounds", [])) & offered_ids:
            return msg("err.at_least_one", clause=policy.grounds.clause)
        return None
    if step == "negative":
        given = answers.get("negative", {})
        for item in items_for(policy.negative, answers):
            if item.id not in given:
                return msg("err.negative_unanswered")
        return None
    if step == "facts":
        facts = (answers.get("facts") or "").strip()
        if len(facts) < FACTS_MIN_CHARS:
            return msg("err.facts_short", min=FACTS_MIN_CHARS)
        return None
    if step == "materials":
        later = set(answers.get("materials_later", []))
        for material in policy.materials:
            if material.required and not uploads.get(material.id) and material.id not in later:
                return msg("err.material_missing", material=material.label)
        return None
    if step == "summary":
        for s in steps_for(policy)[:-1]:
            problem = step_problem(s, policy, answers, uploads, today)
            if problem is not None:
                return problem
        return None
    raise ValueError(step)


def identity_fields(answers: dict[str, Any]) -> list[str]:
    """Which identity questions apply: a unit names the person responsible, a person does not."""
    return [f for f in IDENTITY_FIELDS if f != "responsible" or answers.get("applicant_kind") == "unit"]


def identity_label(key: str, answers: dict[str, Any]) -> Msg:
    """"姓名" for a person, "单位名称" for a unit: the same answer key, the question the applicant needs."""
    if key == "name" and answers.get("applicant_kind") == "unit":
        return msg(IDENTITY_LABELS["unit_name"])
    return msg(IDENTITY_LABELS[key])


def identity_problem(answers: dict[str, Any]) -> Text | None:
    """The applicant's name and phone are needed on the 申请书; for a unit also its responsible person."""
    identity = answers.get("identity") or {}
    for key in identity_fields(answers):
        if key != "title" and not identity.get(key):
            return msg("err.identity_missing", field=identity_label(key, answers))
    return None


def parse_phone(text: str) -> str | Msg:
    value = text.strip()
    if _PHONE.match(value) is None or sum(ch.isdigit() for ch in value) < 5:
        return msg("err.phone_format", text=value[:40])
    return value


def provided_counts(policy: Policy, answers: dict[str, Any], uploads: dict[str, int]) -> dict[str, int]:
    """Upload counts with the materials that need no upload counted as provided: the generated 申请书,
    and the 情况说明 once the statement of facts is written."""
    counts = dict(uploads)
    ids = {m.id for m in policy.materials}
    if GENERATED_MATERIAL in ids:
        counts[GENERATED_MATERIAL] = max(counts.get(GENERATED_MATERIAL, 0), 1)
    if TYPED_MATERIAL in ids and len((answers.get("facts") or "").strip()) >= FACTS_MIN_CHARS:
        counts[TYPED_MATERIAL] = max(counts.get(TYPED_MATERIAL, 0), 1)
    return counts


def bars(step: str, policy: Policy | None, answers: dict[str, Any]) -> list[tuple[Text, str, Text | None]]:
    """The reasons a step's answers bar the case: (what, clause, explanation)."""
    if policy is None:
        return []
    found: list[tuple[Text, str, Text | None]] = []
    if step == "origin":
        for gate in policy.gates:
            if gate_effect(gate, answers.get("gates", {}).get(gate.id)) == "bar":
                found.append((gate.question, gate.clause, gate.explanation))
    if step == "negative":
        given = answers.get("negative", {})
        for item in items_for(policy.negative, answers):
            if given.get(item.id) is True:
                found.append((item.text, item.clause, None))
    return found


def warnings(step: str, policy: Policy | None, answers: dict[str, Any]) -> list[tuple[Text, str, Text]]:
    """What a step's answers allow but the applicant must read (what, clause, explanation): Zhejiang
    三(一), a project that has entered but not finished its acceptance. Shown, never a bar."""
    if policy is None or step not in ("origin", "summary"):
        return []
    return [(gate.question, gate.clause, gate.explanation) for gate in policy.gates
            if gate_effect(gate, answers.get("gates", {}).get(gate.id)) == "warn"]


def registry_keys(field_id: str) -> tuple[str, str]:
    """Where a registry field keeps, beside the name, the id of the unit picked for it and the mark that the
    researcher named a unit the registry does not list (the admins are asked at submission)."""
    return f"{field_id}_id", f"{field_id}_new"


def migrate(answers: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Fit a draft's answers to the current policy file: keep what still fits, follow renames, drop
    what the file no longer asks. New questions simply stay unanswered and are asked when reached."""
    out = dict(answers)
    project = dict(out.get("project", {}))
    for f in policy.project_fields:
        for old in f.renamed_from:
            if f.id not in project and old in project:
                project[f.id] = project.pop(old)
        if f.kind == "choice" and f.id in project and project[f.id] not in {o.id for o in f.options}:
            project.pop(f.id)
    known_fields = {f.id for f in policy.project_fields}
    known_fields |= {key for f in policy.project_fields if f.registry for key in registry_keys(f.id)}
    out["project"] = {k: v for k, v in project.items() if k in known_fields}

    def fit_ids(ids: list[str], item_list: ItemList | None) -> list[str]:
        if item_list is None:
            return []
        rename = {old: i.id for i in item_list.items for old in i.renamed_from}
        known = {i.id for i in item_list.items}
        return list(dict.fromkeys(rename.get(x, x) for x in ids if rename.get(x, x) in known))

    out["conditions"] = fit_ids(out.get("conditions", []), policy.conditions)
    out["grounds"] = fit_ids(out.get("grounds", []), policy.grounds)
    if policy.negative is not None:
        rename = {old: i.id for i in policy.negative.items for old in i.renamed_from}
        known = {i.id for i in policy.negative.items}
        neg = {rename.get(k, k): v for k, v in out.get("negative", {}).items()}
        out["negative"] = {k: v for k, v in neg.items() if k in known}
    else:
        out.pop("negative", None)
    if out.get("origin") and policy.origin(out["origin"]) is None:
        out.pop("origin")
        out.pop("start_date", None)
    if policy.roles and out.get("role") not in {r.id for r in policy.roles}:
        out.pop("role", None)
    old_gates = dict(out.get("gates", {}))
    gates = {}
    for gate in policy.gates:
        if gate.id in old_gates:
            gates[gate.id] = old_gates[gate.id]
            continue
        for old in gate.renamed_from:
            if old.id in old_gates and old_gates[old.id] in old.values:
                gates[gate.id] = old_gates[old.id]
                break
    out["gates"] = gates
    out.setdefault("_meta", {})["policy_version"] = policy.version
    return out
