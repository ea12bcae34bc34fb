"""The unit registry in chat: an admin's `/units`, moving a case to another unit, and what a submission
does with the unit the researcher picked or typed (`settle_case`: the picked unit, or a proposed one the
admins are asked to confirm or merge). The wizard's own lookup is bot/flow.py's, over storage/units.py.

    /units                                   the policies and how many units each has
    /units zhejiang                          the units of a policy, their names, level and reviewers
    /units add zhejiang 浙江大学材料学院 [level]
    /units rename zhejiang 浙江大学材料学院 = 浙江大学材料科学与工程学院
    /units alias zhejiang 浙江大学材料学院 = 浙大材料学院
    /units merge zhejiang 浙大材料 = 浙江大学材料学院      (the first becomes part of the second)
    /units confirm zhejiang #12                (a unit a researcher proposed)
    /units level yunnan 昆明理工大学 = provincial
    /units move ZJ-2026-0001 = 浙江大学材料学院

A unit is named by `#id` or any of its names. Every change is written to the audit trail (a move on the
case's own), nothing saved is rewritten (storage/units.py), and afterwards every open case of the policy
is routed again: whoever now reaches a case is told, and a case nobody reaches goes before the admins.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.actions import Act
from bot.callbacks import Admin, encode
from bot.i18n import t
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from bot.officer.notify import Notices
from bot.reply import Reply, View
from dialogs.answers import registry_keys
from dialogs.text import Msg
from storage import access, units
from storage import caserepo as cr
from storage.models import Case

SHOWN = 60
VERBS = ("add", "rename", "alias", "merge", "confirm", "level", "move")


def _split(text: str) -> tuple[str, str] | None:
    for sep in ("=", "＝"):
        if sep in text:
            left, right = text.split(sep, 1)
            return left.strip(), right.strip()
    return None


class UnitDesk:
    def __init__(self, desk: Desk, labels: Labels, notices: Notices) -> None:
        self.desk = desk
        self.labels = labels
        self.notices = notices

    # -- for the researcher's wizard step (called by bot/flow.py in its own transaction) -------------------
    def search(self, s: Session, policy_key: str, text: str, limit: int = 8) -> list[units.Unit]:
        """Registered and proposed units of the policy whose names contain what was typed, best first."""
        return units.search(s, policy_key, text, limit)

    def propose(self, s: Session, policy_key: str, name: str, user_id: int) -> units.Unit:
        """The researcher's unit is not listed: the unit that already answers to the name, or a new proposed
        one, and the admins are asked to confirm it or merge it into a registered unit. The wizard then
        stores `project.unit` (the name) and `project.unit_id` (this unit's id)."""
        unit, new = units.propose(s, policy_key, name, user_id)
        if new:
            cr.add_event(s, None, user_id, "applicant", "units", None, None,
                         {"verb": "propose", "unit": unit.id, "name": unit.name, "policy": policy_key})
            self.notices.unit_proposed(s, unit, user_id)
        return unit

    def settle_case(self, s: Session, case: Case) -> units.Unit | None:
        """In the submission's transaction: the case is given the unit the researcher picked (checked again:
        it exists, is of the case's policy, merges followed), else the name they typed is proposed (the
        admins are asked once to confirm or merge it) and the case is given that proposed unit. Routing then
        reads the case's unit from this row (storage.units.case_unit)."""
        policy = self.desk.policies.get(case.policy_key)
        field = next((f for f in policy.project_fields if f.registry), None) if policy is not None else None
        if field is None or case.id is None or s.get(units.CaseUnit, case.id) is not None:
            return None
        project = access.project_of(case)
        name = project.get(field.id)
        if not isinstance(name, str) or not units.normal(name):
            return None
        picked = project.get(registry_keys(field.id)[0])
        unit = units.current(s, picked) if isinstance(picked, int) and not isinstance(picked, bool) else None
        if unit is None or unit.policy_key != case.policy_key or unit.status == "merged":
            try:
                unit = self.propose(s, case.policy_key, name, case.applicant_id)
            except units.UnitError:
                return None
        s.add(units.CaseUnit(case_id=case.id, unit_id=unit.id or 0, assigned_by=case.applicant_id))
        s.flush()
        return unit

    # -- the admin's command ----------------------------------------------------------------------------
    def command(self, act: Act, args: list[str]) -> Reply:
        if (refusal := self.desk.admin_only(act, "units")) is not None:
            return refusal
        lang = act.lang
        if not args:
            return Reply(view=self.overview(act.session, lang))
        verb, rest = args[0].lower(), args[1:]
        if verb in self.desk.policies and not rest:
            return Reply(view=self.listing(act.session, verb, lang))
        if verb not in VERBS:
            return Reply(view=View(t("off.units.usage", lang)))
        if verb == "move":
            return self.move_command(act, " ".join(rest))
        if not rest or rest[0] not in self.desk.policies:
            return Reply(view=View(t("off.units.usage", lang)))
        policy_key, text = rest[0], " ".join(rest[1:]).strip()
        try:
            notice = getattr(self, f"_{verb}")(act, policy_key, text)
        except units.UnitError as exc:
            return Reply(view=View(t("off.refused", lang, text=t(exc.key, lang, **exc.params))))
        if notice is None:
            return Reply(view=View(t("off.units.usage", lang)))
        self.notices.reroute(act.session, policy_key)
        view = self.listing(act.session, policy_key, lang)
        view.text = f"{notice}\n\n{view.text}"
        return Reply(view=view)

    def _audit(self, act: Act, policy_key: str, verb: str, **details: object) -> None:
        cr.add_event(act.session, None, act.who.user_id, "admin", "units", None, None,
                     {"verb": verb, "policy": policy_key, **details})

    def _unit(self, s: Session, policy_key: str, ref: str) -> units.Unit:
        unit = units.find(s, policy_key, ref)
        if unit is None:
            raise units.UnitError("units.err.unknown", ref=ref)
        return unit

    def _levels(self, policy_key: str) -> list[str]:
        policy = self.desk.policies[policy_key]
        field = next((f for f in policy.project_fields if f.id == "funding_level" and f.kind == "choice"), None)
        return [o.id for o in field.options] if field is not None else []

    def _add(self, act: Act, policy_key: str, text: str) -> str | None:
        words = text.split()
        level = words.pop() if len(words) > 1 and words[-1] in self._levels(policy_key) else None
        if not words:
            return None
        unit = units.add(act.session, policy_key, " ".join(words), level, act.who.user_id)
        self._audit(act, policy_key, "add", unit=unit.id, name=unit.name, level=level)
        return t("off.units.added", act.lang, name=unit.name, id=unit.id)

    def _rename(self, act: Act, policy_key: str, text: str) -> str | None:
        parts = _split(text)
        if parts is None or not all(parts):
            return None
        unit = self._unit(act.session, policy_key, parts[0])
        old = units.rename(act.session, unit, parts[1])
        self._audit(act, policy_key, "rename", unit=unit.id, before=old, after=unit.name)
        return t("off.units.renamed", act.lang, old=old, name=unit.name)

    def _alias(self, act: Act, policy_key: str, text: str) -> str | None:
        parts = _split(text)
        if parts is None or not all(parts):
            return None
        unit = self._unit(act.session, policy_key, parts[0])
        row = units.alias(act.session, unit, parts[1])
        self._audit(act, policy_key, "alias", unit=unit.id, alias=row.name)
        return t("off.units.aliased", act.lang, alias=row.name, name=unit.name)

    def _merge(self, act: Act, policy_key: str, text: str) -> str | None:
        parts = _split(text)
        if parts is None or not all(parts):
            return None
        unit = self._unit(act.session, policy_key, parts[0])
        into = self._unit(act.session, policy_key, parts[1])
        units.merge(act.session, unit, into)
        self._audit(act, policy_key, "merge", unit=unit.id, into=into.id)
        return t("off.units.merged", act.lang, name=unit.name, into=into.name)

    def _confirm(self, act: Act, policy_key: str, text: str) -> str | None:
        if not text:
            return None
        unit = self._unit(act.session, policy_key, text)
        units.confirm(act.session, unit)
        self._audit(act, policy_key, "confirm", unit=unit.id)
        return t("off.units.confirmed", act.lang, name=unit.name)

    def _level(self, act: Act, policy_key: str, text: str) -> str | None:
        parts = _split(text)
        if parts is None or parts[1] not in self._levels(policy_key):
            return None
        unit = self._unit(act.session, policy_key, parts[0])
        before, unit.level = unit.level, parts[1]
        act.session.add(unit)
        self._audit(act, policy_key, "level", unit=unit.id, before=before, after=unit.level)
        return t("off.units.levelled", act.lang, name=unit.name, level=unit.level)

    def confirm_press(self, act: Act, unit_id: int) -> Reply:
        if (refusal := self.desk.admin_only(act, "units")) is not None:
            return refusal
        unit = act.session.get(units.Unit, unit_id)
        if unit is None or unit.status != "proposed":
            return self.desk.refuse(act, Msg("off.err.stale"), "units", extra={"unit": unit_id})
        units.confirm(act.session, unit)
        self._audit(act, unit.policy_key, "confirm", unit=unit.id)
        self.notices.reroute(act.session, unit.policy_key)
        view = self.listing(act.session, unit.policy_key, act.lang)
        view.text = t("off.units.confirmed", act.lang, name=unit.name) + "\n\n" + view.text
        return Reply(view=view, edit=True)

    # -- moving a case -----------------------------------------------------------------------------------
    def move_command(self, act: Act, text: str) -> Reply:
        parts = _split(text)
        if parts is None or not all(parts):
            return Reply(view=View(t("off.units.usage", act.lang)))
        case = self.desk.find_case(act.session, parts[0])
        if case is None:
            return Reply(view=View(t("off.refused", act.lang, text=t("off.err.no_case", act.lang))))
        unit = units.find(act.session, case.policy_key, parts[1])
        if unit is None:
            return Reply(view=View(t("off.refused", act.lang, text=t("units.err.unknown", act.lang, ref=parts[1]))))
        return self.move(act, case, unit, edit=False)

    def move_press(self, act: Act, case_id: int, unit_id: int) -> Reply:
        if (refusal := self.desk.admin_only(act, "move_unit")) is not None:
            return refusal
        case = act.session.get(Case, case_id)
        unit = units.current(act.session, unit_id)
        if case is None or unit is None or unit.policy_key != case.policy_key:
            return self.desk.refuse(act, Msg("off.err.stale"), "move_unit", case)
        return self.move(act, case, unit, edit=True)

    def move(self, act: Act, case: Case, unit: units.Unit, edit: bool) -> Reply:
        """The case goes to `unit`: written on its audit trail, the answers untouched, the new unit's
        reviewers told (or the admins, if it has none)."""
        if (refusal := self.desk.admin_only(act, "move_unit")) is not None:
            return refusal
        before = units.move_case(act.session, case, unit, act.who.user_id)
        cr.add_event(act.session, case.id, act.who.user_id, "admin", "move_unit", case.state, case.state,
                     {"from": before.name if before else access.project_of(case).get("unit"), "to": unit.name,
                      "unit": unit.id}, at=self.desk.now())
        self.notices.after_change(act.session, case)
        return Reply(view=View(t("off.units.moved", act.lang, number=case.number, name=unit.name)), edit=edit)

    # -- views -----------------------------------------------------------------------------------------------
    def overview(self, s: Session, lang: str) -> View:
        lines = [t("off.units.usage", lang), "", t("off.units.overview", lang)]
        for key, policy in self.desk.policies.items():
            found = units.units_of(s, key)
            proposed = sum(1 for u in found if u.status == "proposed")
            lines.append(t("off.units.overview_item", lang, pkey=key, policy=policy.short_name.get(lang),
                           n=len(found) - proposed, proposed=proposed))
        return View("\n".join(lines))

    def listing(self, s: Session, policy_key: str, lang: str) -> View:
        found = units.units_of(s, policy_key)
        policy = self.desk.policies[policy_key]
        if not found:
            return View(t("off.units.none", lang, policy=policy.short_name.get(lang), pkey=policy_key))
        reviewers: dict[int, int] = {}
        for m in access.all_memberships(s, policy_key):
            if m.role in access.UNIT_ROLES:
                unit = units.membership_unit(s, m.id, policy_key, m.unit)
                if unit is not None and unit.id is not None:
                    reviewers[unit.id] = reviewers.get(unit.id, 0) + 1
        lines = [t("off.units.title", lang, policy=policy.short_name.get(lang))]
        buttons: list[list[tuple[str, str]]] = []
        for unit in found[:SHOWN]:
            others = [n.name for n in units.names_of(s, unit.id or 0) if units.normal(n.name) != units.normal(unit.name)]
            lines.append(t("off.units.item", lang, id=unit.id, name=unit.name,
                           level=f" · {unit.level}" if unit.level else "",
                           aliases=t("off.units.aliases", lang, names=t("off.list.sep", lang).join(others)) if others else "",
                           reviewers=reviewers.get(unit.id or 0, 0),
                           proposed=t("off.units.proposed_mark", lang) if unit.status == "proposed" else ""))
            if unit.status == "proposed":
                buttons.append([(t("off.btn.confirm_unit_named", lang, name=unit.name[:24]),
                                 encode(Admin.CONFIRM_UNIT, unit.id or 0))])
        return View("\n".join(lines), buttons)
