"""Every wizard screen, declared once: its question, its widgets, its validation and its buttons.

The order of the steps and which are skipped is the machine's (dialogs/wizard.py); what one step asks, how
its inputs change the draft and when it counts as complete is here, built from the widgets of
dialogs/widgets.py. The validation is dialogs/answers.py's (`step_problem`, shared with the summary and the
submission check); a step adds only what is its own (the applicant's identity).

To add a step: declare it here with `Step(...)`, add its name to `answers.STEPS` (where it falls in the
order), its title `step.<name>` to the catalogues, and regenerate the diagrams (CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dialogs.answers import (
    FACTS_MIN_CHARS,
    MAX_UPLOAD_BYTES,
    STATUS_ACK,
    bars,
    identity_fields,
    identity_label,
    identity_problem,
    items_for,
    migrate,
    origins_offered,
    parse_date,
    registry_keys,
    step_problem,
    steps_for,
    warnings,
)
from dialogs.model import Deadline, Outcome, WizardModel
from dialogs.policy import ItemList, Policy
from dialogs.status import needs_confirmation, short_status
from dialogs.text import N_, Button, Join, Msg, Plain, Screen, Text, msg, plural
from dialogs.widgets import (
    Choice,
    FieldForm,
    FileList,
    FormField,
    FreeText,
    InDict,
    ListItem,
    MultiSelect,
    SingleChoice,
    TopLevel,
    Widget,
    YesNoList,
    clause_line,
    fmt_value,
    mark,
)

STEP_TITLES = {
    "policy": N_("step.policy"), "applicant": N_("step.applicant"), "project": N_("step.project"),
    "origin": N_("step.origin"), "conditions": N_("step.conditions"), "grounds": N_("step.grounds"),
    "negative": N_("step.negative"), "facts": N_("step.facts"), "materials": N_("step.materials"),
    "summary": N_("step.summary"), "declaration": N_("step.declaration"), "barred": N_("step.barred"),
    "submitted": N_("step.submitted"),
}
FACTS_EXCERPT = 300  # the summary shows this much of the statement; the 申请书 has all of it
DOCX = Button(msg("doc.btn.docx"), "docx")  # the application as .docx; answered by bot/officer/files.py


# -- texts shared by several screens (and by the 申请书) ------------------------------------------------
def status_text(policy: Policy, today: Any) -> Text:
    """The header's one-phrase status: dialogs/status.py's, the one the case file and the 申请书 read."""
    return short_status(policy, today)


def policy_header(policy: Policy, today: Any) -> Text:
    return msg("wiz.header", name=policy.short_name, document=policy.document, status=status_text(policy, today))


def days(n: int, working: bool) -> Msg:
    """"3 个工作日" / "1 working day": the unit always said, the English plural right."""
    return plural("wiz.days.working", n) if working else plural("wiz.days.calendar", n)


def deadline_line(deadline: Deadline | None, today: Any) -> Text:
    if deadline is None:
        return Plain("")
    length = days(deadline.length, deadline.working)
    if deadline.date < today:
        line: Text = msg("wiz.deadline_passed", date=deadline.date.isoformat(), length=length, clause=deadline.clause)
    elif deadline.left == 0 or deadline.date == today:
        line = msg("wiz.deadline_last_day", date=deadline.date.isoformat(), length=length, clause=deadline.clause)
    else:
        line = msg("wiz.deadline", date=deadline.date.isoformat(), length=length, clause=deadline.clause,
                   left=days(deadline.left, deadline.working))
    if deadline.rolled_from is not None:  # 民法典第二百零三条
        line = Join((line, msg("cal.rolled", rolled_from=deadline.rolled_from.isoformat(),
                               date=deadline.date.isoformat())), "\n")
    return Join((line, msg("wiz.provisional")), "\n") if deadline.provisional else line


def yes_no(answer: bool | None) -> Msg:
    if answer is None:
        return msg("wiz.missing")
    return msg("wiz.yes") if answer else msg("wiz.no")


def summary_sections(m: WizardModel, excerpt: bool = False) -> list[tuple[str, list[Text]]]:
    """Each step's answers as text: the summary screen (with the statement cut to an excerpt), /case and
    the 申请书 (in full) share it, so the document never says what the summary did not."""
    policy = m.policy
    assert policy is not None
    a = m.answers
    sections: list[tuple[str, list[Text]]] = []
    kind = next((o.label for o in policy.applicant_kinds if o.id == a.get("applicant_kind")), msg("wiz.missing"))
    applicant: list[Text] = [msg("wiz.kv", key=msg("sum.applicant_kind"), value=kind)]
    if policy.roles:
        role = next((r.label for r in policy.roles if r.id == a.get("role")), msg("wiz.missing"))
        applicant.append(msg("wiz.kv", key=msg("sum.role"), value=role))
    identity = a.get("identity") or {}
    for key in identity_fields(a):
        value = identity.get(key)
        applicant.append(msg("wiz.kv", key=identity_label(key, a),
                             value=Plain(str(value)) if value else msg("wiz.not_given") if key == "title"
                             else msg("wiz.missing")))
    sections.append(("applicant", applicant))
    sections.append(("project", [msg("wiz.kv", key=f.label, value=PROJECT_FORM.value_text(m, f))
                                 for f in project_fields(m)]))
    origin = policy.origin(a.get("origin", ""))
    origin_lines: list[Text] = [msg("wiz.kv", key=msg("sum.origin"),
                                    value=origin.label if origin else msg("wiz.missing"))]
    if origin and origin.asks_start_date:
        origin_lines.append(msg("wiz.kv", key=msg("sum.start_date"), value=Plain(a.get("start_date") or "—")))
        origin_lines.append(deadline_line(m.filing_deadline(), m.env.today()))
    for gate in policy.gates:
        ans = a.get("gates", {}).get(gate.id)
        origin_lines.append(msg("wiz.kv", key=gate.question,
                                value=yes_no(ans)))
    sections.append(("origin", origin_lines))
    for name, item_list in (("conditions", policy.conditions), ("grounds", policy.grounds)):
        if item_list is None:
            continue
        chosen = set(a.get(name, []))
        lines: list[Text] = [msg("wiz.item_short", text=i.text, clause=i.clause)
                             for i in items_for(item_list, a) if i.id in chosen]
        sections.append((name, lines or [msg("wiz.missing")]))
    if policy.negative is not None:
        neg = a.get("negative", {})
        sections.append(("negative", [
            msg("wiz.kv", key=i.text, value=yes_no(neg.get(i.id)))
            for i in items_for(policy.negative, a)]))
    facts = a.get("facts")
    if not facts:
        sections.append(("facts", [msg("wiz.missing")]))
    elif excerpt and len(facts) > FACTS_EXCERPT:
        sections.append(("facts", [msg("wiz.summary.facts_excerpt", text=Plain(facts[:FACTS_EXCERPT]),
                                       total=plural("wiz.chars", len(facts)))]))
    else:
        sections.append(("facts", [Plain(facts)]))
    later = set(a.get("materials_later", []))
    material_lines: list[Text] = []
    for mat in policy.materials:
        names = [u.file_name for u in m.draft.uploads if u.material_id == mat.id]
        if mat.id == "application":
            state: Text = msg("wiz.materials.generated")
        elif names:
            state = msg("wiz.materials.files", names=Plain("、".join(names)))
        elif mat.id == "statement" and facts:
            state = msg("wiz.materials.typed", n=steps_for(policy).index("facts") + 1)
        elif mat.id in later:
            state = msg("wiz.materials.later")
        else:
            state = msg("wiz.materials.required") if mat.required else msg("wiz.materials.optional")
        material_lines.append(msg("wiz.kv", key=mat.label, value=state))
    sections.append(("materials", material_lines))
    return sections


# -- step declarations ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One screen of the wizard.

    `intro` is the question (and clause); `widgets` render the answers and take the presses and typed text;
    `problem` says what is still missing (None: complete). `next` shows the Next button always, only when
    complete, or never; a press whose verb is in `advance_on` moves on by itself once the step is complete.
    """

    name: str
    intro: Callable[[WizardModel], Sequence[Text]]
    widgets: Sequence[Widget]
    problem: Callable[[WizardModel], Text | None]
    next: Literal["always", "complete", "never"] = "complete"
    next_label: Msg = field(default_factory=lambda: msg("btn.next"))
    back: Msg | None = field(default_factory=lambda: msg("btn.back"))
    cancel: bool = True
    advance_on: frozenset[str] = frozenset()
    extra_rows: Callable[[WizardModel], list[list[Button]]] = lambda m: []
    after: Callable[[WizardModel, Screen], None] = lambda m, s: None

    def visible_widgets(self, m: WizardModel) -> list[Widget]:
        return [w for w in self.widgets if w.visible(m)]


