"""The callback-data codec: every button's data is encoded and decoded here, and nowhere else.

Each namespace has its actions as an enum with a name that says what the button does; the short value is
only the wire form, because Telegram allows 64 bytes of callback data (checked at encode time, so a button
that would be refused by Telegram fails in the tests, not in a user's chat). The wire forms are the ones
the bot has always sent, so keyboards already in users' chats keep working across a deploy.

    g:new                         Home.NEW                 lang:en      Language.EN
    dr:r:<draft>                  Drafts.RESUME            f:t:<case>   Files.TIMELINE
    w:<draft>:<revision>:<action> a wizard press; <action> is declared by the step's widgets (dialogs/)
    c:a:<case>:<state>:<action>   CaseAction.START_ACTION  c:f:u:<id>   CaseAction.SEND_FILE
    c:p:<case>:<field>:<option>   CaseAction.PICK          adm:cj:<id>  Admin.CONFIRM_JOIN

Ids go through bot.ids.parse_id; malformed data of any kind decodes to None, which the caller refuses like
a forged button. PTB routes each namespace to its flow with `CallbackQueryHandler(pattern=pattern(ns))`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.ids import parse_id
from bot.limits import CALLBACK_DATA_BYTES


class Namespace(StrEnum):
    HOME = "g"
    LANGUAGE = "lang"
    DRAFTS = "dr"
    WIZARD = "w"
    CASE = "c"
    FILES = "f"
    ADMIN = "adm"
    PUBLICITY = "pb"


class Home(StrEnum):
    NEW = "new"  # start a new application
    DRAFTS = "drafts"  # list my drafts
    OPEN = "open"  # back to the draft I was working on


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


class Drafts(StrEnum):
    RESUME = "r"
    ASK_DELETE = "d"
    CONFIRM_DELETE = "x"


class CaseAction(StrEnum):
    QUEUE = "q"  # an officer's queue
    STATUS = "st"  # an applicant's cases
    REVOKE_MEMBER = "r"  # an admin revokes a membership
    SEND_FILE = "f"  # send back an upload (u) or a case document (d)
    OPEN = "o"  # show one case
    START_ACTION = "a"  # begin a procedure action's form: case, state pressed in, action id
    CHOOSE = "v"  # answer the form's next choice field (keyboards sent before forms had one screen)
    PICK = "p"  # set one choice field of the form's screen: case, field id, option id
    SKIP = "s"  # skip the form's optional field
    CONFIRM = "k"  # commit the form
    CANCEL = "x"  # drop the form


class Admin(StrEnum):
    """An administrator's buttons: people waiting to join, invitations, the unit registry, routing."""

    CONFIRM_JOIN = "cj"  # let the person who opened an invitation in
    DECLINE_JOIN = "dj"  # turn them away (the invitation is revoked)
    REVOKE_INVITATION = "ri"  # an open invitation no longer works
    CONFIRM_UNIT = "cu"  # a unit a researcher proposed becomes a registered one
    MOVE_CASE = "mv"  # a case goes to another unit of the registry: case, unit


class Publicity(StrEnum):
    """The publicity in public (bot/publicity/): the notice's .docx, an objection's evidence, the objection
    dialog's buttons. Values unlike any other namespace's: SIGNATURES is keyed by the members, and members
    of two StrEnums with the same value are the same key."""

    NOTICE_DOCX = "nd"  # the case's notice as a .docx: case
    EVIDENCE = "ev"  # an objection's evidence files, for the case's officers: objection
    FILES_DONE = "fd"  # the objector has no (more) evidence to add
    CONFIRM = "ok"  # send the objection
    CANCEL = "no"  # drop it


class Files(StrEnum):
    TIMELINE = "t"
    ICS = "i"


class FileKind(StrEnum):
    UPLOAD = "u"
    DOCUMENT = "d"


ActionEnum = Home | Language | Drafts | CaseAction | Files | Admin | Publicity
NAMESPACE_OF: dict[type[StrEnum], Namespace] = {
    Home: Namespace.HOME, Language: Namespace.LANGUAGE, Drafts: Namespace.DRAFTS, CaseAction: Namespace.CASE,
    Files: Namespace.FILES, Admin: Namespace.ADMIN, Publicity: Namespace.PUBLICITY,
}
_ACTIONS_OF = {ns: enum for enum, ns in NAMESPACE_OF.items()}

