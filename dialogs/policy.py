"""Policies as data: one YAML file per policy, validated on load.

Every question, list item, material and time limit carries the clause it comes from, because the
product must show the user the clause behind every question, requirement and deadline. Adding or
correcting a policy is an edit to its file, never to code.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

POLICY_DIR = Path(__file__).parent / "policies"
Lang = Literal["zh", "en"]


class PolicyError(ValueError):
    """A policy file that cannot be trusted; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LText(_Strict):
    """A text in both interface languages; policy texts are data, so they travel with the policy."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class Option(_Strict):
    id: str
    label: LText
    clause: str | None = None


class ProjectField(_Strict):
    """One question of the project step; `renamed_from` lets old drafts keep their answer."""

    id: str
    label: LText
    kind: Literal["text", "number", "choice"] = "text"
    required: bool = True
    options: list[Option] = []
    clause: str | None = None
    renamed_from: list[str] = []
    # the answer is matched against the policy's unit registry (storage/units.py): the researcher picks a
    # registered unit, or names a new one that the admins are asked to confirm or merge
    registry: bool = False

    @model_validator(mode="after")
    def _choice_has_options(self) -> ProjectField:
        if self.kind == "choice" and not self.options:
            raise ValueError(f"field {self.id!r} is a choice without options")
        if self.registry and self.kind != "text":
            raise ValueError(f"field {self.id!r} is matched against the registry but is not typed text")
        return self


class ExpiryRule(_Strict):
    """What happens by itself when a clock runs out (Zhejiang 三(五): the publicity ends after 7 days).

    The action is taken by the system with the given values unless one of `unless_recorded` was
    recorded on the case (an objection: then an officer must weigh it and the officers are alerted)."""

    action: str
    values: dict[str, str | int | bool] = {}
    unless_recorded: list[str] = []


class TimeLimit(_Strict):
    """A statutory clock: declared here so that no deadline is written into code."""

    id: str
    label: LText
    length: int | None = Field(default=None, ge=1)
    unit: Literal["working_days", "calendar_days"]
    starts_on: str
    ends_on: list[str] = Field(min_length=1)
    clause: str
    party: Literal["applicant", "authority"] = "authority"
    extension: int | None = Field(default=None, ge=1)
    extension_clause: str | None = None
    pauses_on: list[str] = []
    resumes_on: list[str] = []
    set_per_case: bool = False
    on_expiry: ExpiryRule | None = None

    @model_validator(mode="after")
    def _length_or_per_case(self) -> TimeLimit:
        if self.length is None and not self.set_per_case:
            raise ValueError(f"time limit {self.id!r} needs a length or set_per_case: true")
        return self


class Origin(_Strict):
    """How the case started; an authority-started case runs the applicant's filing clock."""

    id: str
    label: LText
    clause: str
    asks_start_date: bool = False
    filing_limit: str | None = None
    offered: bool = True
    """False: not a choice in the wizard, only the origin of cases the deciding body opens itself."""


class GateRename(_Strict):
    """An older gate whose answer still means the same here, but only for the listed values (Zhejiang's
    v1 "已经验收（已通过或已进入验收程序）": a "no" still means "not accepted"; a "yes" is re-asked)."""

    id: str
    values: list[bool] = Field(min_length=1)


class Gate(_Strict):
    """A yes/no question on the scope of the text. `bars_if`: the answer bars the application (Zhejiang
    二(一): no termination application). `warns_if`: the answer is allowed but the applicant must read
    the explanation first (Zhejiang 三(一): the project has entered, not finished, its acceptance)."""

    id: str
    question: LText
    clause: str
    bars_if: bool | None = None
    warns_if: bool | None = None
    explanation: LText
    renamed_from: list[GateRename] = []

    @model_validator(mode="after")
    def _bar_or_warning(self) -> Gate:
        if (self.bars_if is None) == (self.warns_if is None):
            raise ValueError(f"gate {self.id!r} needs exactly one of bars_if and warns_if")
        return self


class Item(_Strict):
    id: str
    text: LText
    clause: str
    roles: list[str] | None = None
    renamed_from: list[str] = []

    def applies_to(self, role: str | None) -> bool:
        return self.roles is None or role is None or role in self.roles


