"""Lists of cases: a member's /queue (their cases by state and nearest deadline; for admins, first the
cases nobody can act on, until someone covers them) and an applicant's /status (their cases, each with
where it stands and its latest decision)."""

from __future__ import annotations

import datetime as dt

from bot.actions import Act
from bot.callbacks import CaseAction, Home, encode
from bot.i18n import t
from bot.limits import TEXT_LIMIT, clip
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from bot.officer.notify import Notices
from bot.officer.routing import Routing
from bot.reply import Reply, View
from dialogs.text import Msg
from storage import access
from storage import caserepo as cr
from storage.models import Case

SHOWN = 40


class Lists:
    def __init__(self, desk: Desk, labels: Labels, routing: Routing, notices: Notices) -> None:
        self.desk = desk
        self.labels = labels
        self.routing = routing
        self.notices = notices

    def queue(self, act: Act, edit: bool = False) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        memberships = access.memberships_of(s, who.user_id)
        admin = self.desk.is_admin(who.user_id)
        if not memberships and not admin:
            return self.desk.refuse(act, Msg("off.err.not_staff"), "queue", edit=edit)
        lines: list[str] = []
        buttons: list[list[tuple[str, str]]] = []
        if admin:
            stranded = self.routing.stranded_cases(s)
            if stranded:
                lines.append(t("off.queue.stranded_title", lang))
                for found in stranded[:SHOWN]:
                    lines.append(self.notices.stranded_text(found, lang))
                    buttons.append([(f"⚠ {found.case.number}", encode(CaseAction.OPEN, found.case.id or 0))])
                lines.append("")
        seen: dict[int, Case] = {}
        for m in memberships:
            for case in cr.cases_of_policy(s, m.policy_key):
                if access.covers(s, m, case):
                    seen[case.id or 0] = case
        entries = []
        for case in seen.values():
            dues = [c for c in self.desk.clocks(s, case) if c.status == "running" and c.due is not None]
            nearest = min(dues, key=lambda c: c.due.date) if dues else None  # type: ignore[union-attr]
            entries.append((self.desk.is_final(case), nearest.due.date if nearest and nearest.due else dt.date.max,
                            case, nearest))
        entries.sort(key=lambda e: (e[0], e[1], e[2].id))
        if entries:
            lines.append(t("off.queue.title", lang))
        for final, _due, case, nearest in entries[:SHOWN]:
            due_text = (t("off.queue.due", lang, due=nearest.due.date.isoformat(), label=nearest.limit.label.get(lang))
                        if nearest and nearest.due else t("off.queue.no_due", lang))
            own = t("off.queue.own", lang) if case.applicant_id == who.user_id else ""
            lines.append(t("off.queue.item", lang, number=case.number, state=self.labels.state_label(case, lang),
                           due=due_text, own=own))
            if not final:
                buttons.append([(case.number, encode(CaseAction.OPEN, case.id or 0))])
        if not lines:
            return Reply(view=View(t("off.queue.empty", lang)), edit=edit)
        return Reply(view=View(clip("\n".join(lines), TEXT_LIMIT), buttons), edit=edit)

    def status(self, act: Act, edit: bool = False) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        cases = cr.cases_of_applicant(s, who.user_id)
        if not cases:
            return Reply(view=View(t("off.status.empty", lang),
                                   [[(t("btn.new_application", lang), encode(Home.NEW))]]), edit=edit)
        lines = [t("off.status.title", lang)]
        buttons = []
        for case in cases:
            policy = self.desk.policies[case.policy_key]
            outcomes = self.labels.outcome_lines(s, case, lang)
            lines.append(t("off.status.item", lang, number=case.number, policy=policy.short_name.get(lang),
                           state=self.labels.state_label(case, lang)))
            if outcomes:
                lines.append(t("off.status.latest", lang, outcome=outcomes[-1]))
            buttons.append([(t("off.btn.open_case", lang, number=case.number), encode(CaseAction.OPEN, case.id or 0))])
        return Reply(view=View(clip("\n".join(lines), TEXT_LIMIT), buttons), edit=edit)
