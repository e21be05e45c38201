"""``voice.batches.BatchThread``: the queue the group commits share."""

from __future__ import annotations

import threading

from voice.batches import BatchThread


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.handled = threading.Condition()

    def handle(self, batch: list[int]) -> None:
        with self.handled:
            self.batches.append(batch)
            self.handled.notify_all()

    def wait_for(self, entries: int) -> None:
        with self.handled:
            assert self.handled.wait_for(
                lambda: sum(len(b) for b in self.batches) >= entries, timeout=60
            )


def test_what_arrives_while_a_batch_is_handled_goes_together_into_the_next() -> None:
    recorder = Recorder()
    counts: list[int] = []
    batches = BatchThread("test-batches", recorder.handle, max_batch=3, counted=counts.append)
    with batches.handling:  # a batch is under way
        batches.put([1])
        batches.put([2, 3, 4, 5])
        assert batches.queued() == 5
    recorder.wait_for(5)
    batches.close()
    # At most three to a batch, in the order queued.
    assert recorder.batches == [[1, 2, 3], [4, 5]]
    assert counts == [1, 4, -3, -2]
    assert batches.queued() == 0


def test_a_failing_handler_does_not_stop_the_thread() -> None:
    recorder = Recorder()
    failed = threading.Event()

    def handle(batch: list[int]) -> None:
        if 0 in batch:
            failed.set()
            raise RuntimeError("a defect")
        recorder.handle(batch)

    batches = BatchThread("test-failing", handle, max_batch=10)
    batches.put([0])
    assert failed.wait(timeout=60)
    batches.put([7])
    recorder.wait_for(1)
    batches.close()
    assert recorder.batches == [[7]]


def test_close_handles_what_is_queued_stops_and_a_later_put_starts_again() -> None:
    recorder = Recorder()
    batches = BatchThread("test-close", recorder.handle, max_batch=2)
    with batches.handling:
        batches.put([1, 2, 3])
        assert batches.running
    batches.close()
    assert recorder.batches == [[1, 2], [3]]
    assert not batches.running
    batches.put([4])
    recorder.wait_for(4)
    batches.close()
    assert recorder.batches[-1] == [4]
    assert not batches.running