class ItemGroup(_Strict):
    """Part of a list with its own rule: Yunnan 第四条 (一)–(四) all hold; of (五)/(六) at least one."""

    id: str = Field(pattern=r"^[a-z_0-9]+$")
    mode: Literal["all", "at_least_one"]
    clause: str
    label: LText
    items: list[str] = Field(min_length=1)


class ItemList(_Strict):
    """`mode` is the rule for the whole list, or "grouped": each of `groups` then has its own."""

    clause: str
    intro: LText
    mode: Literal["all", "at_least_one", "grouped"] = "at_least_one"
    groups: list[ItemGroup] = []
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _groups_partition_the_items(self) -> ItemList:
        if (self.mode == "grouped") != bool(self.groups):
            raise ValueError("groups are given exactly when mode is 'grouped'")
        if self.groups:
            grouped = [i for g in self.groups for i in g.items]
            if sorted(grouped) != sorted(i.id for i in self.items):
                raise ValueError("groups must name every item exactly once")
        return self

    def for_role(self, role: str | None) -> list[Item]:
        return [item for item in self.items if item.applies_to(role)]

    def group_of(self, item_id: str) -> ItemGroup | None:
        return next((g for g in self.groups if item_id in g.items), None)


class Material(_Strict):
    id: str
    label: LText
    clause: str | None = None
    required: bool = False


class ClausedText(_Strict):
    text: LText
    clause: str


CLOCK_EVENTS = frozenset({
    "procedure_started", "application_filed", "unit_approved", "accepted", "refused", "evaluation_started",
    "evaluation_ended", "hearing_started", "hearing_ended", "decided", "feedback_sent", "publicity_started",
    "publicity_ended", "correction_started", "correction_notice_sent", "interview_held", "rectification_done",
    "conclusion_sent", "conclusion_confirmed", "review_requested", "review_done", "expert_review_done",
    "extension_granted", "clock_set",
})
"""The event names the clock engine (scheduler/clocks.py) reads; a procedure may emit no other."""

GuardName = Literal[
    "evaluation_open", "evaluation_closed", "hearing_open", "hearing_closed", "not_paused",
    "panel_kinds", "panel_short", "objection_named_is_open", "objections_answered", "publicity_over",
    "favourable", "unfavourable", "exempted", "not_exempted", "correction_ordered", "consulted_required",
]
"""The named conditions a procedure may use, declared once: the policy files are checked against this
list on load, and dialogs/procedure.py registers exactly one implementation for each (checked on import)."""

GUARDS = frozenset(get_args(GuardName))

ProcRole = Literal["officer", "unit_reviewer", "determination_group", "applicant"]


class ProcOption(_Strict):
    """A choice offered to the officer. `favourable` marks outcomes that exempt or lighten; `exempts` the
    ones that exempt (免责, and Dongguan/Yunnan 结题), which alone carry the consequences the texts tie to
    免责 (Yunnan 第十条/第十一条: return of funds, failure report); `after` names actions that must be on
    record before the option may be chosen (结题 only after the third-party expert review)."""

    id: str = Field(pattern=r"^[a-z_]+$", max_length=16)
    label: LText
    favourable: bool | None = None
    exempts: bool = False
    required: bool = False
    after: list[str] = []

    @model_validator(mode="after")
    def _exempts_is_favourable(self) -> ProcOption:
        if self.exempts and self.favourable is not True:
            raise ValueError(f"option {self.id!r}: an exempting outcome must be favourable")
        return self


class FieldWhen(_Strict):
    """When a field is asked at all; exactly one test. A field whose test fails is not asked, and a value
    given for it anyway is refused (e.g. a correction decision on a case not recognised)."""

    outcome: Literal["favourable", "unfavourable", "exempts"] | None = None
    field: str | None = None
    equals: list[str] = []
    project: str | None = None
    guard: GuardName | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FieldWhen:
        tests = [self.outcome is not None, self.field is not None, self.project is not None, self.guard is not None]
        if sum(tests) != 1:
            raise ValueError("a field's `when` needs exactly one of outcome, field, project, guard")
        if (self.field is not None or self.project is not None) != bool(self.equals):
            raise ValueError("`equals` goes with field or project, and only with them")
        return self


