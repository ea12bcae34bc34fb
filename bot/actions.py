"""The action context: what every handler does before and around its own work, written once.

One update is one transaction: open a session, claim the Telegram update id (the same transaction that
records the answer, so a re-delivered update is recognised), load the user, pick their language. Around
that, one policy for every handler:

- a **duplicate** (Telegram delivered the update again after a crash between commit and reply) changes
  nothing and shows the *current* screen of what it concerned, so the user is never left in silence on a
  stale keyboard;
- a **concurrent write** (`StaleDataError` from a version-checked UPDATE) is retried once from the start,
  and if it conflicts again the user is shown the current screen with a note, never a lost answer.

`run(who, update_id, body, current)`: `body` does the work; `current` shows the current screen read-only
(for read-only actions it is `body` itself). Both take the `Act` the context yields.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from bot.config import Settings
from bot.i18n import normalise_language, t
from bot.reply import Reply, Who
from storage import inbox, repo
from storage.db import read_scope, session_scope
from storage.models import User

log = logging.getLogger(__name__)


@dataclass
class Act:
    """One update being handled: its transaction, the person, and the language to answer in."""

    session: Session
    who: Who
    user: User
    lang: str
    update_id: int | None
    duplicate: bool = False


Body = Callable[[Act], Reply]


class Actions:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def language(self, user: User, who: Who) -> str:
        """The language the user chose, else what their Telegram client says, else the default."""
        return user.language or normalise_language(who.language_code or self.settings.default_language)

    @contextmanager
    def begin(self, who: Who, update_id: int | None = None) -> Iterator[Act]:
        """Session → claim update → user → language; commits when the block ends, rolls back if it raises."""
        with session_scope(self.engine) as session:
            fresh = repo.claim_update(session, update_id)
            user = repo.get_or_create_user(session, who.user_id, who.first_name, who.username)
            yield Act(session, who, user, self.language(user, who), update_id, duplicate=not fresh)

    def run(self, who: Who, update_id: int | None, body: Body, current: Body | None = None) -> Reply:
        current = current or body
        for attempt in (1, 2):
            try:
                with self.begin(who, update_id) as act:
                    if act.duplicate:
                        log.info("update %s was already applied; showing the current screen", update_id)
                        reply = current(act)
                        reply.redelivered = True
                        return reply
                    return body(act)
            except StaleDataError:
                log.info("update %s met a concurrent write (attempt %s)", update_id, attempt)
        with self.begin(who, update_id) as act:
            reply = current(act)
            reply.toast, reply.alert = t("err.conflict", act.lang), True
            return reply

    def look(self, who: Who, update_id: int | None, body: Body, fallback: bool = True) -> Reply | None:
        """A read-only action (a quick command: /help, /status …) in a snapshot that waits for no writer:
        on SQLite it skips the queue for the one write lock behind the handlers of every other chat. It
        records nothing (showing /help twice after a crash is harmless); a first contact, a changed name, or
        a body that turns out to change something is done the ordinary way instead — or, without `fallback`
        (an update not yet stored, bot/dispatch.py `early`), not at all: None. Nor is an update answered
        early that the inbox holds already (Telegram delivering it again): the inbox drops it as a duplicate."""
        with read_scope(self.engine) as session:
            if not fallback and update_id is not None and inbox.is_stored(session, update_id):
                return None
            if session.get(User, who.user_id) is not None:  # (a first contact is inserted: the ordinary way)
                user = repo.get_or_create_user(session, who.user_id, who.first_name, who.username)
                reply = body(Act(session, who, user, self.language(user, who), update_id))
                if not (session.new or session.dirty or session.deleted):  # not even the user's name changed
                    return reply
        return self.run(who, update_id, body) if fallback else None

    def language_of(self, who: Who) -> str:
        """For the transport's own messages (menus, errors): read-only, claims nothing."""
        with Session(self.engine) as session:
            user = session.get(User, who.user_id)
            if user is None:
                return normalise_language(who.language_code or self.settings.default_language)
            return self.language(user, who)
