"""`python -m scheduler due …` answers "when is this due?"; `python -m scheduler add-year FILE` installs a
year's State Council holiday arrangement after validating it. Used by officers, admins and tests.

This is the command line's composition root, the one module of scheduler/ that imports the bot's
message catalogue (bot.i18n) so that its answers read like the bot's own; the library modules of
scheduler/ never import bot/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, render
from dialogs.policy import Policy, PolicyError, load_policies
from dialogs.text import Join, Msg, Plain, Text, msg
from scheduler.calendar import WorkCalendar
from scheduler.clocks import due_date, rolled_text
from scheduler.holiday_file import ArrangementError, load_arrangement, save_arrangement


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a period has at least one day, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    due = sub.add_parser("due", help="the due date of a policy's time limit started on a given day")
    due.add_argument("--policy", required=True)
    due.add_argument("--step", required=True, help="the time limit's id, e.g. filing, acceptance, decision")
    due.add_argument("--from", dest="start", required=True, type=_date, help="the day of the starting event")
    due.add_argument("--length", "--days", dest="length", type=_positive,
                     help="the number of days, for limits the deciding body sets per case (set_per_case)")
    due.add_argument("--extended", action="store_true", help="add the limit's one extension")
    due.add_argument("--lang", choices=sorted(LANGUAGES), default=DEFAULT_LANGUAGE,
                     help="language of the answer (default: zh)")
    add = sub.add_parser("add-year", help="validate a year's holiday arrangement file and install it")
    add.add_argument("file")
    add.add_argument("--overwrite", action="store_true")
    return parser


def _add_year(file: str, overwrite: bool) -> int:
    try:
        arrangement = load_arrangement(file)
    except (ArrangementError, OSError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    try:
        path = save_arrangement(arrangement, overwrite=overwrite)
    except (FileExistsError, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"installed {arrangement.year}: {path}")
    return 0


def _refusal(policy: Policy | None, args: argparse.Namespace, policies: dict[str, Policy]) -> Msg | None:
    """Why the question cannot be answered, in the catalogue's words (checked before computing)."""
    if policy is None:
        return msg("cal.cli.unknown_policy", policy=args.policy, known=", ".join(policies))
    limit = next((t for t in policy.time_limits if t.id == args.step), None)
    if limit is None:
        return msg("cal.cli.unknown_step", policy=policy.key, step=args.step,
                   known=", ".join(t.id for t in policy.time_limits))
    if limit.length is None and args.length is None:
        return msg("cal.cli.needs_length", policy=policy.key, step=limit.id, clause=limit.clause)
    if args.length is not None and limit.length is not None and not limit.set_per_case:
        return msg("cal.cli.fixed_length", policy=policy.key, step=limit.id, clause=limit.clause,
                   length=_length_text(limit.length, limit.unit == "working_days"))
    if args.extended and not limit.extension:
        return msg("cal.cli.no_extension", policy=policy.key, step=limit.id, clause=limit.clause)
    return None


def _length_text(n: int, working: bool) -> Msg:
    return msg("cal.n.working", n=n) if working else msg("cal.n.calendar", n=n)


def _due(args: argparse.Namespace) -> int:
    lang = args.lang
    try:
        policies = load_policies()
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    policy = policies.get(args.policy)
    refusal = _refusal(policy, args, policies)
    if refusal is not None:
        print(render(msg("cal.cli.error", text=refusal), lang), file=sys.stderr)
        return 2
    assert policy is not None  # _refusal answered for a missing one
    result, limit = due_date(policy, args.step, args.start, WorkCalendar(), args.length, args.extended)
    n = (args.length or limit.length or 0) + ((limit.extension or 0) if args.extended else 0)
    notes: list[Text] = []
    rolled = rolled_text(result)
    if rolled is not None:
        notes.append(rolled)
    if result.provisional:
        notes.append(msg("cal.provisional", years=", ".join(map(str, result.unknown_years))))
    line = msg("cal.cli.due", date=result.date.isoformat(), policy=policy.key, step=limit.id,
               start=args.start.isoformat(), length=_length_text(n, limit.unit == "working_days"),
               clause=limit.clause,
               extended=msg("cal.cli.extended", clause=limit.extension_clause or limit.clause)
               if args.extended else Plain(""))
    print(render(Join((line, *(msg("cal.cli.note", text=note) for note in notes))), lang))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "add-year":
        return _add_year(args.file, args.overwrite)
    return _due(args)


if __name__ == "__main__":
    sys.exit(main())
