"""The officers' side and the applicant's case file, one module per job:

    desk.py        what every part shares: policies, procedures, calendar, roles, refusals
    labels.py      words for what the case file stores: labels, values, the audit trail read out
    routing.py     who can act on a case now; which cases nobody can act on
    notify.py      messages owed: the applicant, the members who must act, the admins
    membership.py  invitations (named, or confirmed by an admin; stored hashed), members, revoking
    units.py       the unit registry (/units), moving a case, the wizard's search and proposal
    queue.py       /queue and /status
    case_file.py   one case's file for the person looking
    forms.py       an action's declared fields on one screen
    actions.py     taking an action: checks, commit, expiry
    files.py       the .docx, /timeline and /ics
    flow.py        the entry points the router calls

Who may see a case and with which roles is answered in one place for chat, console and web desk:
storage/access.py.
"""

from bot.officer.files import DocumentFlow
from bot.officer.flow import OfficerFlow

__all__ = ["DocumentFlow", "OfficerFlow"]
