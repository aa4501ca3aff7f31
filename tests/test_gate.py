"""The process-wide provider gate, with real threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from components.gate import ProviderGate


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Meter:
    """Counts the blocks running at once, as the gate's users see them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.done = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1
            self.done += 1


def _start(gate: ProviderGate, meter: Meter, count: int, hold: threading.Event | float) -> list:
    def work() -> None:
        with gate.slot(), meter:
            assert gate.active <= gate.limit
            if isinstance(hold, threading.Event):
                hold.wait(10)
            else:
                time.sleep(hold)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    return threads


def test_never_more_than_the_limit_at_once() -> None:
    gate, meter = ProviderGate(3), Meter()
    threads = _start(gate, meter, 12, 0.02)
    for t in threads:
        t.join(10)
    assert meter.done == 12 and meter.most == 3
    assert gate.active == 0 and gate.waiting == 0


def test_counts_show_who_is_in_and_who_waits() -> None:
    gate, meter, release = ProviderGate(2), Meter(), threading.Event()
    assert (gate.limit, gate.active, gate.waiting) == (2, 0, 0)
    threads = _start(gate, meter, 5, release)
    wait_for(lambda: gate.active == 2 and gate.waiting == 3)
    assert meter.now == 2
    release.set()
    for t in threads:
        t.join(10)
    assert (gate.active, gate.waiting, meter.done) == (0, 0, 5)


def test_resizing_up_lets_waiters_in_at_once() -> None:
    gate, meter, release = ProviderGate(1), Meter(), threading.Event()
    threads = _start(gate, meter, 4, release)
    wait_for(lambda: gate.active == 1 and gate.waiting == 3)
    gate.resize(4)
    wait_for(lambda: gate.active == 4 and gate.waiting == 0)  # nobody had to leave first
    assert meter.now == 4
    release.set()
    for t in threads:
        t.join(10)
    assert meter.done == 4


def test_resizing_down_lets_nobody_new_in_until_below_the_new_limit() -> None:
    gate, meter, release = ProviderGate(3), Meter(), threading.Event()
    first = _start(gate, meter, 3, release)
    wait_for(lambda: gate.active == 3)
    gate.resize(1)
    second_release = threading.Event()
    later = _start(gate, meter, 2, second_release)
    wait_for(lambda: gate.waiting == 2)
    assert gate.active == 3 and gate.limit == 1  # the ones in finish their work
    release.set()
    for t in first:
        t.join(10)
    wait_for(lambda: gate.active == 1 and gate.waiting == 1)
    second_release.set()
    for t in later:
        t.join(10)
    assert (gate.active, gate.waiting, meter.done) == (0, 0, 5)


@pytest.mark.parametrize(("asked", "limit"), [(0, 1), (-5, 1), (1, 1), (7, 7), ("3", 3)])
def test_the_limit_is_at_least_one(asked: object, limit: int) -> None:
    assert ProviderGate(asked).limit == limit  # type: ignore[arg-type]
    gate = ProviderGate(4)
    gate.resize(asked)  # type: ignore[arg-type]
    assert gate.limit == limit


def test_a_failure_inside_gives_the_slot_back() -> None:
    gate = ProviderGate(1)
    with pytest.raises(RuntimeError), gate.slot():
        assert gate.active == 1
        raise RuntimeError("request crashed")
    assert gate.active == 0
    with gate.slot():  # and the next one gets in without waiting
        assert gate.active == 1