class ProcField(_Strict):
    """One input an action needs; `required_unless_favourable` is the texts' "reasons if refused";
    `when` makes the field depend on the outcome chosen, another field, the project, or the case."""

    id: str = Field(pattern=r"^[a-z_]+$")
    kind: Literal["text", "choice", "number", "date", "file"]
    label: LText
    required: bool = True
    required_unless_favourable: bool = False
    when: FieldWhen | None = None
    options: list[ProcOption] = []
    min: int | None = None
    max: int | None = None
    # A text that must be a web address (the page a notice was published on).
    format: Literal["url"] | None = None
    # A date that cannot lie ahead (a publication already made), nor before the day of the named clock
    # event (a notice is published after the decision it announces).
    not_future: bool = False
    not_before: str | None = None

    @model_validator(mode="after")
    def _choice_has_options(self) -> ProcField:
        if (self.kind == "choice") != bool(self.options):
            raise ValueError(f"field {self.id!r}: options belong to choice fields, and only to them")
        if self.format is not None and self.kind != "text":
            raise ValueError(f"field {self.id!r}: a format belongs to text fields")
        if (self.not_future or self.not_before is not None) and self.kind != "date":
            raise ValueError(f"field {self.id!r}: not_future and not_before belong to date fields")
        if self.not_before is not None and self.not_before not in CLOCK_EVENTS:
            raise ValueError(f"field {self.id!r}: not_before names unknown event {self.not_before!r}")
        return self


class ProcState(_Strict):
    id: str = Field(pattern=r"^[a-z_]+$")
    label: LText
    final: bool = False
    notify: str | None = None


class Branch(_Strict):
    """A destination taken when the named guard holds; the first that holds wins, in file order."""

    to: str
    when: str | None = None


class EventIf(_Strict):
    field: str
    equals: str
    events: list[str] = Field(min_length=1)


class ClockSet(_Strict):
    """An officer-set period: the limit is named here or chosen in a field; the length is a field."""

    time_limit: str | None = None
    time_limit_field: str | None = None
    length_field: str

    @model_validator(mode="after")
    def _one_limit(self) -> ClockSet:
        if (self.time_limit is None) == (self.time_limit_field is None):
            raise ValueError("clock_set needs exactly one of time_limit and time_limit_field")
        return self


class ProcAction(_Strict):
    """One step an actor may take. `to` omitted: the case stays where it is (a note, an opinion)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z_]+$", max_length=16)
    label: LText
    clause: str | None = None
    role: ProcRole = "officer"
    source: list[str] = Field(alias="from", min_length=1)
    to: str | None = None
    branches: list[Branch] = []
    when: list[str] = []
    after: list[str] = []
    once: bool = False
    within: str | None = None
    after_limit: str | None = None
    fields: list[ProcField] = []
    events: list[str] = []
    events_if: list[EventIf] = []
    extension: str | None = None
    clock_set: ClockSet | None = None
    notify: str | None = None
    # The date field that dates the events this action emits, when the event happened on a day of its own
    # (a notice published on the portal the day before it is recorded): the clocks count from that day.
    event_date_field: str | None = None

    def field(self, field_id: str) -> ProcField | None:
        return next((f for f in self.fields if f.id == field_id), None)


class Nudge(_Strict):
    """Something the applicant owes with no statutory period (requested material, the failure report):
    reminded `first_after_days` after it is asked for, then every `every_days`, until they do it."""

    id: str = Field(pattern=r"^[a-z_]+$")
    label: LText
    clause: str
    after_action: str | None = None
    in_state: str | None = None
    until_action: str
    first_after_days: int = Field(default=3, ge=1)
    every_days: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _one_start(self) -> Nudge:
        if (self.after_action is None) == (self.in_state is None):
            raise ValueError(f"nudge {self.id!r}: give exactly one of after_action or in_state")
        return self


class ExOfficio(_Strict):
    """A case the deciding body opens itself (Yunnan 第六条(二): 问责机关……应当主动启动容错免责程序):
    the officer records `fields`, the case starts in state `to` with `events`, and the person concerned,
    once told, completes it through the applicant's actions of that state."""

    clause: str
    label: LText
    to: str
    fields: list[ProcField] = Field(min_length=1)
    events: list[str] = []
    subject_field: str
    subject_kind_field: str
    project_field: str
    notify: str | None = None


