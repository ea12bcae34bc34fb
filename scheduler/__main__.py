"""`python -m scheduler due …` answers "when is this due?"; `python -m scheduler add-year FILE` installs a
year's State Council holiday arrangement after validating it. Used by officers, admins and tests."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from dialogs.policy import PolicyError, load_policies
from scheduler.calendar import ArrangementError, WorkCalendar, load_arrangement, save_arrangement
from scheduler.clocks import due_date


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    due = sub.add_parser("due", help="the due date of a policy's time limit started on a given day")
    due.add_argument("--policy", required=True)
    due.add_argument("--step", required=True, help="the time limit's id, e.g. filing, acceptance, decision")
    due.add_argument("--from", dest="start", required=True, type=_date, help="the day of the starting event")
    due.add_argument("--days", type=int, help="the length, for limits the deciding body sets per case")
    add = sub.add_parser("add-year", help="validate a year's holiday arrangement file and install it")
    add.add_argument("file")
    add.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "add-year":
        try:
            arrangement = load_arrangement(args.file)
        except (ArrangementError, OSError) as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        try:
            path = save_arrangement(arrangement, overwrite=args.overwrite)
        except (FileExistsError, ValueError) as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        print(f"installed {arrangement.year}: {path}")
        return 0

    try:
        policies = load_policies()
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    policy = policies.get(args.policy)
    if policy is None:
        print(f"error: unknown policy {args.policy!r}; known: {', '.join(policies)}", file=sys.stderr)
        return 2
    try:
        result, limit = due_date(policy, args.step, args.start, WorkCalendar(), args.days)
    except KeyError:
        known = ", ".join(t.id for t in policy.time_limits)
        print(f"error: {args.policy} has no time limit {args.step!r}; known: {known}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    unit = "working days" if limit.unit == "working_days" else "calendar days"
    note = f"  PROVISIONAL: no holiday arrangement loaded for {', '.join(map(str, result.unknown_years))}" \
        if result.provisional else ""
    print(f"{result.date.isoformat()}  {policy.key} {limit.id}: {limit.length or args.days} {unit} "
          f"after {args.start.isoformat()}, clause {limit.clause}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
