"""The publicity in public plugged into the bot: the service told of every recorded action (the officers'
side calls it in the action's transaction), the buttons its messages carry in the bot's codec, and who
takes a publicity step on a case (the officers' own routing decides, e.g. 三(末段))."""

from __future__ import annotations

from sqlmodel import Session

from bot.callbacks import CaseAction, Publicity, encode
from bot.config import Settings
from bot.officer import OfficerFlow
from bot.publicity.dialog import PublicityDialog
from bot.publicity.service import PublicityService
from dialogs.policy import Policy
from scheduler.calendar import WorkCalendar
from storage import caserepo as cr
from storage.models import Case
from storage.publicity import Objection


class Buttons:
    """The callback data of the publicity messages' buttons."""

    def __init__(self, service: PublicityService | None = None) -> None:
        self.service = service

    def open_case(self, case: Case) -> str:
        return encode(CaseAction.OPEN, case.id or 0)

    def record_publication(self, case: Case) -> str:
        steps = self.service.steps(case) if self.service is not None else None
        return encode(CaseAction.START_ACTION, case.id or 0, case.state,
                      steps.publish if steps is not None else "publicise")

    def notice_docx(self, case: Case) -> str:
        return encode(Publicity.NOTICE_DOCX, case.id or 0)

    def verify(self, case: Case, number: int) -> str:
        steps = self.service.steps(case) if self.service is not None else None
        answer = steps.answer if steps is not None and steps.answer else "answer"
        state = steps.publicity_state if steps is not None else case.state
        return encode(CaseAction.START_ACTION, case.id or 0, state, answer)

    def evidence(self, objection: Objection) -> str:
        return encode(Publicity.EVIDENCE, objection.id or 0)


def publicity_for(policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings,
                  officers: OfficerFlow) -> PublicityDialog:
    desk = officers.desk

    def members(s: Session, case: Case, roles: set[str]) -> list[int]:
        seen: list[int] = []
        for m in cr.members_for_case(s, case, roles):
            if m.user_id not in seen and m.user_id != case.applicant_id:
                seen.append(m.user_id)
        return seen

    def takers(s: Session, case: Case, action: str) -> list[int]:
        return [u for u in members(s, case, {"officer"}) if desk.officer_may_take(s, u, case, action)]

    buttons = Buttons()
    service = PublicityService(policies, calendar, settings.default_language,
                               lambda: settings.publicity_channel or None, lambda: officers.bot_username,
                               buttons, takers, members)
    buttons.service = service
    officers.actions.on_recorded = service.recorded
    return PublicityDialog(service, settings.now)
