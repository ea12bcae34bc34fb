"""The console walks a whole case, researcher and officers, through the same line handling a person uses
(bot/console.py: typed text is an answer, `#n` presses button n, commands go through the registry): the
admin registers the unit and invites, the reviewer and the officer join, the researcher applies, the
reviewer approves, the officer records the panel and decides, and the applicant reads the outcome."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from bot.config import Settings
from bot.console import handle_line, run_console
from bot.reply import Reply, Who
from bot.runtime import build_runtime
from tests.scenario import Step, happy_path


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=dt.date(2026, 11, 20), admin_ids=[900],
                                  _env_file=None))


class ConsoleUser:
    """One person at the console: the last screen's buttons, and every line they typed."""

    def __init__(self, runtime, user_id: int) -> None:
        self.runtime = runtime
        self.who = Who(user_id, "console", None, "zh")
        self.actions: list[str] = []
        self.out = io.StringIO()
        self.last = ""

    def line(self, text: str) -> str:
        reply = handle_line(self.runtime, self.who, text, self.actions, self.out)
        assert reply is not None, (text, self.out.getvalue()[-300:])
        return self._take(reply)

    def _take(self, reply: Reply) -> str:
        if reply.view is not None:
            self.actions = [data for row in reply.view.buttons for _label, data in row] or self.actions
            self.last = reply.view.text
        return (reply.toast or "") + (reply.view.text if reply.view else "")

    def press(self, suffix: str) -> str:
        number = next((i for i, d in enumerate(self.actions, 1) if d == suffix or d.endswith(":" + suffix)), None)
        assert number is not None, (suffix, self.actions, self.last[-300:])
        return self.line(f"#{number}")

    def press_prefix(self, prefix: str) -> str:
        number = next((i for i, d in enumerate(self.actions, 1) if d.startswith(prefix)), None)
        assert number is not None, (prefix, self.actions)
        return self.line(f"#{number}")


def test_the_console_walks_a_whole_case_researcher_and_officer(runtime):
    admin, reviewer, officer, researcher = (ConsoleUser(runtime, u) for u in (900, 602, 601, 501))
    assert "已登记" in admin.line("/units add zhejiang 浙江大学材料学院")
    for who, args in ((reviewer, "unit zhejiang 浙江大学材料学院 602"), (officer, "officer zhejiang 601")):
        code = re.search(r"start[= ]([\w-]+)", admin.line(f"/invite {args}")).group(1)
        assert "欢迎" in who.line(f"/start {code}")

    # the researcher applies at the console; materials are marked "later" (console files stay local)
    policy = runtime.policies["zhejiang"]
    researcher.line("/new")
    for step in happy_path(policy):
        if step.kind == "doc":
            continue
        if step == Step("text", "测试-unit"):
            step = Step("text", "浙江大学 材料学院")
        if step.kind == "press" and step.value.startswith("m:"):
            step = Step("press", "l:" + step.value[2:])
        text = researcher.press(step.value) if step.kind == "press" else researcher.line(step.value)
        assert "⚠" not in text.split("\n")[-1], (step, text[-300:])
    assert "ZJ-2026-0001" in researcher.last

    # the reviewer: /queue, open, approve with an opinion
    assert "ZJ-2026-0001" in reviewer.line("/queue")
    reviewer.press_prefix("c:o:")
    reviewer.press("unit_approve")
    reviewer.line("情况属实，同意报送")
    assert "✅ 已记录" in reviewer.press_prefix("c:k:")

    # the officer walks the rest: period, acceptance, experts, the panel, the decision
    officer.line("/case ZJ-2026-0001")
    officer.press("set_limit")
    officer.press_prefix("c:p:1:time_limit:acceptance")
    officer.line("10")
    assert "✅ 已记录" in officer.press_prefix("c:k:")
    officer.press("accept")
    assert "✅ 已记录" in officer.press_prefix("c:k:")  # the opinion is optional: confirmed at once
    officer.press("to_experts")
    officer.line("符合二(二)2")
    officer.press_prefix("c:k:")
    for name, kind in (("张一", "technical"), ("李二", "technical"), ("王三", "technical"), ("赵四", "financial"),
                       ("钱五", "financial")):
        officer.press("expert")
        officer.line(name)
        officer.press_prefix(f"c:p:1:kind:{kind}")
        for criterion in ("innovative", "strategic", "necessary", "inspiring", "records", "funds"):
            officer.press_prefix(f"c:p:1:{criterion}:good")
        assert "✅ 已记录" in officer.press_prefix("c:k:")
    assert "已记录 5/5" in officer.last
    officer.press("experts_done")  # 三(三): the panel's overall conclusion and assessment are recorded
    officer.press_prefix("c:p:1:conclusion:diligent")
    officer.line("五位专家一致认为已履行勤勉尽责义务")
    assert "✅ 已记录" in officer.press_prefix("c:k:")
    officer.press("decide")
    officer.press_prefix("c:p:1:outcome:exempt")
    for value in ("属于技术路线选择失误", "2026年第5次厅务会", "2026-11-18", "厅长、副厅长"):
        officer.line(value)
    assert "已作出认定决定" in officer.press_prefix("c:k:")

    # the applicant at the console: the notifications are printed, /status and the file show the outcome
    out = io.StringIO()
    # with the lines that crashed the console in the trial: an empty line, spaces, an unknown command
    run_console(runtime, 501, io.StringIO("\n   \n/foo\n/status\n#1\n/quit\n"), out)
    text = out.getvalue()
    assert "空行已忽略" in text and "未知命令 /foo" in text
    assert "🔔 📣 ZJ-2026-0001" in text and "所在单位已审核通过" in text and "已作出认定决定" in text
    assert "认定为容错免责" in text and "属于技术路线选择失误" in text and "结果与理由" in text
    assert "Traceback" not in text
