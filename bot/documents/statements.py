"""Yes/no questions of the policy files turned into the declarations a signed application makes.

The wizard asks the negative list and the gates as questions (是否存在……？ / "Was there any …?"), and
the policy files hold them that way. A document the applicant signs must state what they declare
("不存在……的情形。" / "There was not any …."), so each question is rewritten by the answer given. The
rules below cover the question forms the five policy files use; a question they do not recognise is
not guessed at: `declare` returns None and the document prints the question with the answer instead
(tests/test_documents.py fails on that for every policy file, so a new form gets a rule here).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_END = re.compile(r"[？?]\s*$")

# Chinese: the question word 是否 sits before the verb it asks about; the answer replaces it.
_ZH_NO = (("是否存在", "不存在"), ("是否发生", "未发生"), ("是否已经", "尚未"), ("是否已", "尚未"),
          ("是否有", "没有"), ("是否曾", "未曾"), ("是否", "未"))
_ZH_YES = (("是否存在", "存在"), ("是否发生", "发生"), ("是否已经", "已经"), ("是否已", "已"),
           ("是否有", "有"), ("是否曾", "曾"), ("是否", ""))


def _zh(question: str, answer: bool) -> str | None:
    text = _END.sub("", question.strip())
    for asked, said in _ZH_YES if answer else _ZH_NO:
        if asked in text:
            head, _, tail = text.partition(asked)
            if not answer and asked == "是否发生":
                # 是否发生A，或存在B？ → 未发生A，也不存在B。
                tail = re.sub(r"，或存在", "，也不存在", tail, count=1)
            stated = f"{head}{said}{tail}"
            return stated if "是否" not in stated else None
    return None


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _some(text: str) -> str:
    """"any other X" → "another X", "any X" → "X": the affirmative of a negative-polarity phrase."""
    return re.sub(r"^any other ", "another ", re.sub(r"^any (?!other )", "", text))


def _en_you(text: str) -> str:
    return re.sub(r"\byour\b", "my (our)", re.sub(r"\byou\b", "I (we)", text))


# English: (pattern, builder for "no", builder for "yes"); the first pattern that matches is used.
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str], Callable[[re.Match[str]], str]]
_EN: list[_Rule] = [
    # "[In the transfer, ]was there any X?"
    (re.compile(r"^(?P<pre>.*?, )?(?P<aux>[Ww]as|[Ii]s|[Ww]ere|[Aa]re) there (?P<rest>any .*)$"),
     lambda m: _cap(f"{m['pre'] or ''}there {m['aux'].lower()} not {m['rest']}"),
     lambda m: _cap(f"{m['pre'] or ''}there {m['aux'].lower()} " + _some(m["rest"]))),
    # "Did you[, without …,] use your position …?"
    (re.compile(r"^Did you(?P<rest>[ ,].*)$"),
     lambda m: "I (we) did not" + _en_you(m["rest"]),
     lambda m: "I (we) did" + _en_you(m["rest"])),
    # "Did any X occur[, or any Y]?"
    (re.compile(r"^Did any (?P<subj>.+?) occur(?:, or any (?P<more>.+))?$"),
     lambda m: f"No {m['subj']} occurred" + (f", nor any {m['more']}" if m["more"] else ""),
     lambda m: f"A {m['subj']} occurred" + (f", or a {m['more']}" if m["more"] else "")),
    # "Was any X violated?"
    (re.compile(r"^(?P<aux>Was|Is|Were|Are) any (?P<subj>.+) (?P<verb>\w+ed)$"),
     lambda m: f"No {m['subj']} {m['aux'].lower()} {m['verb']}",
     lambda m: f"A {m['subj']} {m['aux'].lower()} {m['verb']}"),
    # "Has the project already undergone X?" / "Has a termination application been filed?"
    (re.compile(r"^(?P<aux>Has|Have) (?P<subj>(?:the|this|that|a|an|its|their) .+?) (?:already )?"
                r"(?P<rest>(?:been|undergone|made|begun|done|taken|given|\w+ed)\b.*)$"),
     lambda m: f"{_cap(m['subj'])} {m['aux'].lower()} not {m['rest']}",
     lambda m: f"{_cap(m['subj'])} {m['aux'].lower()} {m['rest']}"),
    # "Was a X [not] handled …, or concealed …?" (a subject, then a participle phrase)
    (re.compile(r"^(?P<aux>Was|Is|Were|Are) (?P<subj>(?:a|an|the) .+?) (?P<rest>(?:not )?\w+ed\b.*)$"),
     lambda m: f"It is not the case that {m['subj']} {m['aux'].lower()} {m['rest']}",
     lambda m: f"{_cap(m['subj'])} {m['aux'].lower()} {m['rest']}"),
]


def _en(question: str, answer: bool) -> str | None:
    text = _END.sub("", question.strip())
    for pattern, no, yes in _EN:
        found = pattern.match(text)
        if found:
            return (yes if answer else no)(found)
    return None


def declare(question: str, answer: bool, lang: str) -> str | None:
    """The statement that answers `question` with `answer`, ending in a full stop; None when the
    question's form is not one the rules know."""
    stated = _en(question, answer) if lang == "en" else _zh(question, answer)
    if stated is None:
        return None
    return stated + ("." if lang == "en" else "。")
