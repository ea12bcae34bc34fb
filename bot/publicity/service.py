"""The publicity in public, as the procedure moves (Zhejiang 三(五)–(六)): what happens, and who is told,
when a decision is made, when its publication is recorded, when someone objects, when an objection is
answered and when the period ends.

Everything here runs inside the transaction of the change it follows, and every message is an outbox row
under a dedupe key (bot/outbox.py delivers them, paced, once), so a crash delays a notice but never loses
or repeats it. The officers' side calls `recorded()` for every action it records — whoever took it, the
reminder scan's automatic end included — and the objection dialog calls `submit()`.

Who is told what:
- the case's officers who publicise: the notice to paste, its .docx, and the form to record the publication;
- on publication: the channel (PUBLICITY_CHANNEL, with a button to object), the applicant (their case's
  notification, with the notice), the undertaking unit's reviewers and every follower of the policy —
  each once, a follower who blocked the bot skipped;
- on an objection: the officers at once, with the objector's identity and a button to verify; the applicant
  that an objection is being verified, never by whom; the objector a receipt with its reference;
- on an answer: the objector, the handling opinion;
- at the end: the channel post edited with the outcome; the applicant (with the reasons), the unit, every
  objector and every follower told the outcome, each once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session

from bot.i18n import render, t
from bot.publicity import notices as nt
from dialogs.policy import Policy
from dialogs.publicity import Notice, Period, ended_notice, outcome_text, period_text, typed, written_date
from dialogs.text import N_, Msg, Text, msg
from scheduler.calendar import WorkCalendar
from storage import caserepo as cr
from storage import publicity as pub
from storage.casework import Outbox
from storage.models import Case, User

log = logging.getLogger(__name__)

Button = tuple[str, Any]  # (label, callback data) or (label, {"start": payload}) / (label, {"url": url})
Buttons = list[list[Button]]
# keys chosen by a variable, declared for Babel's extractor (bot/message_keys.py)
KEYS = (N_("publicity.note.objection"), N_("publicity.officer.objection"), N_("publicity.officer.supplement"),
        N_("publicity.tail.unit"), N_("publicity.tail.objector"), N_("publicity.tail.follower"))
GROUNDS_LIMIT = 2000
NAME_LIMIT, CONTACT_LIMIT = 50, 100
EVIDENCE_LIMIT = 10


class ButtonData(Protocol):
    """The bot's callback data for the buttons these messages carry (the codec is the bot's, not ours)."""

    def open_case(self, case: Case) -> str: ...
    def record_publication(self, case: Case) -> str: ...
    def notice_docx(self, case: Case) -> str: ...
    def verify(self, case: Case, number: int) -> str: ...
    def evidence(self, objection: pub.Objection) -> str: ...


@dataclass(frozen=True)
class Steps:
    """The procedure's publicity steps, found by what they do rather than by name: the action that emits the
    decision, the one that starts the publicity, the one that ends it, the one that records an objection
    (the expiry rule's `unless_recorded`) and the one that answers one."""

    decide: str
    publish: str
    end: str
    objection: str
    answer: str | None
    publicity_state: str

    @classmethod
    def of(cls, policy: Policy) -> Steps | None:
        limit = nt.publicity_limit(policy)
        if policy.procedure is None or limit is None:
            return None
        actions = policy.procedure.actions

        def emitting(event: str) -> str | None:
            return next((a.id for a in actions if event in a.events), None)

        decide, publish, end = emitting("decided"), emitting(nt.START_EVENT), emitting(nt.END_EVENT)
        rule = limit.on_expiry
        objection = rule.unless_recorded[0] if rule is not None and rule.unless_recorded else None
        answer = next((a.id for a in actions if "objection_named_is_open" in a.when), None)
        spec = policy.procedure.action(publish or "")
        if not (decide and publish and end and objection and spec and spec.to):
            return None
        return cls(decide, publish, end, objection, answer, spec.to)


@dataclass
class Refusal:
    """Why an objection cannot be made, as the objector reads it."""

    message: Msg


class PublicityService:
    def __init__(self, policies: dict[str, Policy], calendar: WorkCalendar, default_language: str,
                 channel: Callable[[], str | None], bot_username: Callable[[], str | None], buttons: ButtonData,
                 takers: Callable[[Session, Case, str], list[int]],
                 members: Callable[[Session, Case, set[str]], list[int]]) -> None:
        """`takers(s, case, action)`: the officers who take that action on the case (routing decides, e.g. a
        基础公益 case's publicity stays with the department, 三(末段)); `members(s, case, roles)`: the users
        holding those roles on the case."""
        self.policies = policies
        self.calendar = calendar
        self.default_language = default_language
        self.channel = channel
        self.bot_username = bot_username
        self.buttons = buttons
        self.takers = takers
        self.members = members

    # -- small helpers ------------------------------------------------------------------------------------
    def steps(self, case: Case) -> Steps | None:
        policy = self.policies.get(case.policy_key)
        return Steps.of(policy) if policy is not None else None

    def language(self, s: Session, user_id: int) -> str:
        user = s.get(User, user_id)
        return (user.language if user is not None and user.language else None) or self.default_language

    @staticmethod
    def _send(s: Session, chat_id: int, key: str, text: str, dedupe: str, case: Case | None,
              buttons: Buttons | None = None, **params: Any) -> Outbox | None:
        data = dict(params)
        if buttons:
            data["buttons"] = [[[label, value] for label, value in row] for row in buttons]
        return cr.enqueue(s, chat_id, key, data, text, dedupe, case.id if case else None)

    def notice(self, s: Session, case: Case, publicity: pub.Publicity, today: dt.date) -> Notice | None:
        return nt.notice_for(s, self.policies[case.policy_key], case, publicity, self.calendar, today,
                            self.bot_username())

    # -- the procedure moved: called by the officers' side for every action it records ------------------------
    def recorded(self, s: Session, case: Case, action_id: str, values: dict[str, Any], event_id: int,
                 actor_id: int | None, now: dt.datetime) -> None:
        steps = self.steps(case)
        if steps is None:
            return
        today = cr.shanghai_date(now)
        if action_id == steps.decide:
            self._decided(s, case, steps, values, event_id, today)
        elif action_id == steps.publish:
            self._published(s, case, values, event_id, actor_id, now)
        elif action_id == steps.answer:
            self._answered(s, case, values, actor_id, now)
        elif action_id == steps.end:
            self._ended(s, case, values, now)

    def _decided(self, s: Session, case: Case, steps: Steps, values: dict[str, Any], event_id: int,
                 today: dt.date) -> None:
        """A favourable decision is publicised (三(五)): the officers who publicise get the notice to paste, the
        .docx and the form to record the publication."""
        policy = self.policies[case.policy_key]
        option = nt.outcome_option(policy, steps.decide, values)
        if option is None or option.favourable is not True:
            return
        publicity = pub.ensure_publicity(s, case)
        notice = self.notice(s, case, publicity, today)
        if notice is None:
            return
        for user_id in self.takers(s, case, steps.publish):
            lang = self.language(s, user_id)
            self._send(s, user_id, "publicity.officer.notice", nt.text_of(notice.lines(), lang),
                       f"pub:{case.id}:prepared:{event_id}:{user_id}:text", case)
            text = t("publicity.officer.prepared", lang, number=case.number, policy=policy.short_name.get(lang),
                     today=render(written_date(today), lang), clause=notice_clause(policy),
                     last=render(written_date(notice.period.last_day), lang))
            buttons: Buttons = [[(t("publicity.btn.docx", lang), self.buttons.notice_docx(case))],
                                [(t("publicity.btn.record", lang), self.buttons.record_publication(case))]]
            self._send(s, user_id, "publicity.officer.prepared", text,
                       f"pub:{case.id}:prepared:{event_id}:{user_id}:form", case, buttons)

    def _published(self, s: Session, case: Case, values: dict[str, Any], event_id: int, actor_id: int | None,
                   now: dt.datetime) -> None:
        """The notice is up on the portal: the channel, the applicant, the unit and the followers get it."""
        policy = self.policies[case.policy_key]
        publicity = pub.ensure_publicity(s, case)
        publicity.published_url = str(values.get("url") or "") or None
        day = values.get("published_on")
        publicity.published_on = dt.date.fromisoformat(day) if isinstance(day, str) else cr.shanghai_date(now)
        publicity.recorded_at, publicity.recorded_by = now, actor_id
        s.add(publicity)
        s.flush()
        notice = self.notice(s, case, publicity, cr.shanghai_date(now))
        if notice is None:
            return
        channel = self.channel()
        if channel and publicity.post_outbox_id is None:
            lang = self.default_language
            row = self._send(s, channel_chat_id(channel), "publicity.channel.post", nt.text_of(notice.lines(), lang),
                             f"pub:{case.id}:channel:post", case,
                             [[(t("publicity.btn.object", lang), {"start": publicity.payload})]],
                             chat=channel)
            if row is not None:
                publicity.post_outbox_id, publicity.channel = row.id, channel
        # the applicant is told by the procedure's own note (note.publicity_started, in their case's envelope,
        # the portal address with it): a second message here would tell them twice
        told: set[int] = {case.applicant_id}
        for user_id, tail in self._audience(s, case, told):
            lang = self.language(s, user_id)
            text = t("publicity.push.notice", lang, policy=policy.short_name.get(lang),
                     notice=nt.text_of(notice.lines(), lang), tail=t(tail, lang))
            buttons: Buttons = [[(t("publicity.btn.object", lang), {"start": publicity.payload})]]
            self._send(s, user_id, "publicity.push.notice", text, f"pub:{case.id}:start:{user_id}", case, buttons)

    def _audience(self, s: Session, case: Case, told: set[int], objectors: bool = False) -> list[tuple[int, str]]:
        """Who hears of the publicity besides the applicant, each once, with the line saying why: the
        undertaking unit's reviewers, (at the end) the objectors, then the followers — a follower who blocked
        the bot is skipped (the outbox recorded the block when a message bounced)."""
        out: list[tuple[int, str]] = []
        for user_id in self.members(s, case, {"unit_reviewer"}):
            if user_id not in told:
                told.add(user_id)
                out.append((user_id, "publicity.tail.unit"))
        if objectors:
            for objection in pub.objections_of_case(s, case.id or 0):
                if objection.objector_id not in told:
                    told.add(objection.objector_id)
                    out.append((objection.objector_id, "publicity.tail.objector"))
        for user_id in pub.followers(s, case.policy_key):
            if user_id in told:
                continue
            user = s.get(User, user_id)
            if user is not None and user.blocked_bot:
                continue
            told.add(user_id)
            out.append((user_id, "publicity.tail.follower"))
        return out

    def _tell_applicant(self, s: Session, case: Case, key: str, told: set[int], dedupe: str,
                        **params: Any) -> None:
        """The applicant's own notification, in their case's envelope (like every step of their case)."""
        policy = self.policies[case.policy_key]
        lang = self.language(s, case.applicant_id)
        resolved = {k: (v(lang) if callable(v) else v) for k, v in params.items()}
        body = t(key, lang, number=case.number, **resolved)
        text = t("note.envelope", lang, number=case.number, policy=policy.short_name.get(lang), body=body,
                 clause=notice_clause(policy))
        self._send(s, case.applicant_id, key, text, dedupe, case,
                   [[(t("publicity.btn.my_case", lang), self.buttons.open_case(case))]], number=case.number)
        told.add(case.applicant_id)

    def _answered(self, s: Session, case: Case, values: dict[str, Any], actor_id: int | None,
                  now: dt.datetime) -> None:
        """The officers answered an objection: a public one is marked answered and its objector told the
        handling opinion (三(五) "提出调查处理意见"); the verification stays with the officers."""
        number = values.get("objection")
        if not isinstance(number, int | float):
            return
        objection = pub.objection_by_number(s, case.id or 0, int(number))
        if objection is None or objection.status != "open":
            return
        objection.status = "answered"
        objection.verification = str(values.get("verification") or "")
        objection.opinion = str(values.get("opinion") or "")
        objection.answered_at, objection.answered_by = now, actor_id
        objection.updated_at = now
        s.add(objection)
        lang = self.language(s, objection.objector_id)
        project = nt.project_name(case)
        text = t("publicity.obj.answered", lang, reference=objection.reference, project=project,
                 opinion=objection.opinion)
        self._send(s, objection.objector_id, "publicity.obj.answered", text,
                   f"pub:obj:{objection.id}:answered", case)

    def _ended(self, s: Session, case: Case, values: dict[str, Any], now: dt.datetime) -> None:
        """The period ended (by itself or by an officer): the post is edited with the outcome and everyone who
        heard of the publicity hears how it ended."""
        policy = self.policies[case.policy_key]
        publicity = pub.publicity_of(s, case.id or 0)
        outcome = nt.outcome_label(policy, values)
        if publicity is None or outcome is None:
            return
        count = nt.objection_count(s, case.id or 0)
        publicity.ended_at, publicity.objections_at_end = now, count
        publicity.outcome = str(values.get("outcome") or "")
        s.add(publicity)
        today = cr.shanghai_date(now)
        notice = self.notice(s, case, publicity, today)
        if notice is None:
            return
        ended_lines = ended_notice(notice, count, outcome, today)
        if publicity.post_outbox_id is not None and publicity.channel:
            lang = self.default_language
            self._send(s, channel_chat_id(publicity.channel), "publicity.channel.edit",
                       nt.text_of(ended_lines, lang), f"pub:{case.id}:channel:end", case,
                       chat=publicity.channel, edit_of=publicity.post_outbox_id)
        told: set[int] = {case.applicant_id}  # told by the procedure's note.publicity_ended, with the reasons
        for user_id, tail in self._audience(s, case, told, objectors=True):
            lang = self.language(s, user_id)
            text = t("publicity.push.ended", lang, policy=policy.short_name.get(lang),
                     project=nt.project_name(case), outcome=render(outcome_text(count, outcome), lang),
                     period=render(_period_line(notice.period), lang), tail=t(tail, lang))
            self._send(s, user_id, "publicity.push.ended", text, f"pub:{case.id}:end:{user_id}", case)

    # -- objections from the public --------------------------------------------------------------------------
    def open_publicity(self, s: Session, payload: str, user_id: int, today: dt.date,
                       lock: bool = False) -> tuple[pub.Publicity, Case, Steps, Period] | Refusal:
        """The publicity a deep link names, if an objection can be made on it today by this person; else why
        not. `lock`: lock the case row first (the submission does, so the end of the period waits for it or
        is seen by it)."""
        publicity = pub.by_payload(s, payload) if pub.valid_payload(payload) else None
        if publicity is None:
            return Refusal(msg("publicity.obj.err.unknown"))
        case = pub.lock_case(s, publicity.case_id) if lock else s.get(Case, publicity.case_id)
        policy = self.policies.get(case.policy_key) if case is not None else None
        steps = Steps.of(policy) if policy is not None else None
        if case is None or policy is None or steps is None:
            return Refusal(msg("publicity.obj.err.unknown"))
        project = nt.project_name(case)
        if case.applicant_id == user_id or user_id in self.members(s, case, {"officer", "unit_reviewer"}):
            return Refusal(msg("publicity.obj.err.own", project=project))
        period = nt.period_of(s, policy, case, self.calendar, today)
        if period is None or publicity.published_on is None:
            return Refusal(msg("publicity.obj.err.not_started", project=project))
        dates = {"first": written_date(period.first_day), "last": written_date(period.last_day), "project": project}
        if publicity.ended_at is not None or case.state != steps.publicity_state:
            return Refusal(msg("publicity.obj.err.closed", **dates))
        if today > period.last_day:
            return Refusal(msg("publicity.obj.err.late", **dates, today=written_date(today)))
        return publicity, case, steps, period

    def submit(self, s: Session, payload: str, user_id: int, name: str, contact: str, grounds: str,
               evidence: list[dict[str, Any]], now: dt.datetime) -> tuple[pub.Objection, bool] | Refusal:
        """Record an objection (or add to this person's open one on the same case: `merged` True), with the
        case row locked: an objection and the end of the period never both take effect, and one made after
        the last day or on a publicity that has ended is refused with the dates."""
        today = cr.shanghai_date(now)
        opened = self.open_publicity(s, payload, user_id, today, lock=True)
        if isinstance(opened, Refusal):
            return opened
        publicity, case, steps, period = opened
        existing = pub.objection_of(s, case.id or 0, user_id)
        if existing is not None:
            if existing.status != "open":
                return Refusal(msg("publicity.obj.err.answered", reference=existing.reference,
                                   project=nt.project_name(case)))
            existing.supplements = [*existing.supplements, {"at": now.isoformat(), "name": name, "contact": contact,
                                                            "grounds": grounds, "evidence": evidence}]
            existing.updated_at = now
            s.add(existing)
            s.flush()
            self._tell_officers(s, case, steps, existing, supplement=len(existing.supplements))
            return existing, True
        policy = self.policies[case.policy_key]
        reference = pub.next_reference(s, policy.case_prefix, today.year)
        line = cr.add_event(s, case.id, None, "public", steps.objection, case.state, case.state,
                            {"text": reference, "reference": reference, "source": "public"}, at=now)
        number = nt.objection_count(s, case.id or 0)
        objection = pub.Objection(case_id=case.id or 0, publicity_id=publicity.id or 0, reference=reference,
                                number=number, objector_id=user_id, name=name, contact=contact, grounds=grounds,
                                evidence=evidence, created_at=now, updated_at=now)
        s.add(objection)
        s.flush()
        self._tell_officers(s, case, steps, objection)
        told: set[int] = set()
        self._tell_applicant(s, case, "publicity.note.objection", told, f"pub:obj:{objection.id}:applicant",
                             reference=reference,
                             last=lambda lang: render(written_date(period.last_day), lang))
        log.info("objection %s on case %s (audit line %s)", reference, case.number, line.id)
        return objection, False

    def _tell_officers(self, s: Session, case: Case, steps: Steps, objection: pub.Objection,
                       supplement: int | None = None) -> None:
        """The case's officers see the objection at once, with who made it (only they ever do) and the
        button that opens its verification form."""
        takers = self.takers(s, case, steps.answer) if steps.answer else []
        for user_id in takers or self.members(s, case, {"officer"}):
            lang = self.language(s, user_id)
            entry = objection.supplements[-1] if supplement else None
            grounds = entry["grounds"] if entry else objection.grounds
            files = entry["evidence"] if entry else objection.evidence
            key = "publicity.officer.supplement" if supplement else "publicity.officer.objection"
            text = t(key, lang, number=case.number, reference=objection.reference, n=objection.number,
                     name=objection.name, contact=objection.contact, grounds=grounds,
                     files=files_text(files, lang))
            buttons: Buttons = []
            if steps.answer:
                buttons.append([(t("publicity.btn.verify", lang, n=objection.number),
                                 self.buttons.verify(case, objection.number))])
            if objection.evidence or any(e.get("evidence") for e in objection.supplements):
                buttons.append([(t("publicity.btn.evidence", lang), self.buttons.evidence(objection))])
            self._send(s, user_id, key, text, f"pub:obj:{objection.id}:{supplement or 0}:officer:{user_id}", case,
                       buttons)


def notice_clause(policy: Policy) -> str:
    limit = nt.publicity_limit(policy)
    return limit.clause if limit is not None else "—"


def _period_line(period: Period) -> Text:
    return period_text(period)


def files_text(files: list[dict[str, Any]], lang: str) -> str:
    if not files:
        return t("publicity.files.none", lang)
    names = t("publicity.files.sep", lang).join(typed(f.get("file_name") or "—") for f in files)
    return t("publicity.files.some", lang, n=len(files), names=names)


def channel_chat_id(channel: str) -> int:
    """The outbox row's chat id for a channel: its numeric id when configured as one, else 0 and the
    @username travels in the row's params (`chat`), which the sender uses instead."""
    try:
        return int(channel)
    except ValueError:
        return 0

