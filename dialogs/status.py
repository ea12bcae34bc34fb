"""What a policy's legal status is, in full, as texts the screens, the case file and the 申请书 show.

The header of every screen carries the short form (`short_status`); where a user chooses a policy or
reads a case, `status_lines` gives everything the file says: the stage, the document number, the dates
of effect and validity with their clause, and the policy file's own `status_note` (e.g. Yunnan's "是否
延续适用请向云南省科学技术厅核实"). A lapsed document must be confirmed by the researcher after reading
why (`needs_confirmation`; the wizard checks it through dialogs.answers.step_problem).
"""

from __future__ import annotations

import datetime as dt

from dialogs.policy import Policy
from dialogs.text import N_, Msg, Text, msg

STATUS_TEXTS = {"draft_for_comment": N_("status.draft_for_comment"), "in_force": N_("status.in_force"),
                "reform_plan": N_("status.reform_plan")}
"""The short status of a document that has not lapsed, by Policy.status."""
NO_NUMBER = {"draft_for_comment": N_("rules.status.no_number.draft_for_comment"),
             "issued": N_("rules.status.no_number.issued"), "reform_plan": N_("rules.status.no_number.reform_plan")}
"""What the status says of a document without a number, by its stage (Policy.stage)."""


def short_status(policy: Policy, today: dt.date) -> Msg:
    """The one-phrase status of the screen headers: 征求意见稿 / 现行有效 / 有效期已于…届满 / 改革实施方案."""
    status = policy.status(today)
    if status == "lapsed":
        return msg("status.lapsed", until=(policy.valid_until or today).isoformat())
    return msg(STATUS_TEXTS[status])


def status_lines(policy: Policy, today: dt.date) -> list[Text]:
    """Every status fact of the policy file, one text per line, each said once: the head line gives the
    stage or the lapse, the next lines only what it does not (number, dates), then the file's own note."""
    lines: list[Text] = [msg("rules.status.head", status=short_status(policy, today), clause=policy.status_clause)]
    if policy.doc_number:
        lines.append(msg("rules.status.doc_number", number=policy.doc_number))
    else:
        lines.append(msg(NO_NUMBER[policy.stage]))
    if policy.valid_from is not None:
        since = policy.valid_from.isoformat()
        lines.append(msg("rules.status.valid_from", date=since) if policy.valid_from <= today
                     else msg("rules.status.valid_from_future", date=since))
    if policy.valid_until is not None and policy.status(today) != "lapsed":  # a lapse is the head line already
        lines.append(msg("rules.status.valid_until", date=policy.valid_until.isoformat(), clause=policy.status_clause))
    elif policy.valid_until is None and policy.stage == "issued" and policy.status_note is None:
        lines.append(msg("rules.status.no_end"))  # otherwise the note says it (Liaoning: "未规定有效期")
    if policy.status_note is not None:
        lines.append(policy.status_note)
    return lines


def needs_confirmation(policy: Policy, today: dt.date) -> bool:
    """A document whose stated validity has ended is used only after the researcher confirmed, having read
    the status lines, that they still want to apply under it."""
    return policy.status(today) == "lapsed"


def confirmation_prompt(policy: Policy, today: dt.date) -> Text:
    """The question the confirmation screen asks, under the status lines."""
    return msg("rules.status.confirm_prompt", until=(policy.valid_until or today).isoformat(),
               clause=policy.status_clause, name=policy.short_name)
