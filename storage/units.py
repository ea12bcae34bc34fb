"""The registry of units per policy (the undertaking units of Zhejiang, Liaoning's research units, …):
each unit's name, the other names it answers to, its level where the policy has levels, and which unit a
case or a unit reviewer's membership belongs to.

People type unit names: `浙江大学🔬材料学院`, `浙江大学 材料学院` and `浙江大学材料学院` are one unit, so every
name is compared in its normal form (`normal`: NFKC, case-folded, without spaces, punctuation, symbols and
emoji). A name belongs to one unit of a policy (unique normal form), so a case resolves to at most one unit.

Nothing is rewritten when the registry changes: a rename keeps the old name as a former name, a merge
only marks the merged unit (its names, its cases and its reviewers then resolve to the unit it went
into), and moving a case writes the case's assignment beside the answers the applicant gave, which stay as
submitted.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Literal

from sqlalchemy import BigInteger, Column, UniqueConstraint, bindparam
from sqlmodel import Field, Session, SQLModel, col, select

from dialogs.text import N_
from storage.models import Case, utcnow

UnitStatus = Literal["active", "proposed", "merged"]
NameKind = Literal["name", "alias", "former"]
_DROP = ("Z", "P", "S", "C")  # separators, punctuation, symbols (emoji), control and format characters
MAX_NAME = 120


class Unit(SQLModel, table=True):
    """One unit of one policy. `proposed`: named by a researcher, waiting for an admin to confirm it or
    merge it into a registered one; `merged`: now part of `merged_into`."""

    id: int | None = Field(default=None, primary_key=True)
    policy_key: str = Field(index=True)
    name: str
    level: str | None = None
    status: str = Field(default="active", index=True)
    merged_into: int | None = None
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: dt.datetime = Field(default_factory=utcnow)


class UnitName(SQLModel, table=True):
    """Every name a unit answers to: its current name, its aliases and its former names."""

    __table_args__ = (UniqueConstraint("policy_key", "normal"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(index=True)
    policy_key: str
    name: str
    normal: str
    kind: str = "name"
    created_at: dt.datetime = Field(default_factory=utcnow)


class CaseUnit(SQLModel, table=True):
    """A case's unit when it was chosen (the researcher picked it, or an admin moved the case); without a
    row the case goes to the unit its typed name resolves to."""

    case_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    unit_id: int
    assigned_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    assigned_at: dt.datetime = Field(default_factory=utcnow)


class MembershipUnit(SQLModel, table=True):
    """The registry unit a unit reviewer's (or determination group's) membership was invited for."""

    membership_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    unit_id: int


class UnitError(ValueError):
    """A registry change that cannot be made; `key` is the message key that says why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def normal(name: str | None) -> str:
    """The form two spellings of one name share: NFKC (full-width letters and digits become ASCII),
    case-folded, with every space, punctuation mark, symbol, emoji, joiner and variation selector removed."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(_DROP)
                   and not 0xFE00 <= ord(ch) <= 0xFE0F and not 0xE0100 <= ord(ch) <= 0xE01EF)


def clean_name(name: str) -> str:
    """A name as it is stored and shown: trimmed, inner runs of spaces collapsed."""
    return " ".join(name.split())[:MAX_NAME]


# -- reading ---------------------------------------------------------------------------------------
def current(session: Session, unit_id: int | None) -> Unit | None:
    """The unit `unit_id` is today: itself, or the unit it was merged into (followed to the end)."""
    seen: set[int] = set()
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    while unit is not None and unit.status == "merged" and unit.merged_into is not None and unit.id not in seen:
        seen.add(unit.id or 0)
        unit = session.get(Unit, unit.merged_into)
    return unit


# Built once: the unit step looks names up on every typed answer, and a statement built per call costs
# about 0.3 ms inside SQLite's write lock (docs/BENCHMARKS.md).
_BY_NAME = select(UnitName).where(UnitName.policy_key == bindparam("policy"), UnitName.normal == bindparam("key"))
_NAMES_OF_POLICY = select(UnitName).where(UnitName.policy_key == bindparam("policy")).order_by(col(UnitName.id))


def by_name(session: Session, policy_key: str, name: str | None) -> Unit | None:
    """The unit of the policy that answers to `name` in any spelling, as it is today; None if no unit does."""
    key = normal(name)
    if not key:
        return None
    row = session.execute(_BY_NAME, {"policy": policy_key, "key": key}).scalars().first()
    return current(session, row.unit_id) if row is not None else None


def find(session: Session, policy_key: str, ref: str) -> Unit | None:
    """A unit as an admin names it: `#12` (or `12`) or any of its names."""
    text = ref.strip()
    digits = text.removeprefix("#")
    if digits.isascii() and digits.isdigit() and len(digits) <= 9:
        unit = current(session, int(digits))
        return unit if unit is not None and unit.policy_key == policy_key else None
    return by_name(session, policy_key, text)


def names_of(session: Session, unit_id: int) -> list[UnitName]:
    """Every name of the unit, including those of units merged into it."""
    ids = {unit_id} | {u.id for u in session.exec(select(Unit).where(Unit.status == "merged")) if u.id is not None
                       and (c := current(session, u.id)) is not None and c.id == unit_id}
    stmt = select(UnitName).where(col(UnitName.unit_id).in_(ids)).order_by(col(UnitName.id))
    return list(session.exec(stmt))


def units_of(session: Session, policy_key: str, include_proposed: bool = True) -> list[Unit]:
    statuses = ["active", "proposed"] if include_proposed else ["active"]
    stmt = select(Unit).where(Unit.policy_key == policy_key, col(Unit.status).in_(statuses)).order_by(col(Unit.id))
    return list(session.exec(stmt))


def search(session: Session, policy_key: str, text: str, limit: int = 8) -> list[Unit]:
    """Units of the policy whose names contain what was typed, best first: the exact name, then names
    starting with it, then containing it, then containing its characters in order (浙大 → 浙江大学)."""
    key = normal(text)
    if not key:
        return []
    scored: dict[int, tuple[int, int, Unit]] = {}
    rows = session.execute(_NAMES_OF_POLICY, {"policy": policy_key}).scalars()
    for row in rows:
        score = (0 if row.normal == key else 1 if row.normal.startswith(key) else 2 if key in row.normal
                 else 3 if _in_order(key, row.normal) else None)
        if score is None:
            continue
        unit = current(session, row.unit_id)
        if unit is None or unit.id is None:
            continue
        best = scored.get(unit.id)
        if best is None or (score, len(row.normal)) < best[:2]:
            scored[unit.id] = (score, len(row.normal), unit)
    return [u for _s, _n, u in sorted(scored.values(), key=lambda e: (e[0], e[1], e[2].id or 0))][:limit]


def _in_order(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def case_unit(session: Session, case: Case) -> Unit | None:
    """The unit a case belongs to today: the one chosen for it (by the researcher's pick, or an admin's
    move), else the unit its typed name resolves to; merges are followed."""
    row = session.get(CaseUnit, case.id) if case.id is not None else None
    if row is not None:
        return current(session, row.unit_id)
    project = case.answers.get("project", {}) if isinstance(case.answers, dict) else {}
    picked = project.get("unit_id") if isinstance(project, dict) else None
    if isinstance(picked, int) and not isinstance(picked, bool):
        unit = current(session, picked)
        if unit is not None and unit.policy_key == case.policy_key:
            return unit
    return by_name(session, case.policy_key, project.get("unit") if isinstance(project, dict) else None)


def membership_unit(session: Session, membership_id: int | None, policy_key: str, name: str | None) -> Unit | None:
    """The unit a unit role covers: the registry unit it was invited for, else the unit its name resolves to."""
    row = session.get(MembershipUnit, membership_id) if membership_id is not None else None
    if row is not None:
        return current(session, row.unit_id)
    return by_name(session, policy_key, name)


# -- changing the registry ---------------------------------------------------------------------------
def _claim_name(session: Session, unit: Unit, name: str, kind: NameKind) -> UnitName:
    key = normal(name)
    if not key:
        raise UnitError(N_("units.err.empty_name"))
    row = session.exec(select(UnitName).where(UnitName.policy_key == unit.policy_key, UnitName.normal == key)).first()
    if row is not None:
        owner = current(session, row.unit_id)
        if owner is None or owner.id != unit.id:
            raise UnitError(N_("units.err.name_taken"), name=name, other=owner.name if owner else row.name)
        row.kind = kind if kind != "alias" or row.kind != "name" else row.kind
        session.add(row)
        return row
    row = UnitName(unit_id=unit.id or 0, policy_key=unit.policy_key, name=clean_name(name), normal=key, kind=kind)
    session.add(row)
    session.flush()
    return row


def add(session: Session, policy_key: str, name: str, level: str | None = None, created_by: int | None = None,
        status: UnitStatus = "active") -> Unit:
    """A new unit; refused when any unit of the policy already answers to the name."""
    name = clean_name(name)
    if not normal(name):
        raise UnitError(N_("units.err.empty_name"))
    existing = by_name(session, policy_key, name)
    if existing is not None:
        raise UnitError(N_("units.err.name_taken"), name=name, other=existing.name)
    unit = Unit(policy_key=policy_key, name=name, level=level, status=status, created_by=created_by)
    session.add(unit)
    session.flush()
    _claim_name(session, unit, name, "name")
    return unit


def propose(session: Session, policy_key: str, name: str, proposed_by: int) -> tuple[Unit, bool]:
    """A researcher names a unit the registry does not list: the unit that already answers to the name, or
    a new proposed unit the admins are asked to confirm or merge. Returns (unit, newly proposed)."""
    existing = by_name(session, policy_key, name)
    if existing is not None:
        return existing, False
    return add(session, policy_key, name, created_by=proposed_by, status="proposed"), True


def confirm(session: Session, unit: Unit) -> None:
    if unit.status != "proposed":
        raise UnitError(N_("units.err.not_proposed"), name=unit.name)
    unit.status = "active"
    session.add(unit)


def rename(session: Session, unit: Unit, new_name: str) -> str:
    """The unit's name becomes `new_name`; the old one stays as a former name, so whatever was typed or
    invited under it still reaches the unit. Returns the old name."""
    old = unit.name
    new_name = clean_name(new_name)
    _claim_name(session, unit, new_name, "name")
    for row in session.exec(select(UnitName).where(UnitName.unit_id == unit.id, UnitName.kind == "name")):
        if row.normal != normal(new_name):
            row.kind = "former"
            session.add(row)
    unit.name = new_name
    session.add(unit)
    session.flush()
    return old


def alias(session: Session, unit: Unit, name: str) -> UnitName:
    return _claim_name(session, unit, name, "alias")


def merge(session: Session, unit: Unit, into: Unit) -> None:
    """`unit` becomes part of `into`: its names, cases and reviewers resolve to `into` from now on."""
    if unit.id == into.id or unit.policy_key != into.policy_key:
        raise UnitError(N_("units.err.merge_self"))
    if into.status == "merged":
        raise UnitError(N_("units.err.merged"), name=into.name)
    unit.status = "merged"
    unit.merged_into = into.id
    session.add(unit)
    session.flush()


def move_case(session: Session, case: Case, unit: Unit, by: int | None) -> Unit | None:
    """Assign the case to `unit` (the applicant's answers stay as submitted). Returns the unit it had."""
    before = case_unit(session, case)
    row = session.get(CaseUnit, case.id)
    if row is None:
        row = CaseUnit(case_id=case.id or 0, unit_id=unit.id or 0, assigned_by=by)
    else:
        row.unit_id, row.assigned_by, row.assigned_at = unit.id or 0, by, utcnow()
    session.add(row)
    session.flush()
    return before


def link_membership(session: Session, membership_id: int, unit: Unit) -> None:
    session.add(MembershipUnit(membership_id=membership_id, unit_id=unit.id or 0))
    session.flush()
