"""The reusable pieces a wizard step is built from (like aiogram-dialog's widgets, without Telegram).

Each widget renders its part of a screen and handles the presses whose verb it declares: the wizard looks a
press up among the current step's widgets only, so a button of another step can never act here (it is
"stale"). A widget keeps its own position (a form's field, a list's page) in the draft's `_meta`, which the
machine clears on every change of step.

- `SingleChoice`  one of several options, marked ✅; long labels are listed in the message, numbered
- `MultiSelect`   tick any number of items ☐/☑, paged when the list is long
- `YesNoList`     a yes/no answer for each item (gates, a negative list)
- `FieldForm`     one question at a time, "第 k/n 项", Back to the previous field, a review to change any
- `FileList`      the materials: upload per item, "submit later", uploads by name, removable, no duplicates
- `FreeText`      a long typed text (the statement of facts): a second message is appended, not swapped in
- `Pager`         pages of a long list (used by the lists above)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialogs.answers import (
    FACTS_MAX_CHARS,
    FACTS_MIN_CHARS,
    GENERATED_MATERIAL,
    MAX_FIELD_CHARS,
    MAX_UPLOAD_BYTES,
    TYPED_MATERIAL,
    parse_amount,
    parse_phone,
    registry_keys,
    steps_for,
)
from dialogs.model import Outcome, UploadInfo, WizardModel
from dialogs.policy import LText
from dialogs.text import Button, Join, Msg, Plain, Screen, Text, msg, plural

PAGE_SIZE = 8
TYPE_PROMPTS = {"number": msg("wiz.project.type_number"), "phone": msg("wiz.form.type_phone"),
                "text": msg("wiz.project.type_text")}
SHORT_LABEL = {"zh": 12, "en": 24}  # longer option labels go in the message, the button keeps the number
PICK_KEY = "unit_pick"  # _meta: the similar registered units offered for a typed unit name
NUMBERS_PER_ROW = 4
PICK_MAX = 6  # similar units offered at most: more is a list to read, not a choice to make


def mark(flag: bool) -> str:
    return "☑" if flag else "☐"


def ticked(flag: bool) -> Plain:
    return Plain("✅ " if flag else "")


def number_rows(s: Screen, buttons: list[Button]) -> None:
    """Numbered buttons, NUMBERS_PER_ROW to a row: what a phone's row holds of short number buttons."""
    for k in range(0, len(buttons), NUMBERS_PER_ROW):
        s.row(*buttons[k:k + NUMBERS_PER_ROW])


def clause_line(clause: str | None) -> Text:
    return msg("wiz.clause", clause=clause) if clause else msg("wiz.clause_none")


def is_long(label: Text) -> bool:
    """Whether a label is too long for a phone's button in either language."""
    if isinstance(label, LText):
        return len(label.zh) > SHORT_LABEL["zh"] or len(label.en) > SHORT_LABEL["en"]
    if isinstance(label, Plain):
        return len(label.text) > SHORT_LABEL["en"]
    return False


class Widget:
    verbs: frozenset[str] = frozenset()

    def visible(self, m: WizardModel) -> bool:
        return True

    def render(self, m: WizardModel, s: Screen) -> None:
        raise NotImplementedError

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        out.error = msg("err.stale_button")

    def back(self, m: WizardModel) -> bool:
        """Take a Back press inside the widget (a form's previous field); False lets the machine go back."""
        return False

    def takes_text(self, m: WizardModel) -> bool:
        return False

    def text(self, m: WizardModel, text: str, out: Outcome) -> None:
        out.error = msg("err.use_buttons")


