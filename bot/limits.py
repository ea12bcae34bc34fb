"""Telegram's size limits, measured the way Telegram measures them.

Telegram counts message length in UTF-16 code units, not code points: an astral character (📅, 𠀀) is
two units. Measuring with `len()` lets a text Telegram refuses through ("message is too long"), and a
screen that cannot be shown leaves the user stuck on it, so every text the bot sends is measured here.
"""

from __future__ import annotations

TEXT_LIMIT = 4096  # sendMessage / editMessageText
CAPTION_LIMIT = 1024  # sendDocument / sendPhoto captions
TOAST_LIMIT = 200  # answerCallbackQuery text
CALLBACK_DATA_BYTES = 64  # InlineKeyboardButton.callback_data, in UTF-8 bytes
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` UTF-16 units, ending in "…" when cut; never halves a pair."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ELLIPSIS)
    used = 0
    cut = 0
    for i, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > budget:
            cut = i
            break
        used += width
    return text[:cut] + ELLIPSIS


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` as consecutive messages of at most `limit` units each, cut at paragraph breaks where it can,
    then at line breaks, and only as a last resort inside a line."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joined = f"{current}\n{piece}" if current else piece
        if utf16_len(joined) <= limit:
            current = joined
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """Lines no longer than `limit`; paragraph breaks survive as empty lines."""
    out: list[str] = []
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            head = clip(line, limit + 1)[:-1]  # the longest prefix that fits, without the ellipsis
            out.append(head)
            line = line[len(head):]
        out.append(line)
    return out
