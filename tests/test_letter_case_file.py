"""The case file says the governing document's status once (Zhejiang's title already ends "（征求意见稿）")."""

from __future__ import annotations

from bot.reply import Who
from tests.driver import drive
from tests.test_officer_flow import runtime, submit  # noqa: F401


def test_case_header_names_a_draft_for_comment_once(runtime):  # noqa: F811
    def header(policy_key: str, user_id: int) -> str:
        who = Who(user_id, "研究员")
        case = submit(runtime, policy_key, who)
        text = drive(runtime).press(who, f"c:o:{case.id}").view.text
        return next(line for line in text.split("\n") if line.startswith("适用文件："))

    assert header("zhejiang", 511).count("征求意见稿") == 1
    assert header("dongguan", 512).count("征求意见稿") == 1
    assert header("liaoning", 513).endswith("（现行有效）")
