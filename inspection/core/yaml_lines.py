"""Find parts of a YAML file by its lines, so that an edit changes only those lines (comments kept)."""

from __future__ import annotations

import re


def top_level_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """[start, end) of a top-level ``key:`` block (its indented and blank lines included)."""
    for start, line in enumerate(lines):
        if re.match(rf"^{key}\s*:", line):
            end = start + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
                end += 1
            return start, end
    return None