def rules(step: str) -> Callable[[WizardModel], Text | None]:
    """The step's validation from dialogs/answers.py, with the generated and typed materials counted and
    today's date (a lapsed document must have been confirmed: dialogs.status.needs_confirmation)."""
    def problem(m: WizardModel) -> Text | None:
        return step_problem(step, m.policy, m.answers, m.provided_for(step), m.env.today())
    return problem


# policy ------------------------------------------------------------------------------------------------
def lapsed_unconfirmed(m: WizardModel) -> bool:
    """The chosen document's validity has lapsed and the researcher has not yet confirmed it; the
    confirmation is answers[STATUS_ACK], the one dialogs.answers.step_problem checks."""
    policy = m.policy
    return (policy is not None and needs_confirmation(policy, m.env.today())
            and m.answers.get(STATUS_ACK) != policy.key)


def choose_policy(m: WizardModel, key: str) -> None:
    """A new policy keeps what every policy asks alike (project, facts, identity) and fits the rest anew."""
    answers = m.answers
    if answers.get("policy") == key:
        return
    kept = {k: answers[k] for k in ("project", "facts", "applicant_kind", "identity", "_meta") if k in answers}
    policy = m.policies[key]
    before = m.policies.get(answers.get("policy", ""))
    if isinstance(kept.get("project"), dict):
        # a unit picked from one policy's registry is not a unit of another's: the name is kept and looked
        # up again when the new policy's registry is reached (dialogs/widgets.FieldForm)
        companions = {k for p in (before, policy) if p is not None for f in p.project_fields if f.registry
                      for k in registry_keys(f.id)}
        kept["project"] = {k: v for k, v in kept["project"].items() if k not in companions}
    answers.clear()
    answers.update(kept)
    answers["policy"] = key
    answers.update(migrate(answers, policy))
    answers["_meta"]["started_version"] = policy.version


