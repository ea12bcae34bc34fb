"""The single-process inbox queue (bot/lanes.py): the rules storage/inbox.claim_next keeps in SQL, kept in
memory — a chat's rows in order and one at a time, quick rows first across chats but never ahead of their
own chat, a backing-off row holding its lane."""

from __future__ import annotations

import datetime as dt

from bot.lanes import Lanes
from storage.inbox import Stored

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def row(row_id: int, lane: int, priority: int = 0) -> Stored:
    return Stored(row_id, 1000 + row_id, lane, priority, {"update_id": 1000 + row_id})


def drain(lanes: Lanes) -> list[int]:
    order = []
    while (entry := lanes.take(NOW)) is not None:
        order.append(entry.id)
        lanes.done(entry)
    return order


def test_a_chat_is_handled_in_order_and_one_row_at_a_time():
    lanes = Lanes()
    lanes.add([row(1, 7), row(2, 7), row(3, 8)])
    first = lanes.take(NOW)
    second = lanes.take(NOW)
    assert (first.id, second.id) == (1, 3)  # chat 7's second row waits for its first
    assert lanes.take(NOW) is None
    lanes.done(first)
    assert lanes.take(NOW).id == 2


def test_a_quick_row_goes_ahead_of_other_chats_but_never_ahead_of_its_own():
    lanes = Lanes()
    lanes.add([row(1, 7), row(2, 8), row(3, 9, priority=1), row(4, 10), row(5, 10, priority=1)])
    assert drain(lanes) == [3, 1, 2, 4, 5]  # as tests/test_inbox.py asks of the SQL claim


def test_the_quick_worker_takes_only_quick_heads():
    lanes = Lanes()
    lanes.add([row(1, 7), row(2, 8, priority=1)])
    assert lanes.take(NOW, min_priority=1).id == 2
    assert lanes.take(NOW, min_priority=1) is None
    assert lanes.take(NOW).id == 1


def test_an_earlier_row_offered_late_is_put_back_in_order_and_the_one_in_flight_stays_first():
    lanes = Lanes()
    lanes.add([row(5, 7)])
    in_flight = lanes.take(NOW)
    lanes.add([row(9, 7), row(3, 7), row(5, 7)])  # 5 again (the start's load and a store both saw it)
    assert len(lanes) == 3
    lanes.done(in_flight)
    assert drain(lanes) == [3, 9]


def test_a_row_backing_off_holds_its_lane_until_it_is_due():
    lanes = Lanes()
    lanes.add([row(1, 7), row(2, 7), row(3, 8)])
    failed = lanes.take(NOW)
    lanes.retry(failed, NOW + dt.timedelta(seconds=2))
    assert lanes.take(NOW).id == 3  # the other chat goes on
    assert lanes.take(NOW) is None  # chat 7 waits, its second row too
    assert lanes.next_due() == NOW + dt.timedelta(seconds=2)
    again = lanes.take(NOW + dt.timedelta(seconds=2))
    assert (again.id, again.attempts) == (1, 2)
