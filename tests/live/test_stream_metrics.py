"""The stream processes' metrics: open streams, events, refusals and rounds counted as they
happen, and, in multiprocess mode, added up by the app's /metrics from the streams/ subdirectory,
a killed process's open streams dropped."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import sign_in
from prometheus_client import REGISTRY

from dashboard.live.stream import forget_dead_processes
from dashboard.operations.views import STREAMS_SUBDIR, _Workers
from tests.live.conftest import cookie_of
from tests.live.test_stream import next_figures, tick


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def eventually(check, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not counted in time"
        time.sleep(0.05)


def test_open_streams_events_rounds_and_refusals_are_counted(app, client, demo, open_stream):
    opened, events = metric("dashboard_streams_open"), metric("dashboard_stream_events_total")
    rounds, refused = metric("dashboard_stream_round_seconds_count"), metric("dashboard_streams_refused_total", status="401")
    assert open_stream({}).status == 401
    assert metric("dashboard_streams_refused_total", status="401") == refused + 1
    sign_in(client)
    reader = open_stream({"Cookie": cookie_of(client, app)})
    next_figures(reader)
    assert metric("dashboard_streams_open") == opened + 1
    tick(app, rate="13000000")
    next_figures(reader)
    assert metric("dashboard_stream_events_total") >= events + 1  # counted before it is sent
    eventually(lambda: metric("dashboard_stream_round_seconds_count") >= rounds + 1)  # after the round's last event
    reader.close()
    eventually(lambda: metric("dashboard_streams_open") == opened)


def _count_in_a_process_of_its_own(directory) -> int:
    """A process that counts an open stream and two events in multiprocess mode, then dies
    without its lifespan's bookkeeping (as a SIGKILL would leave it). Its pid."""
    code = ("import os\nfrom dashboard.metrics import STREAMS_OPEN, STREAM_EVENTS\n"
            "STREAMS_OPEN.inc(); STREAM_EVENTS.inc(2); print(os.getpid())")
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(directory)),
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def merged(directory) -> dict[str, float]:
    return {sample.name: sample.value for family in _Workers(str(directory)).collect() for sample in family.samples
            if sample.name in ("dashboard_streams_open", "dashboard_stream_events_total")}


def test_the_apps_metrics_add_up_the_stream_processes_and_forget_a_dead_ones_open_streams(tmp_path, monkeypatch):
    streams = tmp_path / STREAMS_SUBDIR
    streams.mkdir()
    pid = _count_in_a_process_of_its_own(streams)
    _count_in_a_process_of_its_own(streams)
    assert (streams / f"gauge_livesum_{pid}.db").exists()
    # What the app's /metrics reads: its own directory, with streams/ added in. The gauge sums
    # live processes' files, and these processes are gone but their files are not yet.
    assert merged(tmp_path) == {"dashboard_streams_open": 2.0, "dashboard_stream_events_total": 4.0}
    # A stream process starting next drops the dead ones' open streams; their counts stay.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(streams))
    forget_dead_processes()
    assert not (streams / f"gauge_livesum_{pid}.db").exists()
    assert merged(tmp_path) == {"dashboard_stream_events_total": 4.0}  # no open streams left to add


def test_forgetting_needs_a_multiprocess_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    forget_dead_processes()  # nothing to forget, and nothing breaks
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / f"gauge_livesum_{os.getpid()}.db").write_bytes(b"")
    forget_dead_processes()
    assert (tmp_path / f"gauge_livesum_{os.getpid()}.db").exists()  # this process is alive