class Procedure(_Strict):
    """The deciding body's procedure as data: dialogs/procedure.py builds one machine from it.
    `panel_min` is a default (Zhejiang 三(三) "一般不少于5人"): a smaller panel needs a recorded reason."""

    clause: str
    initial: str
    states: list[ProcState] = Field(min_length=2)
    actions: list[ProcAction] = Field(min_length=1)
    panel_min: int | None = Field(default=None, ge=1)
    panel_kinds: list[str] = []
    nudges: list[Nudge] = []
    ex_officio: ExOfficio | None = None

    def state(self, state_id: str) -> ProcState | None:
        return next((s for s in self.states if s.id == state_id), None)

    def action(self, action_id: str) -> ProcAction | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def check(self, time_limits: list[TimeLimit]) -> None:
        """Every name the procedure uses must resolve, so a typo fails on load and not in a case."""
        states = {s.id for s in self.states}
        limits = {t.id: t for t in time_limits}
        if len(states) != len(self.states):
            raise ValueError("procedure.states has duplicate ids")
        if len({a.id for a in self.actions}) != len(self.actions):
            raise ValueError("procedure.actions has duplicate ids")
        if self.initial not in states:
            raise ValueError(f"procedure.initial names unknown state {self.initial!r}")
        actions = {a.id for a in self.actions}
        for nudge in self.nudges:
            for name in (nudge.after_action, nudge.until_action):
                if name is not None and name not in actions:
                    raise ValueError(f"procedure.nudges.{nudge.id} names unknown action {name!r}")
            if nudge.in_state is not None and nudge.in_state not in states:
                raise ValueError(f"procedure.nudges.{nudge.id} names unknown state {nudge.in_state!r}")
        for limit in time_limits:
            rule = limit.on_expiry
            if rule is None:
                continue
            if rule.action not in actions:
                raise ValueError(f"time_limits.{limit.id}.on_expiry names unknown action {rule.action!r}")
            for name in rule.unless_recorded:
                if name not in actions:
                    raise ValueError(f"time_limits.{limit.id}.on_expiry.unless_recorded names unknown action {name!r}")
        for a in self.actions:
            where = f"procedure.actions.{a.id}"
            targets = [a.to] if a.to else []
            targets += [b.to for b in a.branches]
            for name in [*a.source, *targets]:
                if name not in states:
                    raise ValueError(f"{where} names unknown state {name!r}")
            if a.to and a.branches:
                raise ValueError(f"{where}: give either to or branches")
            for guard in [*a.when, *(b.when for b in a.branches if b.when)]:
                if guard not in GUARDS:
                    raise ValueError(f"{where} names unknown guard {guard!r}")
            for name in a.after:
                if name not in actions:
                    raise ValueError(f"{where}.after names unknown action {name!r}")
            emitted = [*a.events, *(e for ei in a.events_if for e in ei.events)]
            for event in emitted:
                if event not in CLOCK_EVENTS or event in ("extension_granted", "clock_set"):
                    raise ValueError(f"{where} emits unknown event {event!r}")
            field_ids = {f.id for f in a.fields}
            if a.event_date_field is not None:
                dating = a.field(a.event_date_field)
                if dating is None or dating.kind != "date" or not dating.required or dating.when is not None:
                    raise ValueError(f"{where}.event_date_field must name a required date field")
                if not a.events:
                    raise ValueError(f"{where}.event_date_field dates no event")
            for ei in a.events_if:
                if ei.field not in field_ids:
                    raise ValueError(f"{where}.events_if names unknown field {ei.field!r}")
            if a.extension is not None:
                limit = limits.get(a.extension)
                if limit is None or not limit.extension:
                    raise ValueError(f"{where}.extension: {a.extension!r} is not a time limit with an extension")
                if not a.once or "reason" not in field_ids:
                    raise ValueError(f"{where}: an extension is granted once and needs a reason field")
            if a.clock_set is not None:
                cs = a.clock_set
                if cs.length_field not in field_ids:
                    raise ValueError(f"{where}.clock_set names unknown field {cs.length_field!r}")
                if cs.time_limit is not None and cs.time_limit not in limits:
                    raise ValueError(f"{where}.clock_set names unknown time limit {cs.time_limit!r}")
                if cs.time_limit_field is not None:
                    chooser = a.field(cs.time_limit_field)
                    if chooser is None or any(o.id not in limits for o in chooser.options):
                        raise ValueError(f"{where}.clock_set.time_limit_field must offer time limit ids")
            if a.within is not None:
                limit = limits.get(a.within)
                if limit is None or limit.unit != "calendar_days":
                    raise ValueError(f"{where}.within must name a calendar-day time limit")
            if a.after_limit is not None:
                limit = limits.get(a.after_limit)
                if limit is None or limit.unit != "calendar_days":
                    raise ValueError(f"{where}.after_limit must name a calendar-day time limit")
            _check_fields(where, a.fields, actions)
        for s in self.states:
            if s.final and any(s.id in a.source for a in self.actions):
                raise ValueError(f"procedure.states.{s.id} is final but an action starts from it")
        if self.ex_officio is not None:
            eo = self.ex_officio
            where = "procedure.ex_officio"
            if eo.to not in states:
                raise ValueError(f"{where} names unknown state {eo.to!r}")
            for event in eo.events:
                if event not in CLOCK_EVENTS:
                    raise ValueError(f"{where} emits unknown event {event!r}")
            ids = {f.id for f in eo.fields}
            for name in (eo.subject_field, eo.subject_kind_field, eo.project_field):
                if name not in ids:
                    raise ValueError(f"{where} names unknown field {name!r}")
            _check_fields(where, eo.fields, actions)


