"""Messages the officers' side owes people, written to the outbox in the transaction of the change they
report (bot/outbox.py delivers them), each under a dedupe key so it goes out once:

- the applicant, of every step the policy file says they are told of;
- the members who can act, every time a case enters a state where their role must act: the case, what is
  asked of them with its clause, the deadline (or that a per-case period must be set) and a button to open it;
- the admins, at once, of a case nobody can act on, with what would fix it;
- the admins, of a unit a researcher proposed and of a person waiting for their confirmation.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.callbacks import Admin, CaseAction, encode
from bot.i18n import gettext, t
from bot.officer.desk import Desk, Params
from bot.officer.labels import Labels
from bot.officer.routing import Routing, Stranded
from dialogs.policy import ProcAction
from storage import caserepo as cr
from storage.invitations import RoleInvitation
from storage.models import Case, User
from storage.units import Unit

Buttons = list[list[tuple[str, str]]]


class Notices:
    def __init__(self, desk: Desk, labels: Labels, routing: Routing) -> None:
        self.desk = desk
        self.labels = labels
        self.routing = routing

    def _send(self, s: Session, chat_id: int, key: str, text: str, dedupe: str, case: Case | None = None,
              buttons: Buttons | None = None, params: dict[str, Any] | None = None) -> None:
        data = dict(params or {})
        if buttons:
            data["buttons"] = [[list(b) for b in row] for row in buttons]
        cr.enqueue(s, chat_id, key, data, text, dedupe, case.id if case else None)

    def _open_button(self, case: Case, lang: str) -> Buttons:
        return [[(t("off.btn.open_case", lang, number=case.number), encode(CaseAction.OPEN, case.id or 0))]]

    # -- the applicant -------------------------------------------------------------------------------------
    def applicant(self, s: Session, case: Case, spec: ProcAction, values: dict[str, Any], keys: list[str],
                  event_id: int) -> None:
        """One outbox row per notification the policy declares, in the applicant's language."""
        applicant = s.get(User, case.applicant_id)
        if applicant is None or not keys:
            return
        lang = self.desk.language_of(s, case.applicant_id)
        policy = self.desk.policies[case.policy_key]
        params = Params({f.id: self.labels.fmt_value(f, values.get(f.id), lang) for f in spec.fields})
        params.update(number=case.number, policy=policy.short_name.get(lang),
                      state=self.labels.state_label(case, lang))
        for key in keys:
            body = gettext(key, lang).format_map(params)
            text = t("note.envelope", lang, number=case.number, policy=policy.short_name.get(lang), body=body,
                     clause=spec.clause or "—")
            self._send(s, case.applicant_id, key, text, f"ev:{event_id}:{key}", case,
                       [[(t("off.btn.my_case", lang), encode(CaseAction.OPEN, case.id or 0))]], dict(params))

    # -- staff ----------------------------------------------------------------------------------------------
    def applicant_acted(self, s: Session, case: Case, spec: ProcAction, event_id: int) -> None:
        """The deciding body hears of what the applicant did (a report, new material, a review request)."""
        for user_id in self.routing.alert_recipients(s, case):
            lang = self.desk.language_of(s, user_id)
            text = t("note.staff_applicant_acted", lang, number=case.number, action=spec.label.get(lang),
                     state=self.labels.state_label(case, lang))
            self._send(s, user_id, "note.staff_applicant_acted", text, f"ev:{event_id}:staff:{user_id}", case,
                       self._open_button(case, lang), {"number": case.number})

    def work_reached(self, s: Session, case: Case) -> int:
        """Tell every member who can act that the case, in its current state, waits for them. Once per
        person per entry into a state: called again (a unit added, a reviewer joined), it reaches only
        those not yet told. Returns how many were told now."""
        if self.desk.is_final(case):
            return 0
        entry = self.desk.entry_event(s, case)
        if entry is None:
            return 0
        actions = self.routing.actions_now(s, case)
        by_user: dict[int, list[ProcAction]] = {}
        for m in self.routing.who_can_act(s, case):
            mine = [a for a in actions if self.routing.takes(s, case, m, a)]
            by_user.setdefault(m.user_id, [])
            by_user[m.user_id] += [a for a in mine if a not in by_user[m.user_id]]
        told = 0
        policy = self.desk.policies[case.policy_key]
        clocks = self.desk.clocks(s, case)
        for user_id, mine in sorted(by_user.items()):
            lang = self.desk.language_of(s, user_id)
            asked = "\n".join(t("off.work.action", lang, action=a.label.get(lang), clause=a.clause or "—") for a in mine)
            lines = [line for c in clocks if (line := self.labels.clock_line(c, lang))]
            text = t("off.work.reached", lang, number=case.number, policy=policy.short_name.get(lang),
                     state=self.labels.state_label(case, lang), actions=asked,
                     deadlines="\n".join(lines) if lines else t("off.work.no_deadline", lang))
            row = self._send_once(s, user_id, "off.work.reached", text, f"work:{case.id}:{entry.id}:{user_id}", case,
                                  self._open_button(case, lang))
            told += int(row)
        return told

    def _send_once(self, s: Session, chat_id: int, key: str, text: str, dedupe: str, case: Case,
                   buttons: Buttons) -> bool:
        data: dict[str, Any] = {"number": case.number, "buttons": [[list(b) for b in r] for r in buttons]}
        return cr.enqueue(s, chat_id, key, data, text, dedupe, case.id) is not None

    # -- admins ---------------------------------------------------------------------------------------------
    def admins(self) -> list[int]:
        return sorted(self.desk.settings.admin_ids)

    def stranded_text(self, found: Stranded, lang: str) -> str:
        case = found.case
        policy = self.desk.policies[case.policy_key]
        roles = t("off.list.sep", lang).join(self.labels.role_label(r, lang) for r in sorted(found.roles))
        reason = t(found.reason, lang, unit=found.unit or "—", typed=found.typed_unit or "—", roles=roles,
                   level=found.level or "—", policy=policy.short_name.get(lang))
        fix = t(f"{found.reason}.fix", lang, policy=case.policy_key, number=case.number, unit=found.unit or "—",
                typed=found.typed_unit or "—", level=found.level or "", role_kind=_kind(found.roles))
        return t("off.stranded.line", lang, number=case.number, policy=policy.short_name.get(lang),
                 state=self.labels.state_label(case, lang), reason=reason, fix=fix)

    def check_stranded(self, s: Session, case: Case) -> Stranded | None:
        """A case nobody can act on goes before the admins at once (once per state and reason)."""
        found = self.routing.stranded(s, case)
        if found is None:
            return None
        entry = self.desk.entry_event(s, case)
        for admin in self.admins():
            lang = self.desk.language_of(s, admin)
            text = t("off.stranded.alert", lang, text=self.stranded_text(found, lang))
            self._send(s, admin, "off.stranded.alert", text,
                       f"stranded:{case.id}:{entry.id if entry else 0}:{found.reason}:{admin}", case,
                       self._open_button(case, lang), {"number": case.number})
        return found

    def after_change(self, s: Session, case: Case) -> None:
        """Whenever a case enters a state, or who reaches it changes: the people who can act are told,
        or the admins when nobody can."""
        if self.check_stranded(s, case) is None:
            self.work_reached(s, case)

    def reroute(self, s: Session, policy_key: str) -> None:
        """Who reaches which case changed (a unit added, renamed, merged; a member joined or left)."""
        for case in self.routing.open_cases(s, policy_key):
            self.after_change(s, case)

    def unit_proposed(self, s: Session, unit: Unit, by: int) -> None:
        policy = self.desk.policies.get(unit.policy_key)
        for admin in self.admins():
            lang = self.desk.language_of(s, admin)
            text = t("off.units.proposed_alert", lang, name=unit.name, id=unit.id,
                     policy=policy.short_name.get(lang) if policy else unit.policy_key, pkey=unit.policy_key,
                     user=self.desk.name_of(s, by), user_id=by)
            buttons = [[(t("off.btn.confirm_unit", lang), encode(Admin.CONFIRM_UNIT, unit.id or 0))]]
            self._send(s, admin, "off.units.proposed_alert", text, f"unit:{unit.id}:proposed:{admin}", None, buttons)

    def join_waiting(self, s: Session, row: RoleInvitation) -> None:
        policy = self.desk.policies.get(row.policy_key)
        for admin in sorted({row.created_by, *self.admins()}):
            lang = self.desk.language_of(s, admin)
            text = t("off.join.waiting_alert", lang, name=row.opened_name or "—", user=row.opened_by,
                     role=self.labels.role_label(row.role, lang),
                     policy=policy.short_name.get(lang) if policy else row.policy_key,
                     scope=row.level or row.unit_name or t("off.scope.all", lang))
            buttons = [[(t("off.btn.confirm_join", lang), encode(Admin.CONFIRM_JOIN, row.id or 0)),
                        (t("off.btn.decline_join", lang), encode(Admin.DECLINE_JOIN, row.id or 0))]]
            self._send(s, admin, "off.join.waiting_alert", text, f"join:{row.id}:{row.opened_by}:{admin}", None,
                       buttons)

    def tell(self, s: Session, user_id: int, key: str, text: str, dedupe: str, case: Case) -> None:
        """One message about a case, once (the dedupe key), with the button to open it."""
        self._send(s, user_id, key, text, dedupe, case, self._open_button(case, self.desk.language_of(s, user_id)),
                   {"number": case.number})

    def joined(self, s: Session, user_id: int, text_key: str, **params: Any) -> None:
        lang = self.desk.language_of(s, user_id)
        self._send(s, user_id, text_key, t(text_key, lang, **params), f"{text_key}:{user_id}:{params.get('id')}",
                   None, [[(t("off.btn.queue", lang), encode(CaseAction.QUEUE))]])


def _kind(roles: frozenset[str]) -> str:
    if "unit_reviewer" in roles:
        return "unit"
    if "determination_group" in roles:
        return "group"
    return "officer"