# -- pages ---------------------------------------------------------------------------------------------
@dataclass
class Pager:
    """Which page of a long list is shown; `pg:<n>` turns the page."""

    size: int = PAGE_SIZE
    key: str = "page"

    def pages(self, count: int) -> int:
        return max(1, -(-count // self.size))

    def page(self, m: WizardModel, count: int) -> int:
        page = m.meta.get(self.key, 0)
        return page if isinstance(page, int) and 0 <= page < self.pages(count) else 0

    def window(self, m: WizardModel, count: int) -> range:
        first = self.page(m, count) * self.size
        return range(first, min(count, first + self.size))

    def row(self, m: WizardModel, count: int) -> list[Button]:
        pages, page = self.pages(count), self.page(m, count)
        if pages == 1:
            return []
        buttons = []
        if page > 0:
            buttons.append(Button(msg("btn.page_prev"), f"pg:{page - 1}"))
        buttons.append(Button(msg("wiz.page", k=page + 1, n=pages), f"pg:{page}"))
        if page + 1 < pages:
            buttons.append(Button(msg("btn.page_next"), f"pg:{page + 1}"))
        return buttons

    def turn(self, m: WizardModel, arg: str, count: int, out: Outcome) -> None:
        if not (arg.isascii() and arg.isdigit()) or int(arg) >= self.pages(count):
            out.error = msg("err.stale_button")
            return
        m.meta[self.key] = int(arg)
        out.changed = True


# -- one of several -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    id: str
    label: Text
    clause: str | None = None


@dataclass
class SingleChoice(Widget):
    """One option of several; `listed` puts the labels in the message (numbered) when they are long."""

    verb: str
    options: Callable[[WizardModel], Sequence[Choice]]
    get: Callable[[WizardModel], str | None]
    choose: Callable[[WizardModel, str], None]
    show: Callable[[WizardModel], bool] = lambda m: True

    def __post_init__(self) -> None:
        self.verbs = frozenset({self.verb})

    def visible(self, m: WizardModel) -> bool:
        return self.show(m)

    def render(self, m: WizardModel, s: Screen) -> None:
        options = list(self.options(m))
        chosen = self.get(m)
        if any(is_long(o.label) for o in options):
            for i, o in enumerate(options, start=1):
                line = msg("wiz.option_numbered", mark=ticked(o.id == chosen), n=i, label=o.label)
                s.add(msg("wiz.with_clause", text=line, clause=o.clause) if o.clause else line)
            buttons = [Button(Join((ticked(o.id == chosen), Plain(str(i)))), f"{self.verb}:{o.id}")
                       for i, o in enumerate(options, start=1)]
            number_rows(s, buttons)
            return
        for o in options:
            if o.clause:
                s.add(msg("wiz.option_with_clause", label=o.label, clause=o.clause))
            s.row(Button(Join((ticked(o.id == chosen), o.label)), f"{self.verb}:{o.id}"))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        if arg not in {o.id for o in self.options(m)}:
            out.error = msg("err.stale_button")
            return
        self.choose(m, arg)
        out.changed = True


# -- any number of -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListItem:
    id: str
    text: Text
    clause: str


@dataclass
class MultiSelect(Widget):
    """Tick any number of items: the texts, numbered, in the message; buttons ☐ n / ☑ n; paged."""

    items: Callable[[WizardModel], Sequence[ListItem]]
    key: str  # the answers entry: a list of item ids
    verb: str = "t"
    pager: Pager = field(default_factory=Pager)

    def __post_init__(self) -> None:
        self.verbs = frozenset({self.verb, "pg"})

    def render(self, m: WizardModel, s: Screen) -> None:
        items = list(self.items(m))
        chosen = set(m.answers.get(self.key, []))
        window = self.pager.window(m, len(items))
        for i in window:
            item = items[i]
            s.add(msg("wiz.item", mark=mark(item.id in chosen), n=i + 1, text=item.text, clause=item.clause))
        buttons = [Button(Plain(f"{mark(items[i].id in chosen)} {i + 1}"), f"{self.verb}:{i}") for i in window]
        number_rows(s, buttons)
        s.row(*self.pager.row(m, len(items)))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        items = list(self.items(m))
        if verb == "pg":
            self.pager.turn(m, arg, len(items), out)
            return
        if not (arg.isascii() and arg.isdigit()) or int(arg) >= len(items):
            out.error = msg("err.stale_button")
            return
        chosen = list(m.answers.get(self.key, []))
        item_id = items[int(arg)].id
        if item_id in chosen:
            chosen.remove(item_id)
        else:
            chosen.append(item_id)
        m.answers[self.key] = chosen
        out.changed = True


@dataclass
class YesNoList(Widget):
    """A yes/no answer for each item. `by_index` puts the item's number on the wire (a negative list),
    otherwise its id (gates: the answer follows the gate if the list is reordered)."""

    items: Callable[[WizardModel], Sequence[ListItem]]
    key: str  # the answers entry: {item id: bool}
    verb: str
    by_index: bool = True
    show: Callable[[WizardModel], bool] = lambda m: True
    pager: Pager = field(default_factory=Pager)

    def __post_init__(self) -> None:
        self.verbs = frozenset({self.verb, "pg"} if self.by_index else {self.verb})

    def visible(self, m: WizardModel) -> bool:
        return self.show(m)

    def _ref(self, i: int, item: ListItem) -> str:
        return str(i) if self.by_index else item.id

    def render(self, m: WizardModel, s: Screen) -> None:
        items = list(self.items(m))
        given = m.answers.get(self.key, {})
        window = self.pager.window(m, len(items)) if self.by_index else range(len(items))
        for i in window:
            item = items[i]
            answer = given.get(item.id)
            if self.by_index:
                said: Text = Plain("—") if answer is None else msg("wiz.yes") if answer else msg("wiz.no")
                s.add(msg("wiz.negative_item", n=i + 1, text=item.text, clause=item.clause, answer=said))
                number = Plain(f"{i + 1} ")
            else:
                s.add(msg("wiz.gate", question=item.text, clause=item.clause))
                number = Plain("")
            ref = self._ref(i, item)
            s.row(Button(Join((ticked(answer is True), number, msg("btn.yes"))), f"{self.verb}:{ref}.y"),
                  Button(Join((ticked(answer is False), number, msg("btn.no"))), f"{self.verb}:{ref}.n"))
        if self.by_index:
            s.row(*self.pager.row(m, len(items)))

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        items = list(self.items(m))
        if verb == "pg":
            self.pager.turn(m, arg, len(items), out)
            return
        ref, _, yn = arg.rpartition(".")
        if self.by_index:
            item = items[int(ref)] if ref.isascii() and ref.isdigit() and int(ref) < len(items) else None
        else:
            item = next((i for i in items if i.id == ref), None)
        if item is None or yn not in ("y", "n"):
            out.error = msg("err.stale_button")
            return
        given = dict(m.answers.get(self.key, {}))
        given[item.id] = yn == "y"
        m.answers[self.key] = given
        out.changed = True


# -- a form ------------------------------------------------------------------------------------------------
class Store:
    """Where a form field's answer lives in the draft's answers."""

    def has(self, m: WizardModel, field_id: str) -> bool:
        raise NotImplementedError

    def get(self, m: WizardModel, field_id: str) -> Any:
        raise NotImplementedError

    def set(self, m: WizardModel, field_id: str, value: Any) -> None:
        raise NotImplementedError

    def drop(self, m: WizardModel, field_id: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class InDict(Store):
    """answers[<key>][<field id>]: the project fields, the applicant's identity."""

    key: str

    def has(self, m: WizardModel, field_id: str) -> bool:
        return field_id in (m.answers.get(self.key) or {})

    def get(self, m: WizardModel, field_id: str) -> Any:
        return (m.answers.get(self.key) or {}).get(field_id)

    def set(self, m: WizardModel, field_id: str, value: Any) -> None:
        m.answers[self.key] = {**(m.answers.get(self.key) or {}), field_id: value}

    def drop(self, m: WizardModel, field_id: str) -> None:
        if field_id in (m.answers.get(self.key) or {}):
            m.answers[self.key] = {k: v for k, v in m.answers[self.key].items() if k != field_id}


@dataclass(frozen=True)
class TopLevel(Store):
    """answers[<field id>], with what else changes when it does (a new role changes the grounds)."""

    after_set: Callable[[WizardModel, Any], None] | None = None

    def has(self, m: WizardModel, field_id: str) -> bool:
        return m.answers.get(field_id) is not None

    def get(self, m: WizardModel, field_id: str) -> Any:
        return m.answers.get(field_id)

    def set(self, m: WizardModel, field_id: str, value: Any) -> None:
        changed = m.answers.get(field_id) != value
        m.answers[field_id] = value
        if changed and self.after_set is not None:
            self.after_set(m, value)

    def drop(self, m: WizardModel, field_id: str) -> None:
        m.answers.pop(field_id, None)


@dataclass(frozen=True)
class FormField:
    id: str
    label: Text
    kind: str  # "choice", "text", "number" or "phone"
    store: Store
    required: bool = True
    clause: str | None = None
    options: tuple[Choice, ...] = ()
    wire: str = ""  # a choice is pressed as f"{wire}{option id}", e.g. "k:person" or "c:funding_level.county"
    registry: bool = False  # a unit name matched against the policy's unit registry (DraftView.units)

    def option_of(self, action: str) -> str | None:
        if self.kind != "choice" or not action.startswith(self.wire):
            return None
        option = action[len(self.wire):]
        return option if option in {o.id for o in self.options} else None


def _is_choice(entry: Any) -> bool:
    """A stored picker entry is [unit id, name]; anything else (a draft edited by hand) offers nothing."""
    return (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
            and not isinstance(entry[0], bool) and isinstance(entry[1], str))


def fmt_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class FieldForm(Widget):
    """One question at a time with "第 k/n 项"; Back goes to the previous field; once every field has an
    answer, a review lists them all, each with a button to change it. Typed answers are validated by kind."""

    fields: Callable[[WizardModel], Sequence[FormField]]
    review: Msg
    pointer_key: str = "field"
    wires: frozenset[str] = frozenset({"c"})

    def __post_init__(self) -> None:
        self.verbs = frozenset({*self.wires, "f", "skip", "keep", "u"})

    def current(self, m: WizardModel) -> FormField | None:
        """The field being asked now; None once all have an answer (the review)."""
        fields = list(self.fields(m))
        pointer = m.meta.get(self.pointer_key)
        for f in fields:
            if f.id == pointer:
                return f
        return next((f for f in fields if not f.store.has(m, f.id)), None)

    def value_text(self, m: WizardModel, f: FormField) -> Text:
        value = f.store.get(m, f.id)
        if value is None or value == "":
            return msg("wiz.missing") if f.required else msg("wiz.not_given")
        if f.kind == "choice":
            return next((o.label for o in f.options if o.id == value), Plain(str(value)))
        return Plain(fmt_value(value))

    def render(self, m: WizardModel, s: Screen) -> None:
        fields = list(self.fields(m))
        f = self.current(m)
        if f is None:
            s.add(self.review)
            for g in fields:
                s.add(msg("wiz.kv", key=g.label, value=self.value_text(m, g)))
                s.row(Button(msg("btn.change", what=g.label), f"f:{g.id}"))
            return
        s.add(msg("wiz.form.ask", k=fields.index(f) + 1, n=len(fields), label=f.label))
        if f.clause:
            s.add(clause_line(f.clause))
        answered = f.store.has(m, f.id) and f.store.get(m, f.id) is not None
        if answered:
            s.add(msg("wiz.project.current", value=self.value_text(m, f)))
        pick = self._pick(m, f)
        if pick is not None:
            self._picker(s, pick)
        elif f.kind == "choice":
            self._choices(m, s, f)
        else:
            s.add(TYPE_PROMPTS.get(f.kind, TYPE_PROMPTS["text"]))
        extra = []
        if answered:
            extra.append(Button(msg("btn.keep_value"), "keep"))
        if not f.required:
            extra.append(Button(msg("btn.skip"), "skip"))
        s.row(*extra)

    def _choices(self, m: WizardModel, s: Screen, f: FormField) -> None:
        chosen = f.store.get(m, f.id)
        if any(is_long(o.label) for o in f.options):
            for i, o in enumerate(f.options, start=1):
                s.add(msg("wiz.option_numbered", mark=ticked(o.id == chosen), n=i, label=o.label))
            buttons = [Button(Join((ticked(o.id == chosen), Plain(str(i)))), f"{f.wire}{o.id}")
                       for i, o in enumerate(f.options, start=1)]
            number_rows(s, buttons)
        else:
            for o in f.options:
                s.row(Button(Join((ticked(o.id == chosen), o.label)), f"{f.wire}{o.id}"))

    def _answered(self, m: WizardModel) -> None:
        m.meta.pop(self.pointer_key, None)
        m.meta.pop(PICK_KEY, None)

    # -- a unit picked from the registry -----------------------------------------------------------------
    def _pick(self, m: WizardModel, f: FormField | None) -> dict[str, Any] | None:
        """The similar registered units offered for what was typed, while the picker for `f` shows."""
        pick = m.meta.get(PICK_KEY)
        if f is None or not f.registry or not isinstance(pick, dict) or pick.get("field") != f.id:
            return None
        return pick

    def _picker(self, s: Screen, pick: dict[str, Any]) -> None:
        """The typed name, the registered names like it as buttons (numbered in the message when a name is
        too long for a phone's button), the typed name itself, and a word that typing again searches again."""
        s.add(msg("wiz.unit.similar", typed=Plain(str(pick.get("typed") or ""))))
        names = [Plain(entry[1] if _is_choice(entry) else "—") for entry in pick.get("choices") or []]
        if any(is_long(n) for n in names):
            for i, n in enumerate(names, start=1):
                s.add(msg("wiz.option_numbered", mark=Plain(""), n=i, label=n))
            buttons = [Button(Plain(str(i)), f"u:{i - 1}") for i in range(1, len(names) + 1)]
            number_rows(s, buttons)
        else:
            for i, n in enumerate(names):
                s.row(Button(n, f"u:{i}"))
        s.row(Button(msg("btn.unit_use_typed"), "u:typed"))
        s.add(msg("wiz.unit.type_again"))

    def _set_unit(self, m: WizardModel, f: FormField, name: str, unit_id: int | None) -> Msg:
        """Store the unit's name with the registry unit it is (`unit_id`), or marked as not registered;
        returns the notice the next screen shows."""
        id_key, new_key = registry_keys(f.id)
        f.store.set(m, f.id, name)
        if unit_id is None:
            f.store.drop(m, id_key)
            f.store.set(m, new_key, True)
            return msg("wiz.unit.new", name=Plain(name))
        f.store.set(m, id_key, unit_id)
        f.store.drop(m, new_key)
        return msg("wiz.unit.matched", name=Plain(name))

    def _forget_unit(self, m: WizardModel, f: FormField) -> None:
        """An answer given without the registry (skipped, or no lookup) is no registry unit any more."""
        if f.registry:
            for key in registry_keys(f.id):
                f.store.drop(m, key)

    def _registry_text(self, m: WizardModel, f: FormField, text: str, out: Outcome) -> None:
        lookup = m.draft.units
        assert lookup is not None
        found = lookup(text)
        if not found.named:
            # nothing the registry could compare (emoji, punctuation): taken as typed, as without a registry;
            # such a case reaches no unit, so where a unit must act it goes before the admins
            f.store.set(m, f.id, text)
            self._forget_unit(m, f)
            self._answered(m)
            out.changed = True
            return
        if found.exact is None and found.candidates:
            # nothing is stored yet: the researcher says which of the similar units is theirs, if any
            m.meta[PICK_KEY] = {"field": f.id, "typed": text,
                                "choices": [[uid, name] for uid, name in found.candidates[:PICK_MAX]]}
            m.meta[self.pointer_key] = f.id
            out.changed = True
            return
        out.notice = (self._set_unit(m, f, found.exact[1], found.exact[0]) if found.exact is not None
                      else self._set_unit(m, f, text, None))
        self._answered(m)
        out.changed = True

    def _press_pick(self, m: WizardModel, current: FormField | None, arg: str, out: Outcome) -> None:
        """`u:<n>` picks the n-th unit the picker offered (an index into what the server stored, so a
        forged press can name no other unit); `u:typed` keeps the typed name, to be put to the admins."""
        pick = self._pick(m, current)
        choices = pick.get("choices") if pick is not None else None
        if current is None or pick is None or not isinstance(choices, list):
            out.error = msg("err.stale_button")
            return
        if arg == "typed" and isinstance(pick.get("typed"), str) and pick["typed"]:
            out.notice = self._set_unit(m, current, pick["typed"], None)
        elif (arg.isascii() and arg.isdigit() and len(arg) < 4 and int(arg) < len(choices)
              and _is_choice(entry := choices[int(arg)])):
            out.notice = self._set_unit(m, current, str(entry[1]), int(entry[0]))
        else:
            out.error = msg("err.stale_button")
            return
        self._answered(m)
        out.changed = True

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        fields = list(self.fields(m))
        current = self.current(m)
        if verb == "f":
            target = next((f for f in fields if f.id == arg), None)
            if target is None:
                out.error = msg("err.stale_button")
                return
            m.meta[self.pointer_key] = target.id
            m.meta.pop(PICK_KEY, None)
            out.changed = True
            return
        if verb == "u":
            self._press_pick(m, current, arg, out)
            return
        if verb in ("skip", "keep"):
            if current is None or (verb == "skip" and current.required) or (
                    verb == "keep" and current.store.get(m, current.id) is None):
                out.error = msg("err.stale_button")
                return
            if verb == "skip":
                current.store.set(m, current.id, None)
                self._forget_unit(m, current)
            self._answered(m)
            out.changed = True
            return
        action = f"{verb}:{arg}"
        option = current.option_of(action) if current is not None else None
        if current is None or option is None:
            out.error = msg("err.stale_button")
            return
        current.store.set(m, current.id, option)
        self._answered(m)
        out.changed = True

    def back(self, m: WizardModel) -> bool:
        fields = list(self.fields(m))
        current = self.current(m)
        if self._pick(m, current) is not None:  # from the picker back to the question
            m.meta.pop(PICK_KEY, None)
            return True
        if current is None:
            if not fields:
                return False
            m.meta[self.pointer_key] = fields[-1].id
            return True
        index = fields.index(current)
        if index == 0:
            return False
        m.meta[self.pointer_key] = fields[index - 1].id
        return True

    def takes_text(self, m: WizardModel) -> bool:
        current = self.current(m)
        return current is not None and current.kind != "choice"

    def text(self, m: WizardModel, text: str, out: Outcome) -> None:
        f = self.current(m)
        if f is None or f.kind == "choice":
            out.error = msg("err.use_buttons")
            return
        if not text:
            out.error = msg("err.empty_text")
            return
        if len(text) > MAX_FIELD_CHARS:
            out.error = plural("err.text_too_long", MAX_FIELD_CHARS)
            return
        value: Any = text
        if f.kind == "number":
            value = parse_amount(text)
        elif f.kind == "phone":
            value = parse_phone(text)
        if isinstance(value, Msg):
            out.error = value
            return
        if f.registry and m.draft.units is not None:
            self._registry_text(m, f, text, out)
            return
        f.store.set(m, f.id, value)
        self._forget_unit(m, f)
        self._answered(m)
        out.changed = True


# -- the statement of facts ------------------------------------------------------------------------------
@dataclass
class FreeText(Widget):
    """A long typed text. A message that follows the one just typed is appended (Telegram splits a long
    paste into several messages), with a note and a button to keep only the last one; a message that was
    too long is never replaced by the tail that came after it."""

    key: str = "facts"
    verbs: frozenset[str] = frozenset({"fr"})

    def render(self, m: WizardModel, s: Screen) -> None:
        facts = m.answers.get(self.key)
        if facts:
            excerpt = facts if len(facts) < 400 else facts[:400] + "…"
            s.add(msg("wiz.facts.current", text=Plain(excerpt), count=len(facts)))
        if m.meta.get("facts_parts", 0) > 1:
            s.row(Button(msg("btn.facts_keep_last"), "fr"))

    def takes_text(self, m: WizardModel) -> bool:
        return True

    def text(self, m: WizardModel, text: str, out: Outcome) -> None:
        meta = m.meta
        if not text:
            out.error = msg("err.empty_text")
            return
        follows = meta.get("facts_last_rev") == m.draft.revision  # nothing happened since the last part
        if len(text) > FACTS_MAX_CHARS:
            out.error = plural("err.text_too_long", FACTS_MAX_CHARS)
            meta["facts_overflow_rev"] = m.draft.revision  # no answer changed: the revision stays
            out.changed = out.meta_only = True
            return
        if meta.pop("facts_overflow_rev", None) == m.draft.revision:
            out.error = msg("err.facts_tail", max=FACTS_MAX_CHARS)  # the tail of a refused paste
            out.changed = out.meta_only = True
            return
        current = m.answers.get(self.key) or ""
        if follows and current:
            combined = f"{current}\n{text}"
            if len(combined) > FACTS_MAX_CHARS:
                out.error = plural("err.facts_combined_too_long", FACTS_MAX_CHARS, total=len(combined))
                return
            m.answers[self.key] = combined
            meta["facts_parts"] = meta.get("facts_parts", 1) + 1
            meta["facts_last_part"] = text
            out.notice = plural("wiz.facts.appended", len(combined))
        else:
            # characters that say something: letters, digits, CJK — eleven emoji are not a statement
            if len(text) < FACTS_MIN_CHARS or sum(ch.isalnum() for ch in text) < FACTS_MIN_CHARS:
                out.error = msg("err.facts_short", min=FACTS_MIN_CHARS)
                return
            m.answers[self.key] = text
            meta["facts_parts"] = 1
            meta["facts_last_part"] = text
        meta["facts_last_rev"] = m.draft.revision + 1
        out.changed = True

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        last = m.meta.get("facts_last_part")
        if m.meta.get("facts_parts", 0) < 2 or not last or len(last) < FACTS_MIN_CHARS:
            out.error = msg("err.stale_button") if m.meta.get("facts_parts", 0) < 2 else msg(
                "err.facts_short", min=FACTS_MIN_CHARS)
            return
        m.answers[self.key] = last
        m.meta["facts_parts"] = 1
        m.meta.pop("facts_last_rev", None)
        out.notice = msg("wiz.facts.replaced")
        out.changed = True


# -- the materials ------------------------------------------------------------------------------------------
@dataclass
class FileList(Widget):
    """The checklist of materials: the generated 申请书 and the typed 情况说明 need no upload; for the
    others "upload" then send the file, or "submit later"; every upload is listed by name with a button
    that removes it, and the same file twice is refused."""

    verbs: frozenset[str] = frozenset({"m", "l", "x"})

    def render(self, m: WizardModel, s: Screen) -> None:
        policy = m.policy
        assert policy is not None
        later = set(m.answers.get("materials_later", []))
        target = m.meta.get("target")
        for i, mat in enumerate(policy.materials):
            files = [u for u in m.draft.uploads if u.material_id == mat.id]
            if mat.id == GENERATED_MATERIAL:
                state: Text = msg("wiz.materials.generated")
            elif mat.id == TYPED_MATERIAL and m.answers.get("facts"):
                state = (msg("wiz.materials.typed", n=steps_for(policy).index("facts") + 1) if not files
                         else plural("wiz.materials.uploaded", len(files)))
            elif files:
                state = plural("wiz.materials.uploaded", len(files))
            elif mat.id in later:
                state = msg("wiz.materials.later")
            else:
                state = msg("wiz.materials.required") if mat.required else msg("wiz.materials.optional")
            s.add(msg("wiz.materials.item", n=i + 1, label=mat.label, state=state, clause=mat.clause or "—"))
            for u in files:
                s.add(msg("wiz.materials.file", name=Plain(u.file_name or "—")))
            if mat.id == GENERATED_MATERIAL:
                continue
            buttons = [Button(Join((Plain("📎 " if target == mat.id else ""), msg("btn.upload", n=i + 1))), f"m:{i}")]
            if not (mat.id == TYPED_MATERIAL and m.answers.get("facts")):
                buttons.append(Button(Join((ticked(mat.id in later), msg("btn.later", n=i + 1))), f"l:{i}"))
            s.row(*buttons)
        for u in m.draft.uploads:
            if u.upload_id is not None:
                s.row(Button(msg("btn.remove_file", name=Plain(u.file_name[:24] or "—")), f"x:{u.upload_id}"))
        if target:
            label = next(x.label for x in policy.materials if x.id == target)
            s.add(msg("wiz.materials.send_now", material=label))

    def _material_at(self, m: WizardModel, arg: str) -> str | None:
        policy = m.policy
        if policy is None or not (arg.isascii() and arg.isdigit()) or int(arg) >= len(policy.materials):
            return None
        material = policy.materials[int(arg)].id
        return None if material == GENERATED_MATERIAL else material

    def press(self, m: WizardModel, verb: str, arg: str, out: Outcome) -> None:
        if verb == "x":
            found = next((u for u in m.draft.uploads if str(u.upload_id) == arg), None)
            if found is None:
                out.error = msg("err.stale_button")
                return
            m.draft.uploads.remove(found)
            out.removed_upload = found.upload_id
            out.notice = msg("wiz.materials.removed", name=Plain(found.file_name or "—"))
            out.changed = True
            return
        material = self._material_at(m, arg)
        if material is None:
            out.error = msg("err.stale_button")
            return
        later = list(m.answers.get("materials_later", []))
        if verb == "m":
            m.meta["target"] = material
            later = [x for x in later if x != material]
        elif material in later:
            later.remove(material)
        else:
            later.append(material)
            if m.meta.get("target") == material:
                m.meta.pop("target")
        m.answers["materials_later"] = later
        out.changed = True

    def document(self, m: WizardModel, upload: UploadInfo, out: Outcome) -> None:
        policy = m.policy
        assert policy is not None
        if upload.size > MAX_UPLOAD_BYTES:
            out.error = msg("err.document_too_big", size_mb=round(upload.size / 1048576, 1),
                            max_mb=MAX_UPLOAD_BYTES // 1048576)
            return
        target = m.meta.get("target")
        if target not in {x.id for x in policy.materials}:
            out.error = msg("err.choose_material_first")
            return
        twin = next((u for u in m.draft.uploads if upload.file_unique_id and u.file_unique_id == upload.file_unique_id
                     or (u.file_name, u.size) == (upload.file_name, upload.size)), None)
        if twin is not None:
            out.error = msg("err.document_twice", name=Plain(upload.file_name or "—"))
            return
        upload.material_id = target
        m.draft.uploads.append(upload)
        out.new_upload = upload
        out.changed = True
        label = next(x.label for x in policy.materials if x.id == target)
        out.notice = msg("wiz.materials.received", name=Plain(upload.file_name or "—"), material=label)
