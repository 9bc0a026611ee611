"""The large PASS / FAIL area, readable from across the cell.

- A FAIL stays on screen for ``hold_s`` even when passing parts follow (at 10 parts/s a lone FAIL would
  otherwise flash for a tenth of a second); the line below says what the latest part was.
- A fault (camera lost, line peer out of reach, station error) replaces the verdict until it clears.
- After a stop or a fault the last verdict is greyed: it is no longer about the part in front of you.
- The reasons are in words ("open defect, 1.2 mm"); the rule that fired is shown on demand.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from gui.station_state import ShownState
from gui.theme import THEMES, Theme

FAIL_WINDOW_S = 60.0
REASON_LINES = 3  # the reasons area holds this many phrases; more are counted ("and 2 more")
WHAT_TO_DO = {
    "camera_fault": "Check the camera's cable and power; the station reconnects by itself.",
    "line_fault": "Parts are still inspected and recorded; check the connection named above.",
    "error": "Fix what the message says, then press Start.",
}


@dataclass(frozen=True)
class ShownVerdict:
    verdict: str  # pass | fail
    words: tuple[str, ...]  # the reasons in words
    rules: tuple[str, ...]  # the rules that fired, as recorded
    at: float  # monotonic time it was shown


class VerdictIndicator(QWidget):
    def __init__(self, theme: Theme = THEMES["standard"], hold_s: float = 2.0) -> None:
        super().__init__()
        self.theme = theme
        self.hold_s = hold_s
        self.latest: ShownVerdict | None = None
        self.held: ShownVerdict | None = None  # the last FAIL, while it is held
        self.fault: ShownState | None = None
        self.stale = False
        self.fail_times: deque[float] = deque()
        self._now = 0.0
        self.kind = "idle"  # what the area shows now: idle, pass, fail, stale or a fault's kind
        self._look: tuple[str, int, str, str] = ("", 0, "", "")  # what was drawn last
        self.verdict = QLabel("—")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setMinimumHeight(120)  # grows with the screen: the word is sized to the area
        self.verdict.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.reason = QLabel("")
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignTop)
        self.reason.setWordWrap(True)
        self.reason.setFixedHeight(84)  # three lines: the panel never jumps as reasons come and go
        self.reason.setStyleSheet("font-size: 15pt;")
        self.note = QLabel("")  # held FAIL: what the latest part was
        self.note.setStyleSheet("font-size: 12pt;")
        self.fails_last_minute = QLabel("")
        self.fails_last_minute.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.rule_button = QToolButton()
        self.rule_button.setText("Rule")
        self.rule_button.setCheckable(True)
        self.rule_button.setToolTip("Show the rule that failed the part, as the record keeps it")
        self.rule_button.toggled.connect(lambda _on: self.redraw(self._now))
        row = QHBoxLayout()
        row.addWidget(self.fails_last_minute, 1)
        row.addWidget(self.note)
        row.addWidget(self.rule_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.reason)
        layout.addLayout(row)
        self.redraw(0.0)

    # ------------------------------------------------------------ inputs
    def show_part(self, verdict: str, words: list[str], rules: tuple[str, ...], now: float) -> None:
        """The newest part shown live."""
        self.latest = ShownVerdict(verdict, tuple(words), rules, now)
        self.stale = False
        self.redraw(now)

    def hold_fail(self, words: list[str], rules: tuple[str, ...], now: float) -> None:
        """Every FAIL (also those the live view never drew): held for ``hold_s`` and counted."""
        self.held = ShownVerdict("fail", tuple(words), rules, now)
        self.fail_times.append(now)
        self.stale = False
        self.redraw(now)

    def show_fault(self, fault: ShownState | None, now: float) -> None:
        """A fault replaces the verdict (None: no fault now); the verdict behind it is stale."""
        if fault is not None:
            self.stale = True
        self.fault = fault
        self.redraw(now)

    def mark_stale(self, now: float) -> None:
        self.stale = True
        self.redraw(now)

    # ------------------------------------------------------------ output
    def fails_in_last_minute(self, now: float) -> int:
        while self.fail_times and now - self.fail_times[0] > FAIL_WINDOW_S:
            self.fail_times.popleft()
        return len(self.fail_times)

    def showing(self, now: float) -> ShownVerdict | None:
        """The verdict on screen: a held FAIL within its hold time, else the latest part."""
        held, latest = self.held, self.latest
        if held is None or now - held.at >= self.hold_s:
            return latest
        if latest is None or latest.at <= held.at or latest.verdict == "pass":
            return held
        return latest

    def redraw(self, now: float) -> None:
        self._now = now
        _set(self.fails_last_minute, f"FAILs in the last minute: {self.fails_in_last_minute(now)}")
        shown = self.showing(now)
        if self.fault is not None or shown is None:
            _set(self.note, "")
            if self.fault is not None:
                self._draw(self.fault.kind, self.fault.title, WHAT_TO_DO[self.fault.kind], size=34)
            else:
                self._draw("idle", "—", "")
            return
        text = reason_lines(shown.words) if shown.words else "no defect counted"
        if self.rule_button.isChecked() and shown.rules:
            text = "rule: " + "; ".join(shown.rules)
        later = shown is self.held and self.latest is not None and self.latest.at > shown.at
        _set(self.note, f"held; latest part {self.latest.verdict.upper()}" if later and self.latest else "")
        self._draw("stale" if self.stale else shown.verdict, shown.verdict.upper(), text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.redraw(self._now)  # the word follows the area's size

    def _draw(self, kind: str, title: str, text: str, size: int = 64) -> None:
        """``size``: the largest font (pt) on the smallest area; bigger areas get a bigger word."""
        height = self.verdict.height()
        pixels = max(int(size * 1.33), min(int(height * 0.55), int(self.verdict.width() / (0.75 * len(title) + 1))))
        look = (kind, pixels, title, text)
        if look == self._look:  # the clock redraws 4 times a second: a style sheet is costly to apply
            return
        if look[:2] != self._look[:2]:
            self.verdict.setStyleSheet(f"{self.theme.block(kind)} font-size: {pixels}px; font-weight: bold;")
        self._look = look
        self.verdict.setText(title)
        self.reason.setText(text)
        self.kind = kind


def _set(label: QLabel, text: str) -> None:
    """Set a label's text only when it changes (a redraw comes 4 times a second)."""
    if label.text() != text:
        label.setText(text)


def reason_lines(words: tuple[str, ...]) -> str:
    """One phrase a line, at most ``REASON_LINES`` (the last says how many more there are)."""
    if len(words) <= REASON_LINES:
        return "\n".join(words)
    return "\n".join([*words[: REASON_LINES - 1], f"and {len(words) - REASON_LINES + 1} more"])
