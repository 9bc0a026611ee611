"""PySide6 desktop app: the operator station (live view, verdict, counters, start/stop).

It observes and commands the core through its events; the core never imports Qt.
"""
