"""Keep third-party ML libraries quiet and offline: no downloads, no analytics, no online checks.

Call :func:`make_ultralytics_offline` before ``import ultralytics`` (every adapter module does).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

_DONE = False


def make_ultralytics_offline(config_dir: Path | None = None) -> None:
    """Set the environment so ultralytics never touches the network.

    - ``YOLO_OFFLINE=1``: its online check answers "offline" without a DNS lookup, so no asset,
      font or AMP-check weight download is attempted and no hub call is made.
    - ``YOLO_CONFIG_DIR``: a private settings folder whose settings file has ``sync: false``
      (no analytics/events, no crash reports), written before ultralytics reads it.
    - The fonts ultralytics looks for before training (Arial.ttf, Arial.Unicode.ttf) are links to
      matplotlib's bundled DejaVu Sans in that folder: its dataset check would otherwise try to
      download them, whatever YOLO_OFFLINE says (seen with ultralytics 8.4).
    """
    global _DONE
    if _DONE:
        return
    block_openvino_telemetry()  # ultralytics imports OpenVINO for its exports
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    if "YOLO_CONFIG_DIR" not in os.environ:
        base = config_dir or Path(tempfile.gettempdir()) / f"inspection-ultralytics-{os.getuid()}"
        base.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(base)
    settings_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    settings_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_dir / "settings.json"
    if not settings.exists():
        settings.write_text('{"sync": false, "hub": false}\n')
    _provide_fonts(settings_dir)
    from ultralytics.utils import SETTINGS  # noqa: PLC0415  (must come after the environment)

    if SETTINGS.get("sync"):
        SETTINGS.update({"sync": False})
    _DONE = True


def _provide_fonts(folder: Path) -> None:
    import matplotlib  # noqa: PLC0415  (an ultralytics dependency)

    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = folder / name
        if bundled.is_file() and not target.exists():
            target.unlink(missing_ok=True)  # a dangling link from an older matplotlib
            target.symlink_to(bundled)


def block_openvino_telemetry() -> None:
    """Make ``import openvino`` send nothing. Call before OpenVINO is imported.

    ``import openvino`` (2025+) initialises its converter's telemetry, which counts a missing consent
    file as consent and posts usage events to Google Analytics from a forked process (seen with
    openvino 2026.4 and strace). With ``openvino_telemetry`` unimportable, OpenVINO falls back to its
    own no-op stub.
    """
    if "openvino" in sys.modules and "openvino_telemetry" in sys.modules and sys.modules["openvino_telemetry"]:
        raise RuntimeError("OpenVINO was imported before its telemetry could be blocked")
    for name in ("openvino_telemetry", "openvino_telemetry.backend", "openvino_telemetry.backend.backend_ga4"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