def _check_fields(where: str, fields: list[ProcField], actions: set[str]) -> None:
    ids = [f.id for f in fields]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{where}.fields has duplicate ids")
    for f in fields:
        cond = f.when
        if cond is not None and cond.field is not None:
            other = next((g for g in fields if g.id == cond.field), None)
            if other is None or ids.index(other.id) > ids.index(f.id):
                raise ValueError(f"{where}.fields.{f.id}.when names a field that is not asked before it")
            if other.kind == "choice" and not set(cond.equals) <= {o.id for o in other.options}:
                raise ValueError(f"{where}.fields.{f.id}.when names an option {other.id!r} does not offer")
        for option in f.options:
            for name in option.after:
                if name not in actions:
                    raise ValueError(f"{where}.fields.{f.id}.options.{option.id}.after names unknown action {name!r}")


class OfficerLevel(_Strict):
    """A membership level and the cases it receives: those whose project answer `routing.field` is this
    id. `actions`: the only officer actions this level takes on them, the rest staying with officers
    without a level (Zhejiang 三(末段): the 省自然科学基金委员会办公室 receives, investigates and has the
    experts review 省基础公益研究专项 cases; the department decides); omitted, the level takes them all."""

    id: str = Field(pattern=r"^[a-z_]+$")
    label: LText
    clause: str
    actions: list[str] | None = None


class Routing(_Strict):
    """Which officers a case goes to. `required`: every officer holds a level (Yunnan: 省、州（市）、县
    by the source of the funds, 第六条); otherwise officers without a level handle every case or action
    that no level takes."""

    field: str
    required: bool = False
    levels: list[OfficerLevel] = Field(min_length=1)

    def level(self, level_id: str | None) -> OfficerLevel | None:
        return next((lv for lv in self.levels if lv.id == level_id), None)


