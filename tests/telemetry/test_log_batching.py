"""requestlog.BatchingStreamHandler: lines go out in one write per interval, at once from
WARNING up, in order, and nothing is lost on flush or at exit."""

from __future__ import annotations

import io
import logging
import time

from dbconnector.telemetry.requestlog import BatchingStreamHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_with(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return logger


def test_info_lines_wait_for_one_batched_write():
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=3600)  # the flusher never fires here
    logger = logger_with(handler, "test.batching.info")
    for n in range(100):
        logger.info("line %d", n)
    assert stream.writes == 0
    handler.flush()
    assert stream.writes == 1
    assert stream.getvalue().splitlines() == [f"INFO line {n}" for n in range(100)]


def test_a_warning_goes_out_at_once_with_what_was_pending():
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=3600)
    logger = logger_with(handler, "test.batching.warning")
    logger.info("before")
    logger.warning("trouble")
    assert stream.getvalue().splitlines() == ["INFO before", "WARNING trouble"]
    assert stream.writes == 1


def test_the_flusher_thread_writes_pending_lines_by_itself():
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=0.01)
    logger = logger_with(handler, "test.batching.thread")
    logger.info("eventually")
    deadline = time.monotonic() + 10
    while "eventually" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "INFO eventually\n"


def test_a_full_batch_is_written_without_waiting():
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=3600)
    logger = logger_with(handler, "test.batching.full")
    for n in range(1000):
        logger.info("%d", n)
    assert stream.writes == 1 and len(stream.getvalue().splitlines()) == 1000


def test_a_broken_stream_never_raises_into_the_caller():
    stream = io.StringIO()
    stream.close()
    handler = BatchingStreamHandler(stream, interval=3600)
    logger = logger_with(handler, "test.batching.closed")
    logger.error("nowhere to go")  # written at once: must not raise
    handler.flush()
