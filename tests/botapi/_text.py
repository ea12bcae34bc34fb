"""Text formatting the way the Bot API does it: parse modes, UTF-16 entity offsets, auto entities.

Why this exists: a fake server that echoes ``<b>x</b>`` back verbatim hides real bugs (an
unsupported ``<br>`` tag, an unescaped ``.`` in MarkdownV2) that Telegram rejects with
"can't parse entities", and tests asserting on message text would see markup that real
users never see.  So formatted text is parsed into plain text + entities, with offsets
counted in UTF-16 code units exactly like Telegram (CJK = 1 unit, most emoji = 2 units).
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = [
    "EntityParseError",
    "auto_entities",
    "format_text",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]


class EntityParseError(ValueError):
    """Raised for malformed markup; the message becomes "Bad Request: can't parse entities: ..."."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    """UTF-8 byte offset of ``src[index]``; Telegram reports parse errors in bytes."""
    return len(src[:index].encode("utf-8"))


class _Builder:
    """Accumulates output text while tracking the UTF-16 offset for entity bookkeeping."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        length = self.offset - start
        if length > 0:
            self.entities.append({"type": kind, "offset": start, "length": length, **extra})

    def text(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------- HTML

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _parse_attrs(src: str, where: int, full: str) -> dict[str, str]:
    """Parse tag attributes; Telegram rejects garbage inside a tag instead of ignoring it."""
    attrs: dict[str, str] = {}
    pos = 0
    src = src.rstrip().removesuffix("/").rstrip()
    while pos < len(src):
        m = _ATTR_RE.match(src, pos)
        if not m or m.end() == pos:
            raise EntityParseError(f"Expected equal sign in declaration of an attribute of the start tag at byte offset {_byte_offset(full, where)}")
        value = next((g for g in m.groups()[1:] if g is not None), "")
        attrs[m.group(1).lower()] = html.unescape(value)
        pos = m.end()
    return attrs


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML (only the documented tags) into text and entities."""
    out = _Builder()
    # stack items: (tag name, entity type or None, start offset, extra fields)
    stack: list[tuple[str, str | None, int, dict[str, Any]]] = []
    i = 0
    while i < len(src):
        c = src[i]
        if c == "<":
            end = src.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, i)}")
            inner = src[i + 1 : end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise EntityParseError(f'Unexpected end tag at byte offset {_byte_offset(src, i)}')
                tag, kind, start, extra = stack.pop()
                if name != tag:
                    raise EntityParseError(
                        f'Unmatched end tag at byte offset {_byte_offset(src, i)}, expected "</{tag}>", found "</{name}>"'
                    )
                if kind == "code" and stack and stack[-1][0] == "pre":
                    # <pre><code class="language-x"> is a single pre entity carrying the language
                    if "language" in extra:
                        stack[-1][3]["language"] = extra["language"]
                elif kind is not None:
                    if kind == "code":
                        extra = {}
                    out.entity(kind, start, **extra)
            else:
                m = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)(.*)\Z", inner, re.S)
                if not m:
                    raise EntityParseError(f'Unsupported start tag "{inner}" at byte offset {_byte_offset(src, i)}')
                name = m.group(1).lower()
                attrs = _parse_attrs(m.group(2), i, src)
                kind: str | None
                extra: dict[str, Any] = {}
                if name in _HTML_SIMPLE:
                    kind = _HTML_SIMPLE[name]
                    if name == "code" and attrs.get("class", "").startswith("language-"):
                        extra["language"] = attrs["class"][len("language-") :]
                elif name == "span" and attrs.get("class") == "tg-spoiler":
                    kind = "spoiler"
                elif name == "a":
                    href = attrs.get("href")
                    kind = "text_link" if href else None
                    if href:
                        extra["url"] = href
                elif name == "blockquote":
                    kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
                elif name == "tg-emoji":
                    if "emoji-id" not in attrs:
                        raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(src, i)}')
                    kind = "custom_emoji"
                    extra["custom_emoji_id"] = attrs["emoji-id"]
                else:
                    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, i)}')
                stack.append((name, kind, out.offset, extra))
            i = end + 1
        elif c == "&":
            m = _ENTITY_RE.match(src, i)
            if m:
                body = m.group(1)
                if body.startswith("#"):
                    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
                    try:
                        out.add(chr(code))
                    except (ValueError, OverflowError):
                        out.add(m.group(0))
                else:
                    out.add({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[body])
                i = m.end()
            else:
                out.add("&")
                i += 1
        else:
            j = i
            while j < len(src) and src[j] not in "<&":
                j += 1
            out.add(src[i:j])
            i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), out.entities


# ---------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2, enforcing Telegram's "reserved character must be escaped" rule."""
    out = _Builder()
    # stack: (marker, entity type, start offset, source index)
    stack: list[tuple[str, str, int, int]] = []
    stack_lang: list[str | None] = []  # language of each open ``` block
    quote_start: int | None = None
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        top = stack[-1][0] if stack else None
        in_code = top in ("`", "```")
        at_line_start = i == 0 or src[i - 1] == "\n"
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) < 127:
            out.add(src[i + 1])
            i += 2
            continue
        if in_code:
            if top == "```" and src.startswith("```", i):
                _m, kind, start, _si = stack.pop()
                lang = stack_lang.pop() if stack_lang else None
                out.entity(kind, start, **({"language": lang} if lang else {}))
                i += 3
            elif top == "`" and c == "`":
                _m, kind, start, _si = stack.pop()
                out.entity(kind, start)
                i += 1
            else:
                out.add(c)
                i += 1
            continue
        if c == "\n" and quote_start is not None and not src.startswith(">", i + 1):
            out.entity("blockquote", quote_start)
            quote_start = None
        if c == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.offset
            i += 1
            continue
        if c not in _MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        # closing markers
        if top == "*" and c == "*":
            out.entity("bold", stack.pop()[2])
            i += 1
            continue
        if top == "__" and src.startswith("__", i):
            out.entity("underline", stack.pop()[2])
            i += 2
            continue
        if top == "_" and c == "_":
            out.entity("italic", stack.pop()[2])
            i += 1
            continue
        if top == "~" and c == "~":
            out.entity("strikethrough", stack.pop()[2])
            i += 1
            continue
        if top == "||" and src.startswith("||", i):
            out.entity("spoiler", stack.pop()[2])
            i += 2
            continue
        if top in ("[", "![") and c == "]":
            marker, _kind, start, _si = stack.pop()
            i += 1
            if not src.startswith("(", i):
                if marker == "![":
                    raise EntityParseError(f"Custom emoji entity must contain a tg://emoji URL at byte offset {_byte_offset(src, i)}")
                continue  # "[text]" without a URL is plain text in Telegram
            j = i + 1
            url_chars: list[str] = []
            while j < n and src[j] != ")":
                if src[j] == "\\" and j + 1 < n:
                    url_chars.append(src[j + 1])
                    j += 2
                else:
                    url_chars.append(src[j])
                    j += 1
            if j >= n:
                raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, i + 1)}")
            url = "".join(url_chars)
            if marker == "![":
                m = re.match(r"tg://emoji\?id=(\d+)", url)
                if not m:
                    raise EntityParseError(f"Custom emoji URL must have an emoji identifier at byte offset {_byte_offset(src, i)}")
                out.entity("custom_emoji", start, custom_emoji_id=m.group(1))
            else:
                out.entity("text_link", start, url=url)
            i = j + 1
            continue
        # opening markers
        if src.startswith("```", i):
            nl = src.find("\n", i + 3)
            lang = None
            if nl >= 0 and re.fullmatch(r"[A-Za-z0-9_+\-#.]*", src[i + 3 : nl]):
                lang = src[i + 3 : nl] or None
                i = nl + 1
            else:
                i += 3
            stack.append(("```", "pre", out.offset, i))
            stack_lang.append(lang)
            continue
        opening = {"*": "bold", "~": "strikethrough", "`": "code", "[": "text_link"}
        if src.startswith("__", i):
            stack.append(("__", "underline", out.offset, i))
            i += 2
        elif src.startswith("||", i):
            stack.append(("||", "spoiler", out.offset, i))
            i += 2
        elif src.startswith("![", i):
            stack.append(("![", "custom_emoji", out.offset, i))
            i += 2
        elif c == "_":
            stack.append(("_", "italic", out.offset, i))
            i += 1
        elif c in opening:
            stack.append((c, opening[c], out.offset, i))
            i += 1
        else:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        _m, kind, _start, si = stack[-1]
        raise EntityParseError(f"Can't find end of {_kind_name(kind)} entity at byte offset {_byte_offset(src, si)}")
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.text(), out.entities