@dataclass
class ConfirmLapsed(Widget):
    """A document whose validity has lapsed (Yunnan) is chosen only after reading why."""

    verbs: frozenset[str] = frozenset({"lapsed_ok"})

    def visible(self, m: WizardModel) -> bool:
        return lapsed_unconfirmed(m)

    def render(self, m: WizardModel, s: Screen) -> None:
        policy = m.policy
        assert policy is not None
        s.add(msg("wiz.policy.lapsed", name=policy.short_name, until=(policy.valid_until or m.env.today()).isoformat(),
                  clause=policy.status_clause, note=policy.status_note or Plain("")))
        s.row(Button(msg("btn.lapsed_ok"), "lapsed_ok"))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        policy = m.policy
        if policy is None or not lapsed_unconfirmed(m):
            out.error = msg("err.stale_button")
            return
        m.answers[STATUS_ACK] = policy.key
        out.changed = True


def _policy_intro(m: WizardModel) -> list[Text]:
    today = m.env.today()
    lines: list[Text] = [msg("wiz.policy.prompt")]
    for policy in m.policies.values():
        lines.append(msg("wiz.policy.line", name=policy.short_name, document=policy.document,
                         status=status_text(policy, today), decider=policy.decider))
        if policy.status_note is not None:
            lines.append(msg("wiz.policy.note", note=policy.status_note, clause=policy.status_clause))
    return lines


