"""The allocator tuning the CLI and the GUI apply at start (inspection/core/memory.py)."""

from __future__ import annotations

import platform

import pytest

from inspection.core.memory import SWITCH, keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_memory_is_kept_on_glibc_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keep_freed_memory() is True  # glibc accepted every setting
    monkeypatch.setenv(SWITCH, "0")
    assert keep_freed_memory() is False
