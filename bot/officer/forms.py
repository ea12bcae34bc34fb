"""An officer's form: the fields a procedure action declares in the policy file
(dialogs/policies/*.yaml `actions[].fields`), on one screen.

Typed fields (text, number, date, file) are asked one after the other; every choice field is a row of
buttons on the same keyboard, answered in any order and changed by pressing another option; the screen
lists every field with its value, and "确认" appears on it as soon as every required field is given. So
one expert is: the name typed, kind and six criteria pressed on one keyboard, confirmed once.

Which fields apply and which are required is the procedure engine's answer, given the values so far and
the case (`Procedures.asks`, `field_required`): a field that does not apply is not shown (Yunnan 第九条(一):
the correction decision only with a favourable outcome; Zhejiang 三(三): the reason for a panel under five
only when it is under five), and a reason becomes required when the outcome is unfavourable.

The form lives in `PendingForm` (one per user) until it is confirmed or cancelled; typed text and files
go to it while it is open (bot/router.py asks `form_open`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.actions import Act
from bot.callbacks import CaseAction, encode
from bot.i18n import render, t
from bot.limits import TEXT_LIMIT, clip
from bot.officer.case_file import CaseFileView
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from bot.reply import Reply, View
from dialogs.policy import ProcAction, ProcField
from dialogs.procedure import parse_value
from dialogs.text import Msg
from storage import caserepo as cr
from storage.casework import PendingForm
from storage.models import Case

TYPED = ("text", "number", "date", "file")
ONE_ROW_CHARS = 16  # choice labels that fit one phone row together
NUMBERS = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


@dataclass(frozen=True)
class FormState:
    """One reading of a form: the fields that apply (in declared order), the values given for them, which
    are required now, and why it cannot be confirmed yet (None: it can)."""

    asked: list[ProcField]
    values: dict[str, Any]
    required: set[str]
    problem: Msg | None


class Forms:
    def __init__(self, desk: Desk, labels: Labels, files: CaseFileView) -> None:
        self.desk = desk
        self.labels = labels
        self.files = files

    # -- which field is asked, which are required ------------------------------------------------------
    def state(self, s: Session, case: Case, spec: ProcAction, form: PendingForm) -> FormState:
        """What the procedure engine says of the form as it stands (dialogs/procedure.py decides which
        fields apply, which are required and whether the values may be confirmed: `asks`,
        `field_required`, `check_values`). A value given for a field that no longer applies (the outcome
        was changed after a correction decision was picked) is left out, so it is neither shown nor sent."""
        case_file = self.desk.case_file(s, case)
        today = self.desk.today()
        key = case.policy_key
        given = {k: v for k, v in form.values.items() if k not in form.skipped}
        values = dict(given)
        for _ in range(len(spec.fields) + 1):  # dropping one value may make another field not apply
            asked = [f for f in spec.fields if self.desk.procedures.asks(key, case_file, spec, f, values, today)]
            kept = {k: v for k, v in given.items() if k in {f.id for f in asked}}
            if kept == values:
                break
            values = kept
        required = {f.id for f in asked
                    if self.desk.procedures.field_required(key, case_file, spec, f, values, today)}
        problem = self.desk.procedures.check_values(key, case_file, spec, values, today)
        return FormState(asked, values, required, problem)

    def values(self, s: Session, case: Case, spec: ProcAction, form: PendingForm) -> dict[str, Any]:
        return self.state(s, case, spec, form).values

    @staticmethod
    def current_typed(state: FormState, form: PendingForm) -> ProcField | None:
        """The typed field (text, number, date, file) being asked: the first that applies and is open."""
        return next((f for f in state.asked if f.kind in TYPED and f.id not in form.values
                     and f.id not in form.skipped), None)

    def problem(self, s: Session, case: Case, spec: ProcAction, form: PendingForm) -> Msg | None:
        """Why the form cannot be confirmed yet (a required field missing, a value out of range), or None."""
        return self.state(s, case, spec, form).problem

    # -- the screen --------------------------------------------------------------------------------------------
    def view(self, s: Session, case: Case, spec: ProcAction, form: PendingForm, lang: str,
             error: str | None = None) -> View:
        cid = case.id or 0
        state = self.state(s, case, spec, form)
        fields = state.asked
        choices = [f for f in fields if f.kind == "choice"]
        numbered = len(choices) > 1
        asked = self.current_typed(state, form)
        blocks = [t("off.form.header", lang, action=spec.label.get(lang), number=case.number, clause=spec.clause or "—")]
        if (panel := self.files.panel_progress(s, case, lang)) is not None and any(f.id == "name" for f in fields):
            blocks.append(panel)
        lines = []
        for i, f in enumerate(fields):
            mark = NUMBERS[i] if i < len(NUMBERS) else f"{i + 1}."
            if f.id in state.values:
                value = self.labels.fmt_value(f, state.values[f.id], lang)
            elif f.id in form.skipped:
                value = t("off.form.skipped", lang)
            else:
                value = (t("off.form.empty_required", lang) if f.id in state.required
                         else t("off.form.empty_optional", lang))
            pointer = t("off.form.pointer", lang) if asked is not None and f.id == asked.id else ""
            lines.append(t("off.form.line", lang, n=mark, label=f.label.get(lang), value=value, pointer=pointer))
        if lines:
            blocks.append("\n".join(lines))
        problem = state.problem
        if asked is not None:
            typed = [f for f in fields if f.kind in TYPED]  # "第 k/n 项" counts what is asked in turn, not the buttons
            blocks.append(t("off.form.ask", lang, n=typed.index(asked) + 1, total=len(typed),
                            label=asked.label.get(lang), prompt=t(f"off.form.kind.{asked.kind}", lang)))
        elif problem is not None:
            blocks.append(t("off.form.press_choices", lang))
        else:
            blocks.append(t("off.form.ready", lang))
        if error:
            blocks.append(error)
        buttons: list[list[tuple[str, str]]] = []
        for f in choices:
            mark = NUMBERS[fields.index(f)] if numbered and fields.index(f) < len(NUMBERS) else ""
            cells = [((t("off.form.chosen", lang) if state.values.get(f.id) == o.id else "") + mark + o.label.get(lang),
                      encode(CaseAction.PICK, cid, f.id, o.id)) for o in f.options]
            if sum(len(o.label.get(lang)) + 2 for o in f.options) <= ONE_ROW_CHARS and len(f.options) <= 4:
                buttons.append(cells)
            else:
                buttons += [[cell] for cell in cells]
        last = []
        if asked is not None and asked.id not in state.required:
            last.append((t("off.btn.skip", lang), encode(CaseAction.SKIP, cid)))
        if problem is None:
            last.append((t("off.btn.confirm", lang), encode(CaseAction.CONFIRM, cid)))
        last.append((t("off.btn.cancel", lang), encode(CaseAction.CANCEL, cid)))
        buttons.append(last)
        return View(clip("\n\n".join(blocks), TEXT_LIMIT), buttons)

    # -- starting, pressing, typing ------------------------------------------------------------------------
    def start(self, act: Act, case: Case, spec: ProcAction, role: str) -> Reply:
        cr.clear_form(act.session, act.who.user_id)
        form = PendingForm(user_id=act.who.user_id, case_id=case.id or 0, action=spec.id, role=role,
                           state=case.state, values={}, skipped=[])
        act.session.add(form)
        act.session.flush()
        return Reply(view=self.view(act.session, case, spec, form, act.lang), edit=True)

    def form_of(self, s: Session, user_id: int, case: Case) -> tuple[PendingForm, ProcAction] | None:
        form = cr.pending_form(s, user_id)
        if form is None or form.case_id != case.id or not self.desk.has_procedure(case):
            return None
        spec = self.desk.procedures.procedure(case.policy_key).action(form.action)
        return (form, spec) if spec is not None else None

    def pick(self, act: Act, case: Case, form: PendingForm, spec: ProcAction, field_id: str | None,
             option: str) -> Reply | None:
        """Set a choice field (`field_id` None: the first unanswered one offering `option`, as the buttons
        of the one-field-at-a-time forms did). None when the press names no such field or option."""
        choices = [f for f in self.state(act.session, case, spec, form).asked if f.kind == "choice"]
        if field_id is None:
            field = next((f for f in choices if f.id not in form.values and option in {o.id for o in f.options}), None)
        else:
            field = next((f for f in choices if f.id == field_id), None)
        if field is None or option not in {o.id for o in field.options}:
            return None
        form.values = {**form.values, field.id: option}
        form.skipped = [x for x in form.skipped if x != field.id]
        act.session.add(form)
        return Reply(view=self.view(act.session, case, spec, form, act.lang), edit=True)

    def skip(self, act: Act, case: Case, form: PendingForm, spec: ProcAction) -> Reply | Msg:
        state = self.state(act.session, case, spec, form)
        field = self.current_typed(state, form)
        if field is None:
            return Msg("off.err.stale")
        if field.id in state.required:
            return Msg("proc.err.missing", {"field": field.label})
        form.skipped = [*form.skipped, field.id]
        act.session.add(form)
        return Reply(view=self.view(act.session, case, spec, form, act.lang), edit=True)

    def typed(self, act: Act, case: Case, form: PendingForm, spec: ProcAction, text: str | None,
              file: dict[str, Any] | None) -> Reply:
        """Typed text or a document, for the typed field being asked."""
        lang = act.lang
        field = self.current_typed(self.state(act.session, case, spec, form), form)
        error: str | None = None
        if field is None:
            error = t("off.form.use_buttons", lang)
        elif field.kind == "file":
            if file is None:
                error = t("off.form.kind.file", lang)
            else:
                form.values = {**form.values, field.id: file}
        elif file is not None:
            error = t(f"off.form.kind.{field.kind}", lang)
        else:
            value, problem = parse_value(field, text or "")
            if problem is not None:
                error = render(problem, lang)
            else:
                form.values = {**form.values, field.id: value}
        act.session.add(form)
        return Reply(view=self.view(act.session, case, spec, form, lang,
                                    error=t("off.form.error", lang, text=error) if error else None))
