"""Opening a case ex officio from the chat, and the person concerned taking it up (Yunnan 第六条(二):
"问责机关……认为符合条件的，应当主动启动容错免责程序").

`/exofficio yunnan [level] 问责机关 | 启动时点 | 对象类别 | 对象名称 | 项目 | 理由` records the fields the policy
file declares (`procedure.ex_officio.fields`, in that order, separated by "|" or "｜"), has the procedure
engine check them (`Procedures.start_ex_officio`), creates the case (storage/exofficio.py) and answers with
the single-use claim link `/start exo_…` the officer hands to the unit or person. Whoever opens the link
becomes the case's applicant, is told which organ started the procedure and what is asked of them, and
completes it from their case file; the officer who opened the case hears that it was taken up.

One line rather than a form of its own: the fields are few, all but two typed, and an officer opening a
case ex officio works from a file at a desk. Missing or unreadable parts are answered with the field and
what it accepts; nothing is created until every field reads.
"""

from __future__ import annotations

import re
from typing import Any

from bot.actions import Act
from bot.callbacks import CaseAction, encode
from bot.i18n import render, t
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from bot.officer.notify import Notices
from bot.reply import Reply, View
from dialogs.policy import ExOfficio, ProcField
from dialogs.procedure import parse_value
from dialogs.text import N_, Msg
from storage import access, exofficio
from storage.models import Case

SEPARATOR = re.compile(r"[|｜]")
CLAIM_REFUSALS = {"unknown": N_("exo.claim.unknown"), "used": N_("exo.claim.used"),
                  "expired": N_("exo.claim.expired"), "own": N_("exo.claim.own")}