# What follows each action on the wire: ID (bot.ids.parse_id), WORD (a state, action or option id), or an
# enum whose values are the only ones allowed.
ID = "id"
WORD = "word"
_WORD = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_WIZARD_ACTION = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
Arg = str | type[StrEnum]
SIGNATURES: dict[StrEnum, tuple[Arg, ...]] = {
    Home.NEW: (), Home.DRAFTS: (), Home.OPEN: (),
    Language.ZH: (), Language.EN: (),
    Drafts.RESUME: (ID,), Drafts.ASK_DELETE: (ID,), Drafts.CONFIRM_DELETE: (ID,),
    CaseAction.QUEUE: (), CaseAction.STATUS: (), CaseAction.REVOKE_MEMBER: (ID,),
    CaseAction.SEND_FILE: (FileKind, ID), CaseAction.OPEN: (ID,), CaseAction.START_ACTION: (ID, WORD, WORD),
    CaseAction.CHOOSE: (ID, WORD), CaseAction.PICK: (ID, WORD, WORD), CaseAction.SKIP: (ID,), CaseAction.CONFIRM: (ID,), CaseAction.CANCEL: (ID,),
    Files.TIMELINE: (ID,), Files.ICS: (ID,),
    Admin.CONFIRM_JOIN: (ID,), Admin.DECLINE_JOIN: (ID,), Admin.REVOKE_INVITATION: (ID,), Admin.CONFIRM_UNIT: (ID,),
    Admin.MOVE_CASE: (ID, ID),
    Publicity.NOTICE_DOCX: (ID,), Publicity.EVIDENCE: (ID,), Publicity.FILES_DONE: (), Publicity.CONFIRM: (),
    Publicity.CANCEL: (),
}
DOCX = "docx"  # the wizard's "application as .docx" press: read-only, so valid on any revision


class CallbackTooLong(ValueError):
    """A button whose data Telegram would refuse: a programming error, raised when the button is built."""


@dataclass(frozen=True)
class Press:
    """A decoded button press outside the wizard: the named action and its typed arguments."""

    namespace: Namespace
    action: ActionEnum
    args: tuple[int | str, ...] = ()

    def id(self, index: int = 0) -> int:
        value = self.args[index]
        assert isinstance(value, int)
        return value


@dataclass(frozen=True)
class WizardPress:
    """A press on a draft's screen: which draft, the revision the screen showed, and the step's action."""

    draft_id: int
    revision: int
    action: str
    namespace: Namespace = Namespace.WIZARD


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > CALLBACK_DATA_BYTES:
        raise CallbackTooLong(f"callback data over {CALLBACK_DATA_BYTES} bytes: {data!r}")
    return data


def encode(action: ActionEnum, *args: int | str) -> str:
    signature = SIGNATURES[action]
    if len(args) != len(signature):
        raise ValueError(f"{action!r} takes {len(signature)} arguments, not {len(args)}")
    for arg, kind in zip(args, signature, strict=True):
        text = str(arg)
        if kind == ID and parse_id(text) is None or kind == WORD and not _WORD.fullmatch(text):
            raise ValueError(f"{action!r}: {arg!r} is not a valid {kind}")
        if isinstance(kind, type) and text not in {m.value for m in kind}:
            raise ValueError(f"{action!r}: {arg!r} is not one of {kind.__name__}")
    namespace = NAMESPACE_OF[type(action)]
    return _checked(":".join([namespace.value, action.value, *map(str, args)]))


def encode_wizard(draft_id: int, revision: int, action: str) -> str:
    if not _WIZARD_ACTION.fullmatch(action):
        raise ValueError(f"wizard action {action!r} has characters the codec does not carry")
    return _checked(f"{Namespace.WIZARD.value}:{draft_id}:{revision}:{action}")


def decode(data: object) -> Press | WizardPress | None:
    """The press that `data` names, or None for anything malformed, oversized or unknown."""
    if not isinstance(data, str) or len(data.encode("utf-8", "replace")) > CALLBACK_DATA_BYTES:
        return None
    parts = data.split(":")
    try:
        namespace = Namespace(parts[0])
    except ValueError:
        return None
    if namespace is Namespace.WIZARD:
        if len(parts) < 4:
            return None
        draft_id, revision, action = parse_id(parts[1]), parse_id(parts[2]), ":".join(parts[3:])
        if draft_id is None or revision is None or not _WIZARD_ACTION.fullmatch(action):
            return None
        return WizardPress(draft_id, revision, action)
    if len(parts) < 2:
        return None
    try:
        action_enum = _ACTIONS_OF[namespace](parts[1])
    except ValueError:
        return None
    signature = SIGNATURES[action_enum]
    raw = parts[2:]
    if len(raw) != len(signature):
        return None
    args: list[int | str] = []
    for text, kind in zip(raw, signature, strict=True):
        if kind == ID:
            value = parse_id(text)
            if value is None:
                return None
            args.append(value)
        elif kind == WORD:
            if not _WORD.fullmatch(text):
                return None
            args.append(text)
        else:
            assert isinstance(kind, type)
            if text not in {m.value for m in kind}:
                return None
            args.append(text)
    return Press(namespace, action_enum, tuple(args))


def pattern(namespace: Namespace) -> str:
    """The regular expression PTB's CallbackQueryHandler routes this namespace by."""
    return rf"^{re.escape(namespace.value)}:"
