"""Policies as data: one YAML file per policy, validated on load.

Every question, list item, material and time limit carries the clause it comes from, because the
product must show the user the clause behind every question, requirement and deadline. Adding or
correcting a policy is an edit to its file, never to code.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

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

    @model_validator(mode="after")
    def _choice_has_options(self) -> ProjectField:
        if self.kind == "choice" and not self.options:
            raise ValueError(f"field {self.id!r} is a choice without options")
        return self


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


class Gate(_Strict):
    """A yes/no question whose answer alone bars the application (e.g. Zhejiang: before 验收)."""

    id: str
    question: LText
    clause: str
    bars_if: bool
    explanation: LText


class Item(_Strict):
    id: str
    text: LText
    clause: str
    roles: list[str] | None = None
    renamed_from: list[str] = []

    def applies_to(self, role: str | None) -> bool:
        return self.roles is None or role is None or role in self.roles


class ItemList(_Strict):
    clause: str
    intro: LText
    mode: Literal["all", "at_least_one"] = "at_least_one"
    items: list[Item] = Field(min_length=1)

    def for_role(self, role: str | None) -> list[Item]:
        return [item for item in self.items if item.applies_to(role)]


class Material(_Strict):
    id: str
    label: LText
    clause: str | None = None
    required: bool = False


class ClausedText(_Strict):
    text: LText
    clause: str


class Policy(_Strict):
    key: str = Field(pattern=r"^[a-z]+$")
    version: int = Field(ge=1)
    case_prefix: str = Field(pattern=r"^[A-Z]{2,4}$")
    short_name: LText
    document: LText
    doc_number: str | None = None
    issuer: LText
    decider: LText
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

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        limits = {t.id for t in self.time_limits}
        for origin in self.origins:
            if origin.filing_limit and origin.filing_limit not in limits:
                raise ValueError(f"origins.{origin.id}.filing_limit names unknown time limit {origin.filing_limit!r}")
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