POLICY = Step(
    "policy", _policy_intro,
    [SingleChoice("p", lambda m: [Choice(p.key, p.short_name) for p in m.policies.values()],
                  lambda m: m.answers.get("policy"), choose_policy),
     ConfirmLapsed()],
    rules("policy"), back=None, advance_on=frozenset({"p", "lapsed_ok"}))


# applicant ----------------------------------------------------------------------------------------------
def _kind_chosen(m: WizardModel, kind: Any) -> None:
    """A kind chosen for the first time brings back the identity given for it in an earlier application."""
    identity = m.answers.get("identity") or {}
    remembered = m.draft.remembered.get(str(kind))
    if remembered and not any(identity.get(k) for k in ("name", "phone")):
        m.answers["identity"] = {k: v for k, v in remembered.items() if k in ("name", "responsible", "title", "phone")}
    if kind != "unit" and "responsible" in (m.answers.get("identity") or {}):
        m.answers["identity"] = {k: v for k, v in m.answers["identity"].items() if k != "responsible"}


def _role_chosen(m: WizardModel, _role: Any) -> None:
    """Grounds and negative items differ by role: keep only those offered to the new one."""
    policy = m.policy
    assert policy is not None
    answers = m.answers
    answers.update(migrate(answers, policy))
    offered = {i.id for i in items_for(policy.grounds, answers)}
    answers["grounds"] = [g for g in answers.get("grounds", []) if g in offered]


def applicant_fields(m: WizardModel) -> list[FormField]:
    policy = m.policy
    assert policy is not None
    fields = [FormField("applicant_kind", msg("sum.applicant_kind"), "choice", TopLevel(_kind_chosen),
                        clause=policy.scope.clause, wire="k:",
                        options=tuple(Choice(o.id, o.label) for o in policy.applicant_kinds))]
    if policy.roles:
        fields.append(FormField("role", msg("sum.role"), "choice", TopLevel(_role_chosen), clause=policy.roles[0].clause,
                                wire="r:", options=tuple(Choice(r.id, r.label) for r in policy.roles)))
    identity = InDict("identity")
    for key in identity_fields(m.answers):
        fields.append(FormField(key, identity_label(key, m.answers), "phone" if key == "phone" else "text", identity,
                                required=key != "title"))
    return fields


APPLICANT_FORM = FieldForm(applicant_fields, review=msg("wiz.applicant.review"), pointer_key="field",
                           wires=frozenset({"k", "r"}))


def _applicant_intro(m: WizardModel) -> list[Text]:
    policy = m.policy
    assert policy is not None
    current = APPLICANT_FORM.current(m)
    if current is not None and current.id == "applicant_kind":
        return [msg("wiz.applicant.prompt"), policy.scope.text]
    if current is not None and current.id == "role":
        return [msg("wiz.applicant.role_prompt")]
    if current is not None:
        return [msg("wiz.applicant.identity_prompt")]
    return []


def _applicant_problem(m: WizardModel) -> Text | None:
    return step_problem("applicant", m.policy, m.answers, m.provided_for("applicant")) or identity_problem(m.answers)


APPLICANT = Step("applicant", _applicant_intro, [APPLICANT_FORM], _applicant_problem)


