"""OpenCV (video file) and folder/glob sources run the same station."""

from __future__ import annotations

import functools
import http.server
import sqlite3
import threading
from pathlib import Path

import cv2
from conftest import SAMPLE_IMAGES, run_station, write_station

from inspection.cameras.base import EndOfStream, ResilientCamera
from inspection.cameras.folder import FolderSource
from inspection.config import FolderCamera
from inspection.station.pipeline import Station


def _count(data: Path) -> int:
    with sqlite3.connect(data / "inspection.db") as db:
        return int(db.execute("SELECT count(*) FROM inspections").fetchone()[0])


def test_video_file_every_frame_is_a_part(tmp_path: Path) -> None:
    video = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 640))
    images = sorted(SAMPLE_IMAGES.iterdir())[:12]
    for path in images:
        writer.write(cv2.imread(str(path)))
    writer.release()
    config = write_station(tmp_path, camera={"type": "opencv", "source": str(video)})
    summary = run_station(config)  # runs to the end of the file
    assert summary.records_written == len(images) == _count(tmp_path / "data")
    assert summary.camera.state == "ended"


def test_glob_replay_and_unreadable_files_are_counted_faults(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for path in sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[:5]:
        (folder / path.name).write_bytes(path.read_bytes())
    for i in range(7):  # more than reconnect.max_consecutive_failures: still not a lost camera
        (folder / f"zz_broken_{i}.jpg").write_bytes(b"not an image")
    config = write_station(tmp_path, camera={"type": "folder", "path": str(folder / "*.jpg")})
    summary = run_station(config)
    assert summary.records_written == 5
    assert summary.camera.unreadable_images == 7
    assert summary.camera.disconnects == 0


def test_resilient_camera_reports_end_of_stream(tmp_path: Path) -> None:
    source = FolderSource(FolderCamera(path=SAMPLE_IMAGES / "*_test.jpg"))
    camera = ResilientCamera(source, threading.Event())
    camera.open()
    frames = []
    while (frame := camera.next_frame()) is not None:
        frames.append(frame)
    assert len(frames) == len(list(SAMPLE_IMAGES.glob("*_test.jpg")))
    assert camera.status.state == "ended"
    assert frames[0].image.ndim == 2  # mono stays mono
    try:
        source.grab()
    except EndOfStream:
        pass
    else:
        raise AssertionError("EndOfStream expected")


def test_live_http_stream_keeps_only_the_newest_frame(tmp_path: Path) -> None:
    """A stream served on loopback: the reader thread never builds a backlog, drops are counted."""
    video = tmp_path / "stream.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 640))
    frames = [cv2.imread(str(p)) for p in sorted(SAMPLE_IMAGES.iterdir())]
    for i in range(300):
        writer.write(frames[i % len(frames)])
    writer.release()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/stream.avi"
        camera = {"type": "opencv", "source": url, "reconnect": {"initial_s": 0.1, "max_s": 0.2}}
        stations: list[Station] = []
        summary = run_station(write_station(tmp_path, camera=camera), stations.append, duration_s=3.0)
    finally:
        server.shutdown()
    assert summary.records_written > 0
    assert summary.records_written == _count(tmp_path / "data")
    # The stream is decoded faster than the station inspects: older frames were replaced, not queued.
    assert stations[0].camera.source.skipped_frames > 0  # type: ignore[attr-defined]
    assert summary.stats.overruns == 0