class DeciderShort(_Strict):
    """The deciding body as the 致 line of an application names it: one body, no procedure.

    `decider` describes who does what (sections, meetings, joint determinations); a document a unit
    stamps is addressed to a body by its name only. Where the body depends on the project
    (Zhejiang 三(末段): the 省基础公益研究专项 goes to the Natural Science Foundation's office; Yunnan
    第六条: the level that issued the project), `by_field` names the project's choice field and
    `options` the body for each of its options. Where it is the applicant's own unit (Liaoning 第八条:
    the research unit determines internally), `from_field` names the project field holding that
    unit's name, and zh/en are what is printed while it is not given."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    by_field: str | None = None
    options: dict[str, LText] = {}
    from_field: str | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> DeciderShort:
        if self.by_field is not None and self.from_field is not None:
            raise ValueError("decider_short: give by_field or from_field, not both")
        if bool(self.by_field) != bool(self.options):
            raise ValueError("decider_short: by_field and options go together")
        return self

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def name_for(self, project: dict[str, object], lang: str) -> str:
        """The body an application with these project answers is addressed to."""
        if self.by_field is not None:
            chosen = self.options.get(str(project.get(self.by_field)))
            if chosen is not None:
                return chosen.get(lang)
        if self.from_field is not None:
            given = project.get(self.from_field)
            if isinstance(given, str) and given.strip():
                return given.strip()
        return self.get(lang)


class Policy(_Strict):
    key: str = Field(pattern=r"^[a-z]+$")
    version: int = Field(ge=1)
    case_prefix: str = Field(pattern=r"^[A-Z]{2,4}$")
    short_name: LText
    document: LText
    doc_number: str | None = None
    issuer: LText
    decider: LText
    decider_short: DeciderShort
    stage: Literal["draft_for_comment", "issued", "reform_plan"]
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    status_clause: str
    status_note: LText | None = None
    scope: ClausedText
    applicant_kinds: list[Option] = Field(min_length=1)
    roles: list[Option] = []
    project_clause: str
    project_fields: list[ProjectField] = Field(min_length=1)
    origin_clause: str
    origins: list[Origin] = Field(min_length=1)
    gates: list[Gate] = []
    conditions: ItemList | None = None
    grounds: ItemList
    negative: ItemList | None = None
    materials_clause: str | None = None
    materials: list[Material] = Field(min_length=1)
    facts_clause: str
    declaration: ClausedText
    after_submit: ClausedText
    time_limits: list[TimeLimit] = []
    procedure: Procedure | None = None
    routing: Routing | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        limits = {t.id for t in self.time_limits}
        if self.procedure is not None:
            self.procedure.check(self.time_limits)
        if self.routing is not None:
            field = next((f for f in self.project_fields if f.id == self.routing.field), None)
            if field is None or field.kind != "choice":
                raise ValueError(f"routing.field {self.routing.field!r} is not a choice of the project step")
            if self.procedure is None:
                raise ValueError("routing needs a procedure")
            actions = {a.id for a in self.procedure.actions}
            for lv in self.routing.levels:
                if lv.id not in {o.id for o in field.options}:
                    raise ValueError(f"routing.levels.{lv.id} is not an option of {field.id!r}")
                for name in lv.actions or []:
                    if name not in actions:
                        raise ValueError(f"routing.levels.{lv.id}.actions names unknown action {name!r}")
        gate_ids = [g.id for g in self.gates]
        if len(gate_ids) != len(set(gate_ids)):
            raise ValueError("gates has duplicate ids")
        if self.procedure is not None:
            project_ids = {f.id for f in self.project_fields}
            specs = [(f"procedure.actions.{a.id}", a.fields) for a in self.procedure.actions]
            if self.procedure.ex_officio is not None:
                specs.append(("procedure.ex_officio", self.procedure.ex_officio.fields))
            for where, fields in specs:
                for f in fields:
                    if f.when is not None and f.when.project is not None and f.when.project not in project_ids:
                        raise ValueError(f"{where}.fields.{f.id}.when names unknown project field {f.when.project!r}")
        for origin in self.origins:
            if origin.filing_limit and origin.filing_limit not in limits:
                raise ValueError(f"origins.{origin.id}.filing_limit names unknown time limit {origin.filing_limit!r}")
        self._check_decider_short()
        roles = {r.id for r in self.roles}
        for list_name in ("conditions", "grounds", "negative"):
            item_list: ItemList | None = getattr(self, list_name)
            if item_list is None:
                continue
            ids = [i.id for i in item_list.items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{list_name}.items has duplicate ids")
            for item in item_list.items:
                for role in item.roles or []:
                    if role not in roles:
                        raise ValueError(f"{list_name}.items.{item.id}.roles names unknown role {role!r}")
            if self.roles:
                for role in roles:
                    if list_name == "grounds" and not item_list.for_role(role):
                        raise ValueError(f"grounds offer nothing to role {role!r}")
        for name, seq in (("project_fields", self.project_fields), ("materials", self.materials),
                          ("time_limits", self.time_limits), ("origins", self.origins)):
            ids = [x.id for x in seq]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{name} has duplicate ids")
        return self

    def _check_decider_short(self) -> None:
        short = self.decider_short
        fields = {f.id: f for f in self.project_fields}
        if short.by_field is not None:
            spec = fields.get(short.by_field)
            if spec is None or spec.kind != "choice":
                raise ValueError(f"decider_short.by_field: {short.by_field!r} is not a choice project field")
            unknown = set(short.options) - {o.id for o in spec.options}
            if unknown:
                raise ValueError(f"decider_short.options names unknown options {sorted(unknown)}")
        if short.from_field is not None and short.from_field not in fields:
            raise ValueError(f"decider_short.from_field: {short.from_field!r} is not a project field")

    def status(self, today: dt.date) -> Literal["draft_for_comment", "lapsed", "in_force", "reform_plan"]:
        """Lapsed wins: a draft whose stated validity has ended is no longer a usable draft either."""
        if self.valid_until is not None and today > self.valid_until:
            return "lapsed"
        if self.stage == "draft_for_comment":
            return "draft_for_comment"
        if self.stage == "reform_plan":
            return "reform_plan"
        return "in_force"

    def time_limit(self, limit_id: str) -> TimeLimit:
        for limit in self.time_limits:
            if limit.id == limit_id:
                return limit
        raise KeyError(f"{self.key} has no time limit {limit_id!r}")

    def origin(self, origin_id: str) -> Origin | None:
        return next((o for o in self.origins if o.id == origin_id), None)

    # -- routing: which officers a case reaches ---------------------------------------------------------
    def case_level(self, answers: dict[str, Any]) -> str | None:
        """The officer level a case belongs to (its routing answer), or None."""
        if self.routing is None:
            return None
        project = answers.get("project", {}) if isinstance(answers, dict) else {}
        value = project.get(self.routing.field) if isinstance(project, dict) else None
        return value if self.routing.level(value) is not None else None

    def acting_level(self, answers: dict[str, Any], action_id: str) -> str | None:
        """The level an officer must hold to take `action_id` on this case (None: officers without one)."""
        level = self.routing.level(self.case_level(answers)) if self.routing else None
        if level is None:
            return None
        return level.id if level.actions is None or action_id in level.actions else None

    def officer_may_take(self, level: str | None, answers: dict[str, Any], action_id: str) -> bool:
        if self.routing is None:
            return True
        if level is None and self.routing.required:
            return False
        return level == self.acting_level(answers, action_id)

    def officer_reaches(self, level: str | None, answers: dict[str, Any]) -> bool:
        """Whether an officer at `level` has any part in the case (sees it, is alerted about it)."""
        if self.routing is None:
            return True
        if self.procedure is None:
            return level == self.case_level(answers)
        return any(self.officer_may_take(level, answers, a.id) for a in self.procedure.actions
                   if a.role == "officer")


def _format_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        parts.append(f"{loc}: {e['msg']}")
    return f"{path.name}: " + "; ".join(parts)


def load_policy(path: Path) -> Policy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{path.name}: (top level): expected a mapping")
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(_format_error(path, exc)) from exc
    if policy.key != path.stem:
        raise PolicyError(f"{path.name}: key: {policy.key!r} does not match the file name")
    return policy


@cache
def load_policies(directory: Path = POLICY_DIR) -> dict[str, Policy]:
    """All policies of a directory, in a fixed order, so menus list them the same way every time."""
    order = ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"]
    found = {p.stem: load_policy(p) for p in sorted(directory.glob("*.yaml"))}
    if not found:
        raise PolicyError(f"{directory}: no policy files")
    return {k: found[k] for k in sorted(found, key=lambda k: (order.index(k) if k in order else 99, k))}
