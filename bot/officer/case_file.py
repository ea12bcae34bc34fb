"""One case's file as the person looking at it may see it.

Staff (and admins, who route cases) read everything the applicant gave — including the negative-list
answers and the materials marked "later" — the unit the case belongs to in the registry, the expert panel
so far, the clocks and the audit trail in words. The applicant reads their own file: where it stands,
every decision with the reasons given, what they owe next with its deadline and clause, and their
documents. Rendering only: who may open the file is decided by the caller (bot/officer/flow.py) through
storage/access.py, and the web desk reuses `CaseFileView.text_blocks`.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.callbacks import DOCX, Admin, CaseAction, FileKind, Files, encode, encode_wizard
from bot.i18n import render, t, tn
from bot.limits import TEXT_LIMIT, split, utf16_len
from bot.officer.desk import Desk
from bot.officer.labels import Labels, short
from bot.officer.routing import Routing
from bot.reply import View
from dialogs.answers import items_for
from dialogs.policy import ProcAction
from dialogs.screens import status_text
from storage import access, repo, securitylog, units
from storage import caserepo as cr
from storage.models import Case, Draft, User

AUDIT_SHOWN = 15
MOVE_SUGGESTIONS = 4
Buttons = list[list[tuple[str, str]]]


class CaseFileView:
    def __init__(self, desk: Desk, labels: Labels, routing: Routing) -> None:
        self.desk = desk
        self.labels = labels
        self.routing = routing

    # -- pieces ----------------------------------------------------------------------------------------
    def panel_progress(self, s: Session, case: Case, lang: str) -> str | None:
        """"已记录 3/5（技术专家 2，财务专家 1）" and what is still needed, while a panel is being recorded."""
        if not self.desk.has_procedure(case):
            return None
        proc = self.desk.procedures.procedure(case.policy_key)
        if not proc.panel_kinds:
            return None
        spec = next((a for a in proc.actions for f in a.fields
                     if {o.id for o in f.options} >= set(proc.panel_kinds)), None)
        if spec is None or case.state not in spec.source:
            return None
        kind_field = next(f for f in spec.fields if {o.id for o in f.options} >= set(proc.panel_kinds))
        names: dict[str, set[str]] = {k: set() for k in proc.panel_kinds}
        for record in self.desk.case_file(s, case).history:
            kind, name = record.values.get(kind_field.id), str(record.values.get("name", "")).strip().casefold()
            if record.action == spec.id and kind in names and name:
                names[kind].add(name)
        total = len(set().union(*names.values()))
        need = proc.panel_min or 1
        kinds = t("off.panel.sep", lang).join(
            t("off.panel.kind", lang, label=o.label.get(lang), n=len(names[o.id]))
            for o in kind_field.options if o.id in names)
        missing = [o.label.get(lang) for o in kind_field.options if o.id in names and not names[o.id]]
        still = []
        if total < need:
            still.append(tn("off.panel.need_more", need - total, lang))
        if missing:
            still.append(t("off.panel.need_kind", lang, kinds=t("off.panel.sep", lang).join(missing)))
        return t("off.panel.progress", lang, n=total, min=need, kinds=kinds,
                 still=t("off.panel.still", lang, items=t("off.panel.sep", lang).join(still)) if still
                 else t("off.panel.complete", lang))

    def _answers(self, s: Session, case: Case, lang: str) -> str:
        policy = self.desk.policies[case.policy_key]
        answers = case.answers if isinstance(case.answers, dict) else {}
        project = answers.get("project", {}) if isinstance(answers.get("project"), dict) else {}
        fields = "\n".join(f"· {f.label.get(lang)}: {self.labels.project_value(f, project.get(f.id), lang)}"
                           for f in policy.project_fields)
        grounds = "\n".join(f"· {short(i.text.get(lang), 120)}（{i.clause}）" for i in policy.grounds.items
                            if i.id in answers.get("grounds", []))
        kind = next((o.label.get(lang) for o in policy.applicant_kinds if o.id == answers.get("applicant_kind")), "—")
        role = next((o.label.get(lang) for o in policy.roles if o.id == answers.get("role")), "—")
        origin = policy.origin(str(answers.get("origin", "")))
        applicant = s.get(User, case.applicant_id)
        negative = answers.get("negative", {}) if isinstance(answers.get("negative"), dict) else {}
        neg_lines = "\n".join(
            t("off.case.negative_item", lang, question=short(i.text.get(lang), 120), clause=i.clause,
              answer=t("off.case.yes", lang) if negative.get(i.id) is True else t("off.case.no", lang)
              if negative.get(i.id) is False else t("off.case.unanswered", lang))
            for i in items_for(policy.negative, answers)) if policy.negative is not None else ""
        return t("off.case.answers", lang,
                 applicant=(applicant.first_name if applicant else "") or case.applicant_id, user=case.applicant_id,
                 kind=kind, role=role, origin=origin.label.get(lang) if origin else "—",
                 start=answers.get("start_date") or "—", project=fields, grounds=grounds or "—",
                 negative=neg_lines or "—", facts=short(str(answers.get("facts", "—")), 800))

    def _unit_line(self, s: Session, case: Case, lang: str) -> str | None:
        typed = access.project_of(case).get("unit")
        if not typed or not units.units_of(s, case.policy_key) and not self.routing.needed_roles(case) & access.UNIT_ROLES:
            return None
        unit = units.case_unit(s, case)
        if unit is None:
            return t("off.case.unit_unmatched", lang, typed=typed)
        return t("off.case.unit", lang, typed=typed, name=unit.name, id=unit.id,
                 proposed=t("off.units.proposed_mark", lang) if unit.status == "proposed" else "")

    def _materials(self, s: Session, case: Case, lang: str, applicant_view: bool) -> tuple[str | None, Buttons]:
        policy = self.desk.policies[case.policy_key]
        answers = case.answers if isinstance(case.answers, dict) else {}
        label_of = {m.id: m.label.get(lang) for m in policy.materials}
        uploads = repo.uploads_for(s, case.draft_id)
        docs = cr.documents(s, case.id or 0)
        later = [label_of.get(m, m) for m in answers.get("materials_later", []) if m in label_of]
        items = [t("off.case.material_item", lang, label=label_of.get(u.material_id, u.material_id),
                   file=u.file_name or "—") for u in uploads]
        items += [t("off.case.material_item", lang, label=self.labels.action_label(case, d.kind, lang),
                    file=d.file_name or "—") for d in docs]
        if later:
            items.append(t("off.case.materials_later", lang, items=t("off.list.sep", lang).join(later)))
        buttons: list[tuple[str, str]] = [(f"📄 {u.file_name[:24]}", encode(CaseAction.SEND_FILE, FileKind.UPLOAD, u.id or 0))
                                          for u in uploads]
        buttons += [(f"📄 {d.file_name[:24]}", encode(CaseAction.SEND_FILE, FileKind.DOCUMENT, d.id or 0)) for d in docs]
        rows = [buttons[i:i + 2] for i in range(0, min(len(buttons), 12), 2)]
        if applicant_view:
            draft = s.get(Draft, case.draft_id)
            if draft is not None and draft.user_id == case.applicant_id:
                rows.append([(t("off.btn.application_docx", lang), encode_wizard(draft.id or 0, draft.revision, DOCX))])
        if not items:
            return None, rows
        return t("off.case.materials", lang, items="\n".join(items)), rows

    def _owed(self, s: Session, case: Case, lang: str) -> str | None:
        """What the applicant owes next (a nudge of the policy: requested material, the report) and what they
        may still do, each with its clause and deadline."""
        if self.desk.is_final(case):
            return None
        proc = self.desk.procedures.procedure(case.policy_key)
        case_file = self.desk.case_file(s, case)
        available = [a for a in self.desk.procedures.available(case.policy_key, case_file, {"applicant"},
                                                               self.desk.today())]
        if not available:
            return None
        owed_ids = set()
        for nudge in proc.nudges:
            if nudge.in_state is not None and nudge.in_state == case.state:
                owed_ids.add(nudge.until_action)
            if nudge.after_action is not None:
                last_ask = max((i for i, r in enumerate(case_file.history) if r.action == nudge.after_action), default=-1)
                last_done = max((i for i, r in enumerate(case_file.history) if r.action == nudge.until_action),
                                default=-1)
                if last_ask > last_done:
                    owed_ids.add(nudge.until_action)
        clocks = {c.limit.id: c for c in self.desk.clocks(s, case)}
        must, may = [], []
        for a in available:
            deadline = t("off.owe.no_period", lang)
            if a.within is not None and (c := clocks.get(a.within)) is not None and c.due is not None:
                deadline = t("off.owe.until", lang, due=c.due.date.isoformat())
            owed = a.id in owed_ids
            line = dict(action=a.label.get(lang), clause=a.clause or "—", deadline=deadline)
            (must if owed else may).append(t("off.owe.must", lang, **line) if owed else t("off.owe.may", lang, **line))
        return t("off.owe.title", lang, items="\n".join(must + may))

    # -- the whole file ----------------------------------------------------------------------------------
    def text_blocks(self, s: Session, case: Case, roles: set[str], lang: str) -> list[str]:
        """The file's text, block by block (the desk shows the same blocks)."""
        policy = self.desk.policies[case.policy_key]
        staff = bool(roles - {access.APPLICANT})
        applicant_view = access.APPLICANT in roles and not staff
        document, status = policy.document.get(lang), render(status_text(policy, self.desk.today()), lang)
        blocks = [t("off.case.header", lang, number=case.number, policy=policy.short_name.get(lang),
                    document=document, state=self.labels.state_label(case, lang),
                    # a title that already names its status (Zhejiang "……（征求意见稿）") is not followed by it again
                    status="" if status.lower() in document.lower() else t("off.case.doc_status", lang, status=status))]
        if staff:
            blocks.append(self._answers(s, case, lang))
            if (unit_line := self._unit_line(s, case, lang)) is not None:
                blocks.append(unit_line)
            stranded = self.routing.stranded(s, case)
            if stranded is not None:
                from_notices = t(stranded.reason, lang, unit=stranded.unit or "—", typed=stranded.typed_unit or "—",
                                 roles="—", level=stranded.level or "—", policy=policy.short_name.get(lang))
                blocks.append(t("off.case.stranded", lang, reason=from_notices))
        if (panel := self.panel_progress(s, case, lang)) is not None:
            blocks.append(panel)
        materials, _rows = self._materials(s, case, lang, applicant_view)
        if materials:
            blocks.append(materials)
        clock_lines = [line for c in self.desk.clocks(s, case) if (line := self.labels.clock_line(c, lang))]
        if clock_lines:
            blocks.append(t("off.case.clocks", lang, items="\n".join(clock_lines)))
        if applicant_view:
            outcomes = self.labels.outcome_lines(s, case, lang)
            if outcomes:
                blocks.append(t("off.file.outcomes", lang, items="\n".join(outcomes)))
            if (owed := self._owed(s, case, lang)) is not None:
                blocks.append(owed)
        trail = self.labels.trail(s, case, staff)
        if trail:
            blocks.append(t("off.case.audit", lang, items="\n".join(
                self.labels.audit_line(s, case, e, lang, staff) for e in trail[-AUDIT_SHOWN:])))
        if staff and (count := securitylog.count_for_case(s, case.id or 0)):
            blocks.append(tn("off.case.security", count, lang))
        return blocks

    def action_buttons(self, s: Session, case: Case, roles: set[str], viewer: int | None = None) -> list[ProcAction]:
        """The actions whose buttons the viewer gets: none on their own case (except the applicant's), and of
        an officer's only those their level takes (`viewer`'s officer memberships, Policy.routing)."""
        if not self.desk.has_procedure(case):
            return []
        levels = (self.desk.officer_levels(s, viewer, case)
                  if viewer is not None and access.OFFICER in roles else None)
        acts = self.desk.procedures.available(case.policy_key, self.desk.case_file(s, case), roles,
                                              self.desk.today(), levels)
        return [a for a in acts if not (a.role != access.APPLICANT and access.APPLICANT in roles)]

    def view(self, s: Session, case: Case, roles: set[str], lang: str, notice: str | None = None,
             viewer: int | None = None) -> View:
        staff = bool(roles - {access.APPLICANT})
        applicant_view = access.APPLICANT in roles and not staff
        blocks = self.text_blocks(s, case, roles, lang)
        if notice:
            blocks.append(notice)
        buttons: Buttons = []
        _materials, file_rows = self._materials(s, case, lang, applicant_view or access.APPLICANT in roles)
        buttons += file_rows
        for action in self.action_buttons(s, case, roles, viewer):
            buttons.append([(action.label.get(lang), encode(CaseAction.START_ACTION, case.id or 0, case.state, action.id))])
        if access.ADMIN in roles:
            buttons += self._move_buttons(s, case, lang)
        buttons.append([(t("doc.btn.timeline", lang), encode(Files.TIMELINE, case.id or 0)),
                        (t("doc.btn.ics", lang), encode(Files.ICS, case.id or 0))])
        buttons.append([(t("off.btn.queue", lang), encode(CaseAction.QUEUE))] if staff
                       else [(t("off.btn.status", lang), encode(CaseAction.STATUS))])
        text = "\n\n".join(blocks)
        if utf16_len(text) <= TEXT_LIMIT:
            return View(text, buttons)
        parts = split(text, TEXT_LIMIT)  # a long file is sent as several messages, the buttons on the last
        return View(parts[-1], buttons, preface=parts[:-1])

    def _move_buttons(self, s: Session, case: Case, lang: str) -> Buttons:
        """For an admin: move the case to a registry unit its typed name resembles (the rest: /units move)."""
        if not (self.routing.needed_roles(case) & access.UNIT_ROLES or units.units_of(s, case.policy_key)):
            return []
        if self.desk.is_final(case):
            return []
        current = units.case_unit(s, case)
        typed = str(access.project_of(case).get("unit") or "")
        found = [u for u in units.search(s, case.policy_key, typed, MOVE_SUGGESTIONS + 1)
                 if current is None or u.id != current.id][:MOVE_SUGGESTIONS]
        return [[(t("off.btn.move_to", lang, name=u.name[:30]), encode(Admin.MOVE_CASE, case.id or 0, u.id or 0))]
                for u in found]