# project ------------------------------------------------------------------------------------------------
def project_fields(m: WizardModel) -> list[FormField]:
    policy = m.policy
    assert policy is not None
    store = InDict("project")
    return [FormField(f.id, f.label, f.kind, store, required=f.required,
                      clause=f.clause if f.clause != policy.project_clause else None, wire=f"c:{f.id}.",
                      options=tuple(Choice(o.id, o.label) for o in f.options), registry=f.registry)
            for f in policy.project_fields]


PROJECT_FORM = FieldForm(project_fields, review=msg("wiz.project.review"), pointer_key="field")
PROJECT = Step("project", lambda m: [clause_line(m.policy.project_clause if m.policy else None)], [PROJECT_FORM],
               rules("project"))


# origin -------------------------------------------------------------------------------------------------
def _awaiting_date(m: WizardModel) -> bool:
    policy = m.policy
    origin = policy.origin(m.answers.get("origin", "")) if policy else None
    return bool(origin and origin.asks_start_date and not m.answers.get("start_date"))


def _choose_origin(m: WizardModel, origin_id: str) -> None:
    if m.answers.get("origin") != origin_id:
        m.answers["origin"] = origin_id
        m.answers.pop("start_date", None)


@dataclass
class StartDate(Widget):
    """The day an authority started the case: typed, then shown with the filing deadline it starts."""

    verbs: frozenset[str] = frozenset({"d"})

    def visible(self, m: WizardModel) -> bool:
        policy = m.policy
        origin = policy.origin(m.answers.get("origin", "")) if policy else None
        return bool(origin and origin.asks_start_date)

    def render(self, m: WizardModel, s: Screen) -> None:
        if _awaiting_date(m):
            s.add(msg("wiz.origin.ask_date"))
            return
        s.add(msg("wiz.origin.start_date", date=m.answers["start_date"]))
        s.add(deadline_line(m.filing_deadline(), m.env.today()))
        s.row(Button(msg("btn.change_date"), "d"))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        m.answers.pop("start_date", None)
        out.changed = True

    def takes_text(self, m: WizardModel) -> bool:
        return _awaiting_date(m)

    def text(self, m: WizardModel, text: str, out: Outcome) -> None:
        value = parse_date(text, m.env.today())
        if isinstance(value, Msg):
            out.error = value
            return
        m.answers["start_date"] = value.isoformat()
        out.changed = True


def _gates(m: WizardModel) -> list[ListItem]:
    policy = m.policy
    return [ListItem(g.id, g.question, g.clause) for g in policy.gates] if policy else []


def _gates_shown(m: WizardModel) -> bool:
    return bool(m.answers.get("origin")) and not _awaiting_date(m)


def _origins(m: WizardModel) -> list[Choice]:
    """Only the origins a researcher may choose: an ex officio start is the deciding body's (Yunnan 第六条(二))."""
    policy = m.policy
    return [Choice(o.id, o.label, o.clause) for o in origins_offered(policy)] if policy else []


def add_warnings(step: str, m: WizardModel, s: Screen) -> None:
    """What the answers allow but the applicant must read before going on (Zhejiang 三(一): a project that
    has entered, not finished, its acceptance): shown on the step and again on the summary, never a bar."""
    for what, clause, explanation in warnings(step, m.policy, m.answers):
        s.add(msg("wiz.warning", what=what, clause=clause, explanation=explanation))


ORIGIN = Step(
    "origin", lambda m: [msg("wiz.origin.prompt"), clause_line(m.policy.origin_clause if m.policy else None)],
    [SingleChoice("o", _origins, lambda m: m.answers.get("origin"), _choose_origin),
     StartDate(),
     YesNoList(_gates, "gates", "g", by_index=False, show=_gates_shown)],
    rules("origin"), after=lambda m, s: add_warnings("origin", m, s))


# the lists ----------------------------------------------------------------------------------------------
def _list_items(name: str) -> Callable[[WizardModel], list[ListItem]]:
    def items(m: WizardModel) -> list[ListItem]:
        item_list: ItemList | None = getattr(m.policy, name, None)
        return [ListItem(i.id, i.text, i.clause) for i in items_for(item_list, m.answers)]
    return items