class ExOfficioDesk:
    def __init__(self, desk: Desk, labels: Labels, notices: Notices) -> None:
        self.desk = desk
        self.labels = labels
        self.notices = notices

    # -- the officer opens a case ------------------------------------------------------------------------
    def policies_with_ex_officio(self) -> list[str]:
        return [k for k in self.desk.procedures.policies if self.desk.procedures.ex_officio(k) is not None]

    def usage(self, lang: str, policy_key: str | None = None, error: str | None = None) -> Reply:
        keys = [policy_key] if policy_key else self.policies_with_ex_officio()
        blocks = [error] if error else []
        for key in keys:
            spec = self.desk.procedures.ex_officio(key)
            if spec is None:
                continue
            routing = self.desk.policies[key].routing
            levels = ", ".join(lv.id for lv in routing.levels) if routing is not None else "—"
            fields = "\n".join(self._field_line(i, f, lang) for i, f in enumerate(spec.fields))
            blocks.append(t("exo.usage", lang, policy=key, clause=spec.clause, label=spec.label.get(lang),
                            levels=levels, fields=fields, n=len(spec.fields)))
        if not keys or len(blocks) == (1 if error else 0):
            blocks.append(t("exo.none", lang))
        return Reply(view=View("\n\n".join(blocks)))

    @staticmethod
    def _field_line(i: int, f: ProcField, lang: str) -> str:
        if f.kind == "choice":
            options = " / ".join(f"{o.id}={o.label.get(lang)}" for o in f.options)
            return t("exo.field.choice", lang, n=i + 1, label=f.label.get(lang), options=options)
        return t("exo.field.text", lang, n=i + 1, label=f.label.get(lang))

    def command(self, act: Act, args: list[str]) -> Reply:
        s, lang, user_id = act.session, act.lang, act.who.user_id
        if not args:
            return self.usage(lang)
        policy_key = args[0].lower()
        spec = self.desk.procedures.ex_officio(policy_key)
        if spec is None:
            return self.usage(lang, error=t("exo.err.policy", lang, policy=args[0][:32]))
        mine = [m for m in access.memberships_of(s, user_id)
                if m.role == access.OFFICER and m.policy_key == policy_key]
        if not mine:
            return self.desk.refuse(act, Msg("off.err.not_staff"), "ex_officio", extra={"policy": policy_key})
        rest = args[1:]
        routing = self.desk.policies[policy_key].routing
        levels = {m.level for m in mine}
        level: str | None = None
        if routing is not None:
            if rest and routing.level(rest[0]) is not None:
                level, rest = rest[0], rest[1:]
            elif len(levels) == 1:
                level = next(iter(levels))
            else:
                return self.usage(lang, policy_key, t("exo.err.which_level", lang,
                                                      levels=", ".join(sorted(str(lv) for lv in levels))))
            if level not in levels and None not in levels:
                return self.desk.refuse(act, Msg("exo.err.not_your_level", {"level": level}), "ex_officio",
                                        extra={"policy": policy_key, "level": level})
        if not rest:
            return self.usage(lang, policy_key)
        values = self._read(spec, " ".join(rest), lang)
        if isinstance(values, str):
            return self.usage(lang, policy_key, values)
        result = self.desk.procedures.start_ex_officio(policy_key, values, self.desk.today())
        if not result.ok:
            return self.usage(lang, policy_key, render(result.error, lang) if result.error else None)
        case, code = exofficio.open_case(s, self.desk.policies[policy_key], user_id, level, values, result,
                                         self.desk.now())
        self.notices.after_change(s, case)
        link = f"https://t.me/{self.desk.bot_username}?start={code}" if self.desk.bot_username else f"/start {code}"
        until = str(case.answers["ex_officio"]["claim_until"])[:10]
        text = t("exo.opened", lang, number=case.number, clause=spec.clause, subject=values[spec.subject_field],
                 state=self.labels.state_label(case, lang), link=link, until=until)
        return Reply(view=View(text, [[(t("off.btn.open_case", lang, number=case.number),
                                        encode(CaseAction.OPEN, case.id or 0))]]))

    @staticmethod
    def _read(spec: ExOfficio, line: str, lang: str) -> dict[str, Any] | str:
        """The values of the declared fields, in order; or what is wrong, in the officer's language."""
        parts = [p.strip() for p in SEPARATOR.split(line)]
        if len(parts) != len(spec.fields):
            return t("exo.err.count", lang, n=len(spec.fields), got=len(parts))
        values: dict[str, Any] = {}
        for i, (f, part) in enumerate(zip(spec.fields, parts, strict=True)):
            if f.kind == "choice":
                found = next((o.id for j, o in enumerate(f.options)
                              if part.lower() in {o.id.lower(), str(j + 1), o.label.zh.lower(),
                                                  (o.label.en or "").lower()}), None)
                if found is None:
                    return t("exo.err.option", lang, n=i + 1, label=f.label.get(lang),
                             options=" / ".join(o.id for o in f.options))
                values[f.id] = found
                continue
            value, problem = parse_value(f, part)
            if problem is not None:
                return t("exo.err.field", lang, n=i + 1, label=f.label.get(lang), text=render(problem, lang))
            values[f.id] = value
        return values

    # -- the person concerned takes it up ------------------------------------------------------------------
    def claim(self, act: Act, code: str) -> Reply:
        s, lang, user_id = act.session, act.lang, act.who.user_id
        found = exofficio.claim(s, code[:64], user_id, self.desk.now())
        if not isinstance(found, Case):
            return self.desk.refuse(act, Msg(CLAIM_REFUSALS[found]), "claim", extra={"outcome": found})
        case = found
        spec = self.desk.procedures.ex_officio(case.policy_key)
        record = case.answers.get("ex_officio", {})
        policy = self.desk.policies[case.policy_key]
        actions = [a for a in self.desk.procedures.procedure(case.policy_key).actions
                   if a.role == access.APPLICANT and case.state in a.source]
        asked = "\n".join(t("off.work.action", lang, action=a.label.get(lang), clause=a.clause or "—")
                          for a in actions) or t("exo.claim.nothing_asked", lang)
        text = t("exo.claimed", lang, number=case.number, policy=policy.short_name.get(lang),
                 organ=record.get("organ", "—"), clause=spec.clause if spec else "—",
                 project=record.get(spec.project_field, "—") if spec else "—",
                 state=self.labels.state_label(case, lang), actions=asked)
        opener = record.get("opened_by")
        if isinstance(opener, int) and "claimed_told" not in record:
            olang = self.desk.language_of(s, opener)
            self.notices.tell(s, opener, "exo.taken_up",
                              t("exo.taken_up", olang, number=case.number, subject=record.get("subject", "—")),
                              f"exo:{case.id}:claimed", case)
            case.answers = {**case.answers, "ex_officio": {**record, "claimed_told": True}}
            s.add(case)
        return Reply(view=View(text, [[(t("off.btn.my_case", lang), encode(CaseAction.OPEN, case.id or 0))]]))
