"""File storage for the fake Bot API: file_ids, file paths, and image size sniffing.

Why: bots receive files by file_id, resend them by file_id, and download them via getFile +
``/file/bot<token>/<file_path>``.  Tests need all three to work on the same bytes, and a
30 MB upload must not be copied around needlessly, so content is stored once, by reference.
"""

from __future__ import annotations

import itertools
import mimetypes
import secrets
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FileStore", "StoredFile", "image_size", "photo_size_limits"]

#: The thumbnail sides Telegram generates for photos (s, m, x, y, w).
photo_size_limits: tuple[int, ...] = (90, 320, 800, 1280, 2560)

_PREFIX = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI", "sticker": "CAACAgIAAxkBAAI"}
_DIR = {"document": "documents", "photo": "photos", "sticker": "stickers"}


@dataclass
class StoredFile:
    """One stored file; ``content`` is shared, never copied, when handed out."""

    file_id: str
    file_unique_id: str
    kind: str  # "document", "photo" or "sticker"
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    declared_size: int | None = None  # a size Telegram reports without the test holding the bytes

    @property
    def file_size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content)

    def document_dict(self) -> dict[str, Any]:
        """The Document object as the Bot API serialises it (absent fields omitted)."""
        doc: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name is not None:
            doc["file_name"] = self.file_name
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.file_size
        return doc

    def photo_size_dict(self) -> dict[str, Any]:
        """The PhotoSize object for one generated photo size."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width or 0,
            "height": self.height or 0,
        }

    def file_dict(self) -> dict[str, Any]:
        """The File object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


class FileStore:
    """Thread-safe registry of files by file_id and by file_path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        content: bytes,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        *,
        unique_id: str | None = None,
        width: int | None = None,
        height: int | None = None,
        declared_size: int | None = None,
    ) -> StoredFile:
        """Store ``content`` (by reference) and mint ids/path the way Telegram shapes them."""
        with self._lock:
            n = next(self._counter)
        if kind == "document" and mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        ext = ""
        if kind == "photo":
            ext = ".jpg"
        elif file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1][:10]
        stored = StoredFile(
            file_id=f"{_PREFIX[kind]}{n:06d}{secrets.token_urlsafe(24)}",
            file_unique_id=unique_id or f"AgAD{n:04d}{secrets.token_hex(4)}",
            kind=kind,
            content=content,
            file_path=f"{_DIR[kind]}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            declared_size=declared_size,
        )
        with self._lock:
            self._by_id[stored.file_id] = stored
            self._by_path[stored.file_path] = stored
        return stored

    def add_photo(self, content: bytes, width: int, height: int) -> list[StoredFile]:
        """Store a photo as the list of sizes Telegram would generate (smallest first).

        There is no image library here, so every size serves the original bytes; only the
        reported width/height differ.
        """
        sizes: list[StoredFile] = []
        longest = max(width, height)
        for limit in photo_size_limits:
            scale = min(1.0, limit / longest)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            sizes.append(self.add(content, "photo", width=w, height=h))
            if scale >= 1.0:
                break
        return sizes

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        with self._lock:
            return self._by_path.get(file_path)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width/height of a PNG, JPEG, GIF or WebP image, or None if it is not one.

    Why: Telegram rejects photos it cannot decode (IMAGE_PROCESS_FAILED) and reports real
    dimensions; a header sniff gets both right without an image library.
    """
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return (w, h) if w and h else None
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return (w, h) if w and h else None
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return (w & 0x3FFF, h & 0x3FFF)
        if chunk == b"VP8L":
            b = head[21:25]
            w = 1 + (((b[1] & 0x3F) << 8) | b[0])
            h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
            return (w, h)
        if chunk == b"VP8X":
            w = 1 + int.from_bytes(head[24:27], "little")
            h = 1 + int.from_bytes(head[27:30], "little")
            return (w, h)
        return None
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk JPEG segments to the first SOFn marker, which carries the frame dimensions."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                return None
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return (w, h) if w and h else None
        i += 2 + length
    return None