def group_lines(item_list: ItemList, answers: dict[str, Any], key: str) -> list[Text]:
    """Each group's rule and how far the ticks go toward it (Yunnan 第四条: (一)–(四) all, of (五)/(六) at
    least one), so the applicant sees the rule the check applies before pressing Next."""
    offered = [i.id for i in items_for(item_list, answers)]
    chosen = set(answers.get(key, []))
    numbers = {item_id: n + 1 for n, item_id in enumerate(offered)}
    lines: list[Text] = []
    for group in item_list.groups:
        members = [i for i in group.items if i in numbers]
        if not members:
            continue
        ticked = sum(1 for i in members if i in chosen)
        met = ticked == len(members) if group.mode == "all" else ticked > 0
        lines.append(msg("wiz.group.line", mark="✅" if met else "⬜", label=group.label, clause=group.clause,
                         items=Plain("、".join(str(numbers[i]) for i in members)), ticked=ticked, total=len(members)))
    return lines


def _list_intro(name: str) -> Callable[[WizardModel], list[Text]]:
    def intro(m: WizardModel) -> list[Text]:
        item_list: ItemList | None = getattr(m.policy, name, None)
        if item_list is None:
            return []
        lines: list[Text] = [item_list.intro, clause_line(item_list.clause)]
        if name == "conditions" and item_list.mode == "all":
            lines.append(msg("wiz.conditions.all_required", clause=item_list.clause))
        if item_list.mode == "grouped":
            lines += group_lines(item_list, m.answers, name)
        return lines
    return intro


CONDITIONS = Step("conditions", _list_intro("conditions"), [MultiSelect(_list_items("conditions"), "conditions")],
                  rules("conditions"), next="always")
GROUNDS = Step("grounds", _list_intro("grounds"), [MultiSelect(_list_items("grounds"), "grounds")],
               rules("grounds"), next="always")
NEGATIVE = Step("negative", _list_intro("negative"), [YesNoList(_list_items("negative"), "negative", "n")],
                rules("negative"), next="always")


# a bar ---------------------------------------------------------------------------------------------------
@dataclass
class BarredView(Widget):
    """Why the text bars the case, clause by clause; the draft is kept and Back returns to the answer."""

    def render(self, m: WizardModel, s: Screen) -> None:
        source = m.meta.get("barred_from", "negative")
        s.add(msg("wiz.barred.title"))
        for what, clause, explanation in bars(source, m.policy, m.answers):
            s.add(msg("wiz.barred.item", what=what, clause=clause))
            if explanation is not None:
                s.add(explanation)
        s.add(msg("wiz.barred.kept"))


BARRED = Step("barred", lambda m: [], [BarredView()], lambda m: msg("err.use_buttons"), next="never",
              back=msg("btn.back_correct"))


# facts and materials --------------------------------------------------------------------------------------
FACTS = Step("facts", lambda m: [msg("wiz.facts.prompt", min=FACTS_MIN_CHARS),
                                 clause_line(m.policy.facts_clause if m.policy else None)],
             [FreeText()], rules("facts"))
