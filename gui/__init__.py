"""PySide6 operator and engineering app (observes and commands the core). Features arrive with the GUI issue."""
