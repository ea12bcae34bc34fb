"""The one time zone of the product: the texts count days as people in China see them (Beijing time)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
