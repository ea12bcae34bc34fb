"""Who holds a role: invitations, joining, the members list and revoking.

`/invite officer <policy> [level] [@username|id]`, `/invite unit zhejiang <registry unit> [@username|id]`,
`/invite group liaoning <registry unit> [@username|id]`. An invitation that names its person works for
that Telegram account only; one that names nobody makes whoever opens it wait for an admin's confirmation.
Unit roles name a unit of the registry (/units), never free text. Codes are stored hashed
(storage/invitations.py); the admin sees the link once. `/officers` lists the members and the open
invitations, each with its button to revoke.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlmodel import Session

from bot.actions import Act
from bot.callbacks import Admin, CaseAction, encode
from bot.i18n import t
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from bot.officer.notify import Notices
from bot.reply import Menu, MenuChange, Reply, View
from dialogs.text import N_, Msg
from storage import access, invitations, units
from storage import caserepo as cr
from storage.casework import Membership
from storage.models import User, utcnow

ROLE_OF_KIND = {"officer": "officer", "unit": "unit_reviewer", "group": "determination_group"}
UNIT_ROLE_POLICY = {"unit_reviewer": "zhejiang", "determination_group": "liaoning"}
INVITATION_LIFETIME = dt.timedelta(days=3)
_USERNAME = re.compile(r"@[A-Za-z0-9_]{3,32}")
_USER_ID = re.compile(r"[0-9]{1,15}")
SHOWN = 50
# why an invitation code does not let its opener in (storage/invitations.py `Outcome`)
JOIN_REFUSALS = {"unknown": N_("off.join.unknown"), "used": N_("off.join.used"), "expired": N_("off.join.expired"),
                 "revoked": N_("off.join.revoked"), "not_for_you": N_("off.join.not_for_you"),
                 "opened": N_("off.join.opened")}


LEVELS_REQUIRED, LEVELS_OPTIONAL = N_("off.invite.levels_required"), N_("off.invite.levels_optional")


def all_levels(desk: Desk, lang: str) -> str:
    """Every policy's officer levels (Policy.routing) and whether one is needed, for the usage text:
    "yunnan（必填）: provincial/…; zhejiang（可选）: basic_public"."""
    return "; ".join(t(LEVELS_REQUIRED if p.routing.required else LEVELS_OPTIONAL, lang,
                       policy=key, levels="/".join(lv.id for lv in p.routing.levels))
                     for key, p in desk.policies.items() if p.routing is not None)


class Members:
    def __init__(self, desk: Desk, labels: Labels, notices: Notices) -> None:
        self.desk = desk
        self.labels = labels
        self.notices = notices

    def _usage(self, lang: str) -> Reply:
        return Reply(view=View(t("off.invite.usage", lang, policies=", ".join(self.desk.procedures.policies),
                                 levels=all_levels(self.desk, lang))))

    def _scope(self, lang: str, level: str | None, unit: str | None) -> str:
        return level or unit or t("off.scope.all", lang)

    # -- invitations ---------------------------------------------------------------------------------
    def invite(self, act: Act, args: list[str]) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        if (refusal := self.desk.admin_only(act, "invite")) is not None:
            return refusal
        words = list(args)
        for_id = for_name = None
        if len(words) > 2 and _USERNAME.fullmatch(words[-1]):
            for_name = words.pop()[1:]
        elif len(words) > 2 and _USER_ID.fullmatch(words[-1]):
            for_id = int(words.pop())
        kind = words[0] if words else ""
        role = ROLE_OF_KIND.get(kind)
        policy_key = words[1] if len(words) > 1 else ""
        rest = " ".join(words[2:]).strip()
        if role is None or policy_key not in self.desk.procedures.policies:
            return self._usage(lang)
        level: str | None = None
        unit: units.Unit | None = None
        if role in UNIT_ROLE_POLICY:
            if UNIT_ROLE_POLICY[role] != policy_key or not rest:
                return Reply(view=View(t("off.invite.unit_usage", lang)))
            unit = units.find(s, policy_key, rest)
            if unit is None or unit.status != "active":
                near = units.search(s, policy_key, rest, 5)
                return Reply(view=View(t("off.invite.no_unit", lang, unit=rest, policy=policy_key,
                                         near=t("off.list.sep", lang).join(u.name for u in near) or "—")))
        elif (routing := self.desk.policies[policy_key].routing) is not None and (rest or routing.required):
            # the policy's routing names the levels (Yunnan: every officer holds one, 第六条; Zhejiang: the
            # fund office's officers hold `basic_public`, 三(末段), the department's none)
            if routing.level(rest) is None:
                return Reply(view=View(t("rules.invite.level_usage", lang,
                                         policy=self.desk.policies[policy_key].short_name.get(lang),
                                         levels="; ".join(f"{lv.id} = {lv.label.get(lang)}"
                                                          for lv in routing.levels))))
            level = rest
        elif rest:
            return self._usage(lang)
        row, code = invitations.create(s, role, policy_key, who.user_id, INVITATION_LIFETIME, level,
                                       unit.id if unit else None, unit.name if unit else None, for_id, for_name)
        cr.add_event(s, None, who.user_id, "admin", "invite", None, None,
                     {"invitation": row.id, "role": role, "policy": policy_key, "level": level,
                      "unit": unit.name if unit else None, "for": for_name or for_id})
        link = f"https://t.me/{self.desk.bot_username}?start={code}" if self.desk.bot_username else f"/start {code}"
        until = cr.aware(row.expires_at).astimezone(cr.SHANGHAI).strftime("%Y-%m-%d %H:%M")
        for_whom = (t("off.invite.for_user", lang, user=f"@{for_name}" if for_name else for_id)
                    if for_name or for_id else t("off.invite.for_anyone", lang))
        return Reply(view=View(t("off.invite.created", lang, role=self.labels.role_label(role, lang),
                                 policy=self.desk.policies[policy_key].short_name.get(lang),
                                 scope=self._scope(lang, level, unit.name if unit else None), link=link, code=code,
                                 until=until, for_whom=for_whom)))

    def join(self, act: Act, code: str) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        opened = invitations.open_code(s, code.strip()[:64], who.user_id, who.username, who.first_name)
        row = opened.invitation
        if opened.outcome == "joined" and opened.membership is not None and row is not None:
            return self._joined(act, opened.membership, row)
        if opened.outcome == "waiting" and row is not None:
            self.notices.join_waiting(s, row)
            return Reply(view=View(t("off.join.waiting", lang, role=self.labels.role_label(row.role, lang),
                                     policy=self.desk.policies[row.policy_key].short_name.get(lang),
                                     user=who.user_id)))
        return self.desk.refuse(act, Msg(JOIN_REFUSALS.get(opened.outcome, "off.join.unknown")), "join",
                                extra={"invitation": row.id if row else None})

    def _linked(self, s: Session, membership: Membership, row: invitations.RoleInvitation) -> None:
        if row.unit_id is not None:
            unit = units.current(s, row.unit_id)
            if unit is not None:
                units.link_membership(s, membership.id or 0, unit)
        cr.add_event(s, None, membership.user_id, membership.role, "join", None, None,
                     {"membership": membership.id, "policy": membership.policy_key, "level": membership.level,
                      "unit": membership.unit, "invitation": row.id})
        self.notices.reroute(s, membership.policy_key)

    def _joined(self, act: Act, membership: Membership, row: invitations.RoleInvitation) -> Reply:
        self._linked(act.session, membership, row)
        lang = act.lang
        text = t("off.join.ok", lang, role=self.labels.role_label(membership.role, lang),
                 policy=self.desk.policies[membership.policy_key].short_name.get(lang),
                 scope=self._scope(lang, membership.level, membership.unit))
        return Reply(view=View(text, [[(t("off.btn.queue", lang), encode(CaseAction.QUEUE))]]),
                     menu=MenuChange(Menu.STAFF))

    def confirm(self, act: Act, invitation_id: int, accept: bool) -> Reply:
        s = act.session
        if (refusal := self.desk.admin_only(act, "confirm_join")) is not None:
            return refusal
        row = s.get(invitations.RoleInvitation, invitation_id)
        if row is None or row.opened_by is None or row.used_by is not None or row.revoked_at is not None:
            return self.desk.refuse(act, Msg("off.err.stale"), "confirm_join", extra={"invitation": invitation_id})
        if not accept:
            invitations.decline(s, row, act.who.user_id)
            cr.add_event(s, None, act.who.user_id, "admin", "decline_join", None, None,
                         {"invitation": row.id, "user": row.opened_by})
            return self._members_reply(act, t("off.join.declined", act.lang, user=row.opened_by))
        membership = invitations.confirm(s, row)
        assert membership is not None
        self._linked(s, membership, row)
        policy = self.desk.policies[membership.policy_key]
        ulang = self.desk.language_of(s, membership.user_id)
        self.notices.joined(s, membership.user_id, N_("off.join.confirmed"), id=membership.id,
                            role=self.labels.role_label(membership.role, ulang), policy=policy.short_name.get(ulang),
                            scope=self._scope(ulang, membership.level, membership.unit))
        reply = self._members_reply(act, t("off.join.confirmed_admin", act.lang, user=membership.user_id))
        reply.menu = MenuChange(Menu.STAFF, membership.user_id)
        return reply

    def revoke_invitation(self, act: Act, invitation_id: int) -> Reply:
        s = act.session
        if (refusal := self.desk.admin_only(act, "revoke_invitation")) is not None:
            return refusal
        row = s.get(invitations.RoleInvitation, invitation_id)
        if row is None or not invitations.revoke(s, row, act.who.user_id):
            return self.desk.refuse(act, Msg("off.err.stale"), "revoke_invitation", extra={"invitation": invitation_id})
        cr.add_event(s, None, act.who.user_id, "admin", "revoke_invitation", None, None, {"invitation": row.id})
        return self._members_reply(act, t("off.invitations.revoked", act.lang, id=row.id))

    # -- members -------------------------------------------------------------------------------------------
    def members(self, act: Act) -> Reply:
        if (refusal := self.desk.admin_only(act, "members")) is not None:
            return refusal
        return Reply(view=self.members_view(act.session, act.lang))

    def _members_reply(self, act: Act, notice: str) -> Reply:
        view = self.members_view(act.session, act.lang)
        view.text = f"{notice}\n\n{view.text}"
        return Reply(view=view, edit=True)

    def members_view(self, s: Session, lang: str) -> View:
        rows = access.all_memberships(s)
        lines: list[str] = [t("off.members.title", lang) if rows else t("off.members.empty", lang)]
        buttons: list[list[tuple[str, str]]] = []
        for m in rows[:SHOWN]:
            user = s.get(User, m.user_id)
            lines.append(t("off.members.item", lang, id=m.id, name=(user.first_name if user else "") or m.user_id,
                           user=m.user_id, role=self.labels.role_label(m.role, lang),
                           policy=self.desk.policies[m.policy_key].short_name.get(lang),
                           scope=self._scope(lang, m.level, m.unit)))
            buttons.append([(t("off.btn.revoke", lang, id=m.id), encode(CaseAction.REVOKE_MEMBER, m.id or 0))])
        open_rows = invitations.open_invitations(s)
        if open_rows:
            lines.append("")
            lines.append(t("off.invitations.title", lang))
        for row in open_rows[:SHOWN]:
            until = cr.aware(row.expires_at).astimezone(cr.SHANGHAI).strftime("%m-%d %H:%M")
            for_whom = (f"@{row.for_username}" if row.for_username else str(row.for_user_id) if row.for_user_id
                        else t("off.invite.for_anyone", lang))
            waiting = (t("off.invitations.waiting", lang, name=row.opened_name or "—", user=row.opened_by)
                       if row.opened_by else "")
            lines.append(t("off.invitations.item", lang, id=row.id, role=self.labels.role_label(row.role, lang),
                           policy=self.desk.policies[row.policy_key].short_name.get(lang),
                           scope=self._scope(lang, row.level, row.unit_name), for_whom=for_whom, until=until,
                           waiting=waiting))
            if row.opened_by:
                buttons.append([(t("off.btn.confirm_join", lang), encode(Admin.CONFIRM_JOIN, row.id or 0)),
                                (t("off.btn.decline_join", lang), encode(Admin.DECLINE_JOIN, row.id or 0))])
            else:
                buttons.append([(t("off.btn.revoke_invitation", lang, id=row.id),
                                 encode(Admin.REVOKE_INVITATION, row.id or 0))])
        return View("\n".join(lines), buttons[:90])

    def revoke(self, act: Act, membership_id: int) -> Reply:
        s = act.session
        if (refusal := self.desk.admin_only(act, "revoke")) is not None:
            return refusal
        membership = s.get(Membership, membership_id)
        if membership is None or membership.revoked_at is not None:
            return self.desk.refuse(act, Msg("off.err.stale"), "revoke", extra={"membership": membership_id})
        membership.revoked_at = utcnow()
        s.add(membership)
        cr.clear_form(s, membership.user_id)
        cr.add_event(s, None, act.who.user_id, "admin", "revoke", None, None,
                     {"membership": membership.id, "user": membership.user_id})
        s.flush()
        self.notices.reroute(s, membership.policy_key)  # a case only they reached goes before the admins
        reply = self._members_reply(act, t("off.members.revoked", act.lang, id=membership.id))
        reply.menu = MenuChange(Menu.USER, membership.user_id) if not access.memberships_of(s, membership.user_id) \
            else None
        return reply
