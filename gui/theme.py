"""The cell's colours: what each state and verdict looks like, in the standard and the high-contrast
theme. A colour means one thing everywhere: green = running / PASS, red = FAIL / fault, amber = in
transition, blue = waiting, grey = stopped or no longer current."""

from __future__ import annotations

from dataclasses import dataclass

# kind -> (background, text)
_STANDARD = {
    "pass": ("#1b8a2e", "white"),
    "fail": ("#c62828", "white"),
    "idle": ("#424242", "#bdbdbd"),
    "stale": ("#9e9e9e", "#eeeeee"),
    "running": ("#1b8a2e", "white"),
    "waiting": ("#1565c0", "white"),
    "starting": ("#f9a825", "black"),
    "stopping": ("#f9a825", "black"),
    "changing": ("#f9a825", "black"),
    "stopped": ("#757575", "white"),
    "camera_fault": ("#b71c1c", "#fff59d"),
    "line_fault": ("#b71c1c", "#fff59d"),
    "error": ("#b71c1c", "#fff59d"),
}
_HIGH_CONTRAST = {
    "pass": ("#00c853", "black"),
    "fail": ("#ff0000", "white"),
    "idle": ("black", "white"),
    "stale": ("#606060", "white"),
    "running": ("#00c853", "black"),
    "waiting": ("#0040ff", "white"),
    "starting": ("#ffd600", "black"),
    "stopping": ("#ffd600", "black"),
    "changing": ("#ffd600", "black"),
    "stopped": ("white", "black"),
    "camera_fault": ("#ffd600", "black"),
    "line_fault": ("#ffd600", "black"),
    "error": ("#ffd600", "black"),
}
# message kind -> text colour
_MESSAGES = {"info": "#424242", "success": "#1b8a2e", "error": "#c62828"}
_MESSAGES_HIGH_CONTRAST = {"info": "white", "success": "#00e676", "error": "#ff5252"}


@dataclass(frozen=True)
class Theme:
    name: str
    colours: dict[str, tuple[str, str]]
    messages: dict[str, str]
    window: str = ""  # the application's style sheet ("" = Qt's own)

    def block(self, kind: str) -> str:
        """The style of a coloured block (state area, verdict) of ``kind``."""
        background, text = self.colours[kind]
        return f"background: {background}; color: {text}; border-radius: 8px;"

    def message(self, kind: str) -> str:
        return f"color: {self.messages[kind]};"


THEMES = {
    "standard": Theme("standard", _STANDARD, _MESSAGES),
    "high-contrast": Theme(
        "high-contrast",
        _HIGH_CONTRAST,
        _MESSAGES_HIGH_CONTRAST,
        "QWidget { background: black; color: white; font-weight: bold; }"
        "QPushButton { background: #202020; color: white; border: 2px solid white; padding: 6px; }"
        "QPushButton:disabled { color: #808080; border-color: #808080; }"
        "QLineEdit { background: white; color: black; }",
    ),
}
