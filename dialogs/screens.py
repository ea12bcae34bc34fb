"""What each wizard state shows: the question, the clause behind it, and the buttons.

Every screen starts with the governing document and its status, because a user must always see
which text governs the case and whether it is a draft, lapsed or in force.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dialogs import answers as A
from dialogs.policy import Policy
from dialogs.text import Button, Join, Plain, Screen, Text, msg
from dialogs.wizard import DraftView, Wizard, WizardModel

BACK = Button(msg("btn.back"), "back")
CANCEL = Button(msg("btn.cancel"), "cancel")
NEXT = Button(msg("btn.next"), "next")
DOCX = Button(msg("doc.btn.docx"), "docx")  # the application as .docx; handled by bot.document_flow


def status_text(policy: Policy, today: dt.date) -> Text:
    status = policy.status(today)
    if status == "lapsed":
        return msg("status.lapsed", until=(policy.valid_until or today).isoformat())
    return msg(f"status.{status}")


def policy_header(policy: Policy, today: dt.date) -> Text:
    return msg("wiz.header", name=policy.short_name, document=policy.document, status=status_text(policy, today))


def _mark(flag: bool) -> str:
    return "☑" if flag else "☐"


def _clause(clause: str | None) -> Text:
    return msg("wiz.clause", clause=clause) if clause else msg("wiz.clause_none")


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ScreenBuilder:
    def __init__(self, wizard: Wizard) -> None:
        self.wizard = wizard

    def build(self, draft: DraftView, notice: Text | None = None, error: Text | None = None) -> Screen:
        model = WizardModel(draft, self.wizard.policies)
        policy = model.policy
        today = self.wizard.today()
        screen = Screen()
        if policy is not None and draft.state != "policy":
            screen.add(policy_header(policy, today))
        steps = A.steps_for(policy)
        step = "summary" if draft.state == "declaration" else draft.state
        if step in steps:
            screen.add(msg("wiz.progress", n=steps.index(step) + 1, total=len(steps), title=msg(f"step.{step}")))
        getattr(self, f"_{draft.state}")(screen, model, policy, today)
        if notice is not None:
            screen.lines.append(notice)
        if error is not None:
            screen.lines.append(msg("wiz.error", text=error))
        return screen

    # -- one method per state -----------------------------------------------------------------
    def _policy(self, s: Screen, m: WizardModel, _p: Policy | None, today: dt.date) -> None:
        s.add(msg("wiz.policy.prompt"))
        for policy in self.wizard.policies.values():
            s.add(msg("wiz.policy.line", name=policy.short_name, document=policy.document,
                      status=status_text(policy, today), decider=policy.decider))
            s.row(Button(Join((Plain("✅ ") if m.draft.answers.get("policy") == policy.key else Plain(""),
                               policy.short_name)), f"p:{policy.key}"))
        s.row(CANCEL)

    def _applicant(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        a = m.draft.answers
        s.add(msg("wiz.applicant.prompt"), p.scope.text, _clause(p.scope.clause))
        s.row(*[Button(Join((Plain("✅ " if a.get("applicant_kind") == o.id else ""), o.label)), f"k:{o.id}")
                for o in p.applicant_kinds])
        if p.roles:
            s.add(msg("wiz.applicant.role_prompt"), _clause(p.roles[0].clause))
            for r in p.roles:
                s.row(Button(Join((Plain("✅ " if a.get("role") == r.id else ""), r.label)), f"r:{r.id}"))
        if A.step_problem("applicant", p, a, {}) is None:
            s.row(NEXT)
        s.row(BACK, CANCEL)

    def _project(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        given = m.draft.answers.get("project", {})
        current = self.wizard._current_field(m)
        spec = next((f for f in p.project_fields if f.id == current), None)
        s.add(_clause(p.project_clause))
        if spec is not None:
            s.add(msg("wiz.project.ask", label=spec.label))
            if spec.clause:
                s.add(_clause(spec.clause))
            if spec.id in given and given[spec.id] is not None:
                s.add(msg("wiz.project.current", value=Plain(_fmt_value(given[spec.id]))))
            if spec.kind == "choice":
                for o in spec.options:
                    s.row(Button(Join((Plain("✅ " if given.get(spec.id) == o.id else ""), o.label)),
                                 f"c:{spec.id}.{o.id}"))
            else:
                s.add(msg("wiz.project.type_number" if spec.kind == "number" else "wiz.project.type_text"))
            if not spec.required:
                s.row(Button(msg("btn.skip"), "skip"))
        else:
            s.add(msg("wiz.project.review"))
            for f in p.project_fields:
                s.add(msg("wiz.kv", key=f.label, value=self._field_value(p, f.id, given)))
                s.row(Button(msg("btn.change", what=f.label), f"f:{f.id}"))
            s.row(NEXT)
        s.row(BACK, CANCEL)

    @staticmethod
    def _field_value(p: Policy, field_id: str, given: dict[str, Any]) -> Text:
        spec = next(f for f in p.project_fields if f.id == field_id)
        value = given.get(field_id)
        if value is None:
            return msg("wiz.missing") if spec.required else msg("wiz.not_given")
        if spec.kind == "choice":
            return next((o.label for o in spec.options if o.id == value), Plain(str(value)))
        return Plain(_fmt_value(value))

    def _origin(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        a = m.draft.answers
        s.add(msg("wiz.origin.prompt"), _clause(p.origin_clause))
        for o in A.origins_offered(p):
            s.add(msg("wiz.option_with_clause", label=o.label, clause=o.clause))
            s.row(Button(Join((Plain("✅ " if a.get("origin") == o.id else ""), o.label)), f"o:{o.id}"))
        origin = p.origin(a.get("origin", ""))
        if origin is not None and origin.asks_start_date:
            if not a.get("start_date"):
                s.add(msg("wiz.origin.ask_date"))
                s.row(BACK, CANCEL)
                return
            s.add(msg("wiz.origin.start_date", date=a["start_date"]))
            s.add(self.deadline_line(p, a))
            s.row(Button(msg("btn.change_date"), "d"))
        if origin is not None:
            for gate in p.gates:
                answer = a.get("gates", {}).get(gate.id)
                s.add(msg("wiz.gate", question=gate.question, clause=gate.clause))
                s.row(Button(Join((Plain("✅ " if answer is True else ""), msg("btn.yes"))), f"g:{gate.id}.y"),
                      Button(Join((Plain("✅ " if answer is False else ""), msg("btn.no"))), f"g:{gate.id}.n"))
        if A.step_problem("origin", p, a, {}) is None:
            s.row(NEXT)
        s.row(BACK, CANCEL)

    def deadline_line(self, p: Policy, a: dict[str, Any]) -> Text:
        due = self.wizard.filing_deadline(p, a)
        if due is None:
            return Plain("")
        date, provisional, clause, length = due
        today = self.wizard.today()
        key = "wiz.deadline_passed" if date < today else "wiz.deadline"
        line = msg(key, date=date.isoformat(), n=length, clause=clause,
                   left=(date - today).days)
        if provisional:
            return Join((line, msg("wiz.provisional")), "\n")
        return line

    def _items(self, s: Screen, m: WizardModel, p: Policy, name: str) -> None:
        item_list = getattr(p, name)
        chosen = set(m.draft.answers.get(name, []))
        s.add(item_list.intro, _clause(item_list.clause))
        if name == "conditions" and item_list.mode == "all":
            s.add(msg("wiz.conditions.all_required", clause=item_list.clause))
        for i, item in enumerate(A.items_for(item_list, m.draft.answers)):
            s.add(msg("wiz.item", mark=_mark(item.id in chosen), n=i + 1, text=item.text, clause=item.clause))
        offered = A.items_for(item_list, m.draft.answers)
        buttons = [Button(Plain(f"{_mark(item.id in chosen)} {i + 1}"), f"t:{i}") for i, item in enumerate(offered)]
        for k in range(0, len(buttons), 4):
            s.row(*buttons[k:k + 4])
        s.row(NEXT)
        s.row(BACK, CANCEL)

    def _conditions(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        self._items(s, m, p, "conditions")

    def _grounds(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        self._items(s, m, p, "grounds")

    def _negative(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        assert p.negative is not None
        given = m.draft.answers.get("negative", {})
        s.add(p.negative.intro, _clause(p.negative.clause))
        for i, item in enumerate(A.items_for(p.negative, m.draft.answers)):
            answer = given.get(item.id)
            mark = "—" if answer is None else (msg("wiz.yes") if answer else msg("wiz.no"))
            s.add(msg("wiz.negative_item", n=i + 1, text=item.text, clause=item.clause, answer=mark))
            s.row(Button(Join((Plain(f"{i + 1} "), msg("btn.yes"), Plain(" ✅" if answer is True else ""))), f"n:{i}.y"),
                  Button(Join((Plain(f"{i + 1} "), msg("btn.no"), Plain(" ✅" if answer is False else ""))), f"n:{i}.n"))
        s.row(NEXT)
        s.row(BACK, CANCEL)

    def _barred(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        source = m.meta.get("barred_from", "negative")
        s.add(msg("wiz.barred.title"))
        for what, clause, explanation in A.bars(source, p, m.draft.answers):
            s.add(msg("wiz.barred.item", what=what, clause=clause))
            if explanation is not None:
                s.add(explanation)
        s.add(msg("wiz.barred.kept"))
        s.row(Button(msg("btn.back_correct"), "back"))
        s.row(CANCEL)

    def _facts(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        facts = m.draft.answers.get("facts")
        s.add(msg("wiz.facts.prompt", min=A.FACTS_MIN_CHARS), _clause(p.facts_clause))
        if facts:
            s.add(msg("wiz.facts.current", text=Plain(facts if len(facts) < 400 else facts[:400] + "…")))
            s.row(NEXT)
        s.row(BACK, CANCEL)

    def _materials(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        counts = m.upload_counts()
        later = set(m.draft.answers.get("materials_later", []))
        target = m.meta.get("target")
        s.add(msg("wiz.materials.prompt", max_mb=A.MAX_UPLOAD_BYTES // 1048576), _clause(p.materials_clause))
        for i, mat in enumerate(p.materials):
            if counts.get(mat.id):
                state = msg("wiz.materials.uploaded", n=counts[mat.id])
            elif mat.id in later:
                state = msg("wiz.materials.later")
            else:
                state = msg("wiz.materials.required") if mat.required else msg("wiz.materials.optional")
            s.add(msg("wiz.materials.item", n=i + 1, label=mat.label, state=state,
                      clause=mat.clause or "—"))
            s.row(Button(Join((Plain("📎 " if target == mat.id else ""), msg("btn.upload", n=i + 1))), f"m:{i}"),
                  Button(Join((Plain("✅ " if mat.id in later else ""), msg("btn.later", n=i + 1))), f"l:{i}"))
        if target:
            label = next(x.label for x in p.materials if x.id == target)
            s.add(msg("wiz.materials.send_now", material=label))
        s.row(NEXT)
        s.row(BACK, CANCEL)

    def summary_lines(self, draft: DraftView, policy: Policy) -> list[tuple[str, list[Text]]]:
        """Each step's answers as text; the summary, /case and the application document share it."""
        a = draft.answers
        counts: dict[str, int] = {}
        for u in draft.uploads:
            counts[u.material_id] = counts.get(u.material_id, 0) + 1
        sections: list[tuple[str, list[Text]]] = []
        kind = next((o.label for o in policy.applicant_kinds if o.id == a.get("applicant_kind")), msg("wiz.missing"))
        applicant: list[Text] = [msg("wiz.kv", key=msg("sum.applicant_kind"), value=kind)]
        if policy.roles:
            role = next((r.label for r in policy.roles if r.id == a.get("role")), msg("wiz.missing"))
            applicant.append(msg("wiz.kv", key=msg("sum.role"), value=role))
        sections.append(("applicant", applicant))
        given = a.get("project", {})
        sections.append(("project", [msg("wiz.kv", key=f.label, value=self._field_value(policy, f.id, given))
                                     for f in policy.project_fields]))
        origin = policy.origin(a.get("origin", ""))
        origin_lines: list[Text] = [msg("wiz.kv", key=msg("sum.origin"),
                                        value=origin.label if origin else msg("wiz.missing"))]
        if origin and origin.asks_start_date:
            origin_lines.append(msg("wiz.kv", key=msg("sum.start_date"), value=Plain(a.get("start_date") or "—")))
            origin_lines.append(self.deadline_line(policy, a))
        for gate in policy.gates:
            ans = a.get("gates", {}).get(gate.id)
            origin_lines.append(msg("wiz.kv", key=gate.question,
                                    value=msg("wiz.missing") if ans is None else msg("wiz.yes" if ans else "wiz.no")))
        sections.append(("origin", origin_lines))
        for name in ("conditions", "grounds"):
            item_list = getattr(policy, name)
            if item_list is None:
                continue
            chosen = set(a.get(name, []))
            lines: list[Text] = [msg("wiz.item_short", text=i.text, clause=i.clause)
                                 for i in A.items_for(item_list, a) if i.id in chosen]
            sections.append((name, lines or [msg("wiz.missing")]))
        if policy.negative is not None:
            neg = a.get("negative", {})
            sections.append(("negative", [
                msg("wiz.kv", key=i.text, value=msg("wiz.missing") if i.id not in neg
                    else msg("wiz.yes" if neg[i.id] else "wiz.no"))
                for i in A.items_for(policy.negative, a)]))
        facts = a.get("facts")
        sections.append(("facts", [Plain(facts) if facts else msg("wiz.missing")]))
        later = set(a.get("materials_later", []))
        sections.append(("materials", [
            msg("wiz.kv", key=mat.label,
                value=msg("wiz.materials.uploaded", n=counts[mat.id]) if counts.get(mat.id)
                else msg("wiz.materials.later") if mat.id in later
                else msg("wiz.materials.required") if mat.required else msg("wiz.materials.optional"))
            for mat in policy.materials]))
        return sections

    def _summary(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        s.add(msg("wiz.summary.prompt"))
        for step, lines in self.summary_lines(m.draft, p):
            s.add(msg("wiz.section", title=msg(f"step.{step}")))
            s.add(Join(tuple(lines), "\n"))
        editable = [x for x in A.steps_for(p) if x not in ("summary",)]
        buttons = [Button(msg("btn.edit", what=msg(f"step.{x}")), f"e:{x}") for x in editable]
        for k in range(0, len(buttons), 2):
            s.row(*buttons[k:k + 2])
        problem = A.step_problem("summary", p, m.draft.answers, m.upload_counts())
        if problem is not None:
            s.add(msg("wiz.summary.incomplete", problem=problem))
        else:
            s.row(Button(msg("btn.to_declaration"), "next"))
        s.row(DOCX)
        s.row(BACK, CANCEL)

    def _declaration(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        declared = bool(m.draft.answers.get("declared"))
        s.add(msg("wiz.declaration.prompt"), p.declaration.text, _clause(p.declaration.clause))
        s.row(Button(Join((Plain(_mark(declared) + " "), msg("btn.declare"))), "declare"))
        if declared:
            s.row(Button(msg("btn.submit"), "submit"))
        s.row(DOCX)
        s.row(BACK, CANCEL)

    def _submitted(self, s: Screen, m: WizardModel, p: Policy, _t: dt.date) -> None:
        number = m.draft.answers.get("_meta", {}).get("case_number", "—")
        s.add(msg("wiz.submitted", number=Plain(number)), p.after_submit.text, _clause(p.after_submit.clause))
        s.row(DOCX)
        s.row(Button(msg("btn.new_application"), "new"), Button(msg("btn.my_drafts"), "drafts"))
