"""Message keys that code elsewhere builds at run time (`t(f"off.role.{role}")`), declared for Babel's
extractor so that `python -m bot.i18n_tools check` sees every key the catalogues hold.

Keys written as literals at their use need no entry here. Each family below names the file that builds it;
whoever next changes that file should declare the family there, next to its use (as dialogs/steps.py does
with STEP_TITLES), and delete it here. A key used only through a variable and declared nowhere is
reported by the check as "in the catalogue but never extracted".
"""

from __future__ import annotations

from dialogs.text import N_

# bot/officer/forms.py (the prompt of each field kind) and bot/officer/labels.py (clock lines); the officer
# side's other families are declared next to their use (labels.py, membership.py, routing.py, storage/units.py)
OFFICER = (
    N_("off.form.kind.choice"), N_("off.form.kind.date"), N_("off.form.kind.number"), N_("off.form.kind.text"),
    N_("off.clock.overdue"), N_("off.clock.running"),
)
# storage/exofficio.py: the person's notice when an organ opens a case ex officio (Yunnan 第六条(二)), kept for
# the outbox; the chat side (bot/officer/exofficio.py) answers the person with exo.claimed
EX_OFFICIO = (N_("rules.note.ex_officio"),)
# dialogs/procedure.py: the refusal of each named guard
GUARDS = (
    N_("proc.guard.consulted_required"), N_("proc.guard.correction_ordered"), N_("proc.guard.evaluation_closed"),
    N_("proc.guard.evaluation_open"), N_("proc.guard.favourable"), N_("proc.guard.hearing_closed"),
    N_("proc.guard.hearing_open"), N_("proc.guard.not_paused"), N_("proc.guard.objection_named_is_open"),
    N_("proc.guard.objections_answered"), N_("proc.guard.publicity_over"), N_("proc.guard.unfavourable"),
    N_("proc.guard.panel_kinds"), N_("proc.guard.panel_short"), N_("proc.guard.exempted"),
    N_("proc.guard.not_exempted"),
)
# scheduler/reminders.py: reminder texts chosen by audience and point; bot/officer/labels.py: the day units
REMINDERS = (
    N_("rem.applicant.last_day"), N_("rem.applicant.left"), N_("rem.officer.due_today"), N_("rem.officer.half"),
    N_("rem.officer.left"), N_("rem.officer.overdue"), N_("rem.unit_wd"), N_("rem.unit_days"),
)
# bot/documents/*: the .ics parties and units, the timeline's legend
DOCUMENTS = (
    N_("doc.ics.party.applicant"), N_("doc.ics.party.authority"),
    N_("doc.unit.calendar_days"), N_("doc.unit.working_days"), N_("doc.tl.legend.overdue"),
    N_("doc.tl.legend.running"), N_("doc.tl.legend.stopped"), N_("doc.tl.paused"), N_("doc.tl.unset"),
)
# bot/documents/application.py: the 申请书's title, request, status words and identity labels, by term and kind
APPLICATION = (
    N_("app.title.tolerance"), N_("app.title.due_diligence"), N_("app.request.tolerance"),
    N_("app.request.due_diligence"), N_("app.id.person.name"), N_("app.id.person.title"),
    N_("app.id.person.phone"), N_("app.id.unit.name"), N_("app.id.unit.responsible"), N_("app.id.unit.title"),
    N_("app.id.unit.phone"), N_("app.subject.person"), N_("app.subject.unit"), N_("app.yes"), N_("app.no"),
    N_("app.conditions.all"), N_("app.conditions.some"), N_("app.conditions.one_of"), N_("app.grounds"), N_("app.declared"),
    N_("app.declared_draft"), N_("app.not_declared"),
)
# scheduler/clocks.py: the short form of the 民法典第二百零三条 note (tests/test_calendar_messages.py reads it)
CALENDAR = (N_("cal.rolled_short"),)
# bot/__main__.py: printed inside an f-string before the catalogue's renderer is involved
STARTUP = (N_("bot.schema_refused"),)

# `t("a" if c else "b")` reads to Babel's extractor as one key "ab". Until these lines are written as
# `t("a") if c else t("b")`, their artifacts are named here so that neither the check nor `update` takes
# them for keys (both real keys are declared above).
EXTRACTOR_ARTIFACTS = {
    "app.yesapp.no": "bot/documents/application.py (a negative-list answer)",
    "rem.unit_wdrem.unit_days": "bot/officer/labels.py (clock_line's unit)",
}
