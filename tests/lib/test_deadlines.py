"""Deadlines: an armed action runs once its moment comes, a withdrawn one never does, and one
thread serves them all in the order they fall due."""

from __future__ import annotations

import threading

from dbconnector.lib.deadlines import Deadlines


def test_actions_run_in_due_order_unless_withdrawn():
    deadlines = Deadlines("test-deadlines")
    ran: list[str] = []
    last = threading.Event()

    def note(name: str) -> None:
        ran.append(name)
        if name == "late":
            last.set()

    late = deadlines.arm(0.3, lambda: note("late"))
    withdrawn = deadlines.arm(0.1, lambda: note("withdrawn"))
    early = deadlines.arm(0.05, lambda: note("early"))
    assert deadlines.withdraw(withdrawn) is False  # withdrawn before its moment
    assert last.wait(10)
    assert ran == ["early", "late"]
    assert deadlines.withdraw(early) is True and deadlines.withdraw(late) is True


def test_a_failing_action_does_not_stop_the_next():
    deadlines = Deadlines("test-deadlines")
    done = threading.Event()
    deadlines.arm(0.01, lambda: 1 / 0)
    deadlines.arm(0.02, done.set)
    assert done.wait(10)