def _kind_name(kind: str) -> str:
    return {"text_link": "TextUrl", "custom_emoji": "CustomEmoji"}.get(kind, kind.replace("_", " ").title().replace(" ", ""))


# ---------------------------------------------------------------- legacy Markdown


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown (no nesting; only ``_*`[`` are special and escapable)."""
    out = _Builder()
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        start_index = i
        if src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, start_index)}")
            body = src[i + 3 : end]
            lang = None
            nl = body.find("\n")
            if nl >= 0 and re.fullmatch(r"[A-Za-z0-9_+\-#.]+", body[:nl]):
                lang, body = body[:nl], body[nl + 1 :]
            start = out.offset
            out.add(body)
            out.entity("pre", start, **({"language": lang} if lang else {}))
            i = end + 3
            continue
        if c == "[":
            close = src.find("]", i + 1)
            if close < 0 or not src.startswith("(", close + 1) or src.find(")", close + 2) < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, start_index)}")
            url_end = src.find(")", close + 2)
            start = out.offset
            out.add(src[i + 1 : close])
            out.entity("text_link", start, url=src[close + 2 : url_end])
            i = url_end + 1
            continue
        end = src.find(c, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(src, start_index)}")
        start = out.offset
        out.add(src[i + 1 : end])
        out.entity({"_": "italic", "*": "bold", "`": "code"}[c], start)
        i = end + 1
    return out.text(), out.entities


# ---------------------------------------------------------------- auto-detected entities

_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("bot_command", re.compile(r"(?<![A-Za-z0-9_/<>@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/])")),
    ("url", re.compile(r"(?<![\w@])(?:https?|tg)://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def auto_entities(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities Telegram adds by itself (commands, URLs, mentions, hashtags).

    Why: PTB's CommandHandler only fires when a ``bot_command`` entity sits at offset 0, so
    user messages must carry it, and bot messages get the same treatment for fidelity.
    Spans overlapping code/pre/text_link entities are skipped, as Telegram does.
    """
    blocked = [(e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in ("code", "pre", "text_link")]
    found: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            start = utf16_len(text[: m.start()])
            end = start + utf16_len(m.group(0))
            if any(a < end and start < b for a, b in blocked + taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace and clip entities, as Telegram does for message text."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    return stripped, result


def format_text(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    detect: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """Turn API input (text + parse_mode or explicit entities) into what the Message will carry.

    Explicit ``entities`` win over ``parse_mode`` like in the real API.  Raises
    EntityParseError for malformed markup and ValueError for an unknown parse mode.
    """
    if entities:
        plain, ents = text, [dict(e) for e in entities]
    elif parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            plain, ents = parse_html(text)
        elif mode == "markdownv2":
            plain, ents = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, ents = parse_markdown(text)
        else:
            raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    else:
        plain, ents = text, []
    plain, ents = _strip(plain, ents)
    if detect:
        ents = ents + auto_entities(plain, ents)
    ents.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, ents