MATERIALS = Step("materials", lambda m: [msg("wiz.materials.prompt", max_mb=MAX_UPLOAD_BYTES // 1048576),
                                         clause_line(m.policy.materials_clause if m.policy else None)],
                 [FileList()], rules("materials"), next="always")


# summary, declaration, submission ---------------------------------------------------------------------------
def summary_problem(m: WizardModel) -> Text | None:
    """What still stands between the draft and submission: the rules' checks of every step (a lapsed
    document confirmed among them), then the applicant step's own (identity)."""
    problem = step_problem("summary", m.policy, m.answers, m.provided_for("summary"), m.env.today())
    if problem is None:
        problem = identity_problem(m.answers)
    return problem


@dataclass
class SummaryView(Widget):
    """Every answer by section (the statement as an excerpt), each section with a button to change it."""

    verbs: frozenset[str] = frozenset({"e"})

    def render(self, m: WizardModel, s: Screen) -> None:
        policy = m.policy
        assert policy is not None
        s.add(msg("wiz.summary.prompt"))
        for step, lines in summary_sections(m, excerpt=True):
            s.add(msg("wiz.section", title=msg(STEP_TITLES[step])))
            s.add(Join(tuple(lines), "\n"))
        editable = [x for x in steps_for(policy) if x != "summary"]
        buttons = [Button(msg("btn.edit", what=msg(STEP_TITLES[x])), f"e:{x}") for x in editable]
        for k in range(0, len(buttons), 2):
            s.row(*buttons[k:k + 2])
        add_warnings("summary", m, s)
        problem = summary_problem(m)
        if problem is not None:
            s.add(msg("wiz.summary.incomplete", problem=problem))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        if arg not in steps_for(m.policy) or arg == "summary":
            out.error = msg("err.stale_button")
            return
        out.trigger = f"edit_{arg}"


SUMMARY = Step("summary", lambda m: [], [SummaryView()], summary_problem, next_label=msg("btn.to_declaration"),
               extra_rows=lambda m: [[DOCX]])


@dataclass
class Declaration(Widget):
    """The truthfulness declaration, ticked; then Submit (refused while a console file is attached)."""

    verbs: frozenset[str] = frozenset({"declare", "submit"})

    def render(self, m: WizardModel, s: Screen) -> None:
        declared = bool(m.answers.get("declared"))
        s.row(Button(Join((Plain(mark(declared) + " "), msg("btn.declare"))), "declare"))
        if declared:
            s.row(Button(msg("btn.submit"), "submit"))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        if verb == "declare":
            m.answers["declared"] = not m.answers.get("declared", False)
            out.changed = True
            return
        if not m.answers.get("declared"):
            out.error = msg("err.declare_first")
            return
        console = [u.file_name for u in m.draft.uploads if u.from_console]
        if console:
            out.error = msg("err.console_uploads", names=Plain("、".join(console)))
            return
        out.trigger = "submit"


def _declaration_intro(m: WizardModel) -> list[Text]:
    policy = m.policy
    assert policy is not None
    return [msg("wiz.declaration.prompt"), policy.declaration.text, clause_line(policy.declaration.clause)]


DECLARATION = Step("declaration", _declaration_intro, [Declaration()], summary_problem, next="never",
                   extra_rows=lambda m: [[DOCX]])


@dataclass
class SubmittedView(Widget):
    def render(self, m: WizardModel, s: Screen) -> None:
        policy = m.policy
        assert policy is not None
        number = m.meta.get("case_number", "—")
        s.add(msg("wiz.submitted", number=Plain(number)), policy.after_submit.text,
              clause_line(policy.after_submit.clause))


SUBMITTED = Step("submitted", lambda m: [], [SubmittedView()], lambda m: None, next="never", back=None,
                 cancel=False, extra_rows=lambda m: [[DOCX], [Button(msg("btn.new_application"), "new"),
                                                             Button(msg("btn.my_drafts"), "drafts")]])

STEP_SPECS: dict[str, Step] = {step.name: step for step in (
    POLICY, APPLICANT, PROJECT, ORIGIN, CONDITIONS, GROUNDS, NEGATIVE, FACTS, MATERIALS, SUMMARY, DECLARATION,
    BARRED, SUBMITTED)}
FORMS: dict[str, FieldForm] = {"applicant": APPLICANT_FORM, "project": PROJECT_FORM}


__all__ = ["STEP_SPECS", "STEP_TITLES", "Step", "deadline_line", "fmt_value", "policy_header", "status_text",
           "summary_problem", "summary_sections"]
