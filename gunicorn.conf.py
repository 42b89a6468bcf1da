"""gunicorn settings for DBConnector (read by `dbconnector serve` and `make run`).

gthread workers: each request mostly waits on a database, so threads serve many at once while
the per-process connection pools stay small. Environment: HOST (127.0.0.1), PORT (8000),
DBCONNECTOR_WORKERS (2), DBCONNECTOR_THREADS (4).

EvenThreadWorker (below) spreads connections by count instead of by who wakes first; see its
docstring and bench/README.md ("Even load").

Chosen by `make bench` (bench/README.md has the numbers): 2x4 beat 2x8, where threads mostly
queue on the GIL, and neither sync workers nor gevent (SQLite blocks its loop) did better.
Workloads dominated by slow statements may want more threads.
"""

import mmap
import os
import selectors
import shutil
import socket
import struct
import tempfile
import time
from concurrent import futures
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

# Each worker's open connections, where every worker reads them: an anonymous shared map made
# here, in the master, so every forked worker inherits it. Slots are handed out by pre_fork.
_SLOTS = 64  # workers beyond this many accept as plain gthread workers do
_COUNTS = mmap.mmap(-1, _SLOTS * 8)
_free_slots = list(range(_SLOTS))
# The heartbeat's request line, as it starts on the wire.
_HEARTBEAT = (b"GET /admin/ok ", b"GET /admin/ok?", b"HEAD /admin/ok ")


class EvenThreadWorker(ThreadWorker):
    """gthread that takes a new connection only while no other worker holds fewer.

    gunicorn's gthread worker accepts whenever it holds fewer than worker_connections (1000)
    connections, so the worker that wakes first can take every one of 32 connections opened at
    once while the other idles; kept alive, they stay there (issue 12, part 3). Here each worker
    publishes its connection count and listens only while its count is the lowest (ties
    listen), so some worker always listens and kept-alive connections spread evenly."""

    dbc_slot = -1
    dbc_lane = None

    def init_process(self):  # type: ignore[no-untyped-def]
        # The heartbeat's own thread: slow statements and slow clients may hold every thread of
        # the pool, and the platform must still hear the process answer (GET /admin/ok).
        self.dbc_lane = futures.ThreadPoolExecutor(1, thread_name_prefix="dbc-heartbeat")
        super().init_process()

    def enqueue_req(self, conn):  # type: ignore[no-untyped-def]
        line = self._peek(conn)
        if line is None and not conn.initialized and not conn.data_ready:
            # Accepted before its first bytes: wait for them in the poller, not in a thread,
            # so the request line can choose the pool.
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
            )
            return
        heartbeat = line is not None and line.startswith(_HEARTBEAT)
        pool = self.dbc_lane if heartbeat and self.dbc_lane is not None else self.tpool
        done = pool.submit(self.handle, conn)
        done.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def _peek(self, conn):  # type: ignore[no-untyped-def]
        """The first bytes waiting on the connection, without taking them; None if none yet
        (or they cannot be seen: TLS, or a request already buffered by the parser)."""
        if self.cfg.is_ssl or conn.is_http2:
            return b""
        if conn.parser is not None and conn.parser.unreader.buf.getvalue():
            return b""
        try:
            return conn.sock.recv(16, socket.MSG_PEEK | socket.MSG_DONTWAIT) or b""
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def _publish(self) -> bool:
        """Write this worker's count; answer whether it is among the least loaded."""
        if self.dbc_slot < 0:
            return True
        struct.pack_into("<q", _COUNTS, self.dbc_slot * 8, self.nr_conns + 1)
        counts = [c for (c,) in struct.iter_unpack("<q", _COUNTS) if c > 0]
        return self.nr_conns + 1 <= min(counts)

    def set_accept_enabled(self, enabled):  # type: ignore[no-untyped-def]
        super().set_accept_enabled(enabled and self._publish())

    def accept(self, listener):  # type: ignore[no-untyped-def]
        super().accept(listener)
        self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)

    def wait_for_and_dispatch_events(self, timeout):  # type: ignore[no-untyped-def]
        # Other workers' counts change without waking this one: look again every 20 ms.
        self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)
        super().wait_for_and_dispatch_events(min(timeout, 0.02))


def pre_fork(server, worker):  # type: ignore[no-untyped-def]
    worker.dbc_slot = _free_slots.pop(0) if _free_slots else -1


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    if worker.dbc_slot >= 0:
        struct.pack_into("<q", _COUNTS, worker.dbc_slot * 8, 1)


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("DBCONNECTOR_WORKERS", "2"))
worker_class = EvenThreadWorker
threads = int(os.environ.get("DBCONNECTOR_THREADS", "4"))
# gthread workers heartbeat from their main thread, so a long statement does not trip this;
# statement time is bounded by DBCONNECTOR_STATEMENT_TIMEOUT instead.
timeout = 120
graceful_timeout = 30
keepalive = 5
# The app writes one JSON line per request (dbconnector/requestlog.py); gunicorn's own access
# line would only repeat it. DBCONNECTOR_ACCESS_LOG=1 brings it back.
accesslog = "-" if os.environ.get("DBCONNECTOR_ACCESS_LOG", "") in ("1", "true", "yes") else None
# The request line only: no headers, so no bearer token, ever reaches the log.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'
errorlog = "-"


# Prometheus multiprocess mode (dbconnector/metrics.py): every worker writes its metrics into
# one directory, emptied at start so a previous run's counts never leak into this one.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dbc-metrics-")
else:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A dead worker's live gauges (pool use) must stop counting, and its connection count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
    if worker.dbc_slot >= 0:
        struct.pack_into("<q", _COUNTS, worker.dbc_slot * 8, 0)
        _free_slots.append(worker.dbc_slot)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """Write the connections' buffered Count/LastUse and close the target pools on the way out."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("dbconnector") if app else None
    if services is None:
        return
    if services.jobs is not None:
        services.jobs.stop()
    if services.usage is not None:
        services.usage.close()
    if services.pools is not None:
        services.pools.dispose_all()


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """The app is loaded, and what it built lives as long as the worker: move it out of the
    garbage collector's reach. Otherwise every full collection walks those ~80,000 objects and
    holds all the worker's threads meanwhile: 40-47 ms pauses under make bench's heartbeat@32,
    the source of its p99 outliers. Frozen, the longest collection there took 2 ms."""
    import gc

    gc.freeze()
