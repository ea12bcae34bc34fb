"""Chats of the fake Bot API: private chats, groups, supergroups and channels, and who is in them.

Why a module of its own: what the bot may do in a chat (post, edit, see messages) depends on the chat's
type and on the bot's membership there, and Telegram answers each wrong case with its own error. Keeping
the membership rules and the serialisation of Chat / ChatMember objects here lets server.py stay about
HTTP and methods, and lets the test drivers (user.py, community.py) share the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatKind", "admin_member", "chat_member", "is_supergroup_id"]

ChatKind = str  # "private", "group", "supergroup" or "channel"

#: A channel admin's rights as Telegram grants them by default when a bot is promoted.
CHANNEL_ADMIN_RIGHTS: dict[str, bool] = {
    "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
    "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
    "can_invite_users": True, "can_post_stories": True, "can_edit_stories": True, "can_delete_stories": True,
    "can_post_messages": True, "can_edit_messages": True,
}
GROUP_ADMIN_RIGHTS: dict[str, bool] = {
    "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
    "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
    "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
    "can_pin_messages": True,
}


def is_supergroup_id(chat_id: int) -> bool:
    """Supergroups and channels have ids of the form -100xxxxxxxxxx; basic groups are small negatives."""
    return chat_id <= -1_000_000_000_000


@dataclass
class _Msg:
    data: dict[str, Any]
    from_bot: bool
    version: int
    deleted: bool = False
    sender_id: int | None = None  # the user who wrote it; None for the bot's own messages


@dataclass
class _Profile:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None

    def user_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class _Chat:
    """One chat.  A private chat's id is its user's id and ``profile`` is that user; the others carry a
    title, maybe a public @username, their members' statuses and the bot's own status and rights."""

    id: int
    type: ChatKind = "private"
    profile: _Profile | None = None
    title: str | None = None
    username: str | None = None
    messages: dict[int, _Msg] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False  # private: sends fail with 403 (the user blocked the bot)
    user_blocked: bool = False  # private: the user blocked the bot in their client (and cannot write)
    reply_keyboard: dict[str, Any] | None = None
    actions: list[str] = field(default_factory=list)
    members: dict[int, str] = field(default_factory=dict)  # user id -> creator/administrator/member/left/kicked
    bot_status: str = "member"  # private chats always "have" the bot; others start with "left"
    bot_rights: dict[str, bool] = field(default_factory=dict)
    bot_was_member: bool = False  # a chat the bot has left is "not a member", one it never saw is "not found"

    # -- serialisation ------------------------------------------------------------------------------
    def chat_dict(self) -> dict[str, Any]:
        if self.type == "private":
            assert self.profile is not None  # noqa: S101 - private chats always have their user
            p = self.profile
            chat: dict[str, Any] = {"id": p.id, "first_name": p.first_name}
            if p.last_name:
                chat["last_name"] = p.last_name
            if p.username:
                chat["username"] = p.username
            chat["type"] = "private"
            return chat
        chat = {"id": self.id, "title": self.title or ""}
        if self.username:
            chat["username"] = self.username
        chat["type"] = self.type
        return chat

    def user_dict(self) -> dict[str, Any]:
        """The private chat's user (only meaningful for private chats)."""
        assert self.profile is not None  # noqa: S101
        return self.profile.user_dict()

    # -- the bot's place in the chat ---------------------------------------------------------------
    @property
    def bot_is_admin(self) -> bool:
        return self.bot_status in ("administrator", "creator")

    @property
    def bot_is_member(self) -> bool:
        return self.bot_status in ("member", "administrator", "creator")

    def read_refusal(self) -> tuple[int, str] | None:
        """Telegram's answer when the bot may not even look at this chat (getChat), or None."""
        if self.type == "private" or self.bot_is_member or self.username:
            return None
        if self.bot_status == "kicked":
            return self.send_refusal()
        return (403, f"Forbidden: bot is not a member of the {self.type} chat") if self.bot_was_member else \
            (400, "Bad Request: chat not found")

    def send_refusal(self) -> tuple[int, str] | None:
        """Telegram's answer when the bot may not post here, or None when it may."""
        if self.type == "private":
            return (403, "Forbidden: bot was blocked by the user") if self.blocked else None
        where = {"group": "group", "supergroup": "supergroup", "channel": "channel"}[self.type]
        if self.bot_status == "kicked":
            return 403, f"Forbidden: bot was kicked from the {where} chat"
        if not self.bot_is_member:
            if not self.username and not self.bot_was_member:
                return 400, "Bad Request: chat not found"  # a private chat the bot never was in
            return 403, f"Forbidden: bot is not a member of the {where} chat"
        if self.type == "channel" and not self.bot_rights.get("can_post_messages"):
            return 400, "Bad Request: need administrator rights in the channel chat"
        return None

    def member_status(self, user_id: int) -> str:
        if self.type == "private":
            return "member" if self.profile is not None and self.profile.id == user_id else "left"
        return self.members.get(user_id, "left")


def chat_member(user: dict[str, Any], status: str, rights: dict[str, bool] | None = None) -> dict[str, Any]:
    """A ChatMember object of ``status`` for ``user`` (a User dict), with the fields PTB requires."""
    if status in ("administrator",):
        return admin_member(user, rights or {})
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status, "user": user}


def admin_member(user: dict[str, Any], rights: dict[str, bool]) -> dict[str, Any]:
    base = {"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": False,
            "can_manage_video_chats": False, "can_restrict_members": False, "can_promote_members": False,
            "can_change_info": False, "can_invite_users": False, "can_post_stories": False,
            "can_edit_stories": False, "can_delete_stories": False}
    return {"status": "administrator", "user": user, **base, **rights}
