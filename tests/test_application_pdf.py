"""The 申请书 of every policy, in Chinese and English, opened as a person would: LibreOffice (headless)
makes the PDF, poppler reads it back. What a unit's office would check before stamping it: A4 paper,
the text inside the GB/T 9704 text block, the CJK font embedded, page one not blank, the identity and
the addressee printed, no wizard prompt and no internal id, no heading left at the foot of a page and
no page holding only the signature lines, and for Zhejiang the undertaking unit's review box."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from bot.documents.application import application_docx
from dialogs.policy import load_policies
from tests.application_answers import FILED, PERSON, PROMPTS, UNIT, draft_for, leaked_ids

POLICIES = load_policies()
TOOLS = ("soffice", "pdfinfo", "pdffonts", "pdftotext", "pdftoppm")
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
# The text block of GB/T 9704 on A4: 28 mm from the left edge, 156 mm wide, 37 mm from the top, 225 mm high.
BLOCK = (28 * MM, 37 * MM, (28 + 156) * MM, (37 + 225) * MM)
CASES = [(key, lang) for key in POLICIES for lang in ("zh", "en")]


def _run(*args: str) -> str:
    return subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=180).stdout


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """All ten documents converted in one LibreOffice run (a start of soffice costs seconds)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"missing {missing}: test.sh installs libreoffice-writer-nogui and poppler-utils"
    out = tmp_path_factory.mktemp("applications")
    docs = []
    for key, lang in CASES:
        policy = POLICIES[key]
        kind = "unit" if key == "dongguan" and lang == "en" else "person"
        path = out / f"{key}-{lang}.docx"
        path.write_bytes(application_docx(policy, draft_for(policy, kind=kind), None, lang, today=FILED,
                                          case_number=f"{policy.case_prefix}-2026-0001", submitted_on=FILED))
        docs.append(str(path))
    _run("soffice", f"-env:UserInstallation=file://{out}/lo", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), *docs)
    return {(key, lang): out / f"{key}-{lang}.pdf" for key, lang in CASES}


def _pages(pdf: Path) -> list[str]:
    count = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf)))[1])
    return [_run("pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-") for n in range(1, count + 1)]


def _flat(text: str) -> str:
    """Text without line breaks and the spaces LibreOffice puts where a line wrapped."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(("key", "lang"), CASES)
def test_the_application_prints_on_a4_as_a_unit_would_stamp_it(pdfs, key, lang, tmp_path):
    policy = POLICIES[key]
    pdf = pdfs[(key, lang)]
    info = _run("pdfinfo", str(pdf))
    width, height = (float(x) for x in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(width - A4[0]) < 1 and abs(height - A4[1]) < 1, info

    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), "the CJK font is embedded:\n" + "\n".join(fonts)

    # every word of the body inside the text block (the page number sits under it, as GB/T 9704 has it)
    bbox = _run("pdftotext", "-bbox", str(pdf), "-")
    words = [(*(float(v) for v in m.groups()[:4]), m[5]) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox)]
    body = [w for w in words if not re.fullmatch(r"[—\d]+", w[4])]
    assert body and min(w[0] for w in body) >= BLOCK[0] - 1 and min(w[1] for w in body) >= BLOCK[1] - 1
    assert max(w[3] for w in body) <= BLOCK[3] + 1
    for _x0, _y0, x1, _y1, word in body:
        # a closing CJK mark at a line's end is boxed with its full advance, but its ink is the left half
        # (LibreOffice compresses it; measured: ink at 516 pt of the block's 521.6 pt)
        slack = 7.5 if word[-1] in "，、。；：）》”’" else 1
        assert x1 <= BLOCK[2] + slack, f"{word!r} runs past the text block ({x1:.1f} > {BLOCK[2]:.1f} pt)"

    pages = _pages(pdf)
    text = "\n".join(pages)
    flat = _flat(text)
    identity = UNIT if key == "dongguan" and lang == "en" else PERSON
    for value in identity.values():
        assert _flat(value) in flat, f"identity {value!r}"
    body_name = policy.decider_short.name_for(draft_for(policy).answers["project"], lang)
    assert _flat(("致：" if lang == "zh" else "To:") + body_name) in flat
    for prompt in PROMPTS:
        assert _flat(prompt) not in flat, prompt
    assert not leaked_ids(text, policy, lang)
    if key == "zhejiang":
        assert _flat("项目承担单位审核意见（三(一)）" if lang == "zh" else "Review opinion of the undertaking unit") in flat

    headings = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|\d+\. [A-Z][a-z]+(?: [a-z]+)*$)")
    for n, page in enumerate(pages, 1):
        lines = [line.strip() for line in page.splitlines() if line.strip() and not re.fullmatch(r"—\s*\d+\s*—", line.strip())]
        assert lines, f"page {n} is empty"
        assert not headings.match(lines[-1]) or n == len(pages), f"page {n} ends with the heading {lines[-1]!r}"
        signature_only = all(re.search(r"签字|盖章|日期|signature|seal|Date", line) for line in lines)
        assert not signature_only, f"page {n} holds only signature and seal lines: {lines}"

    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert page.width > 400 and ImageStat.Stat(page).stddev[0] > 10, "page one is not blank"
