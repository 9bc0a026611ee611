"""The Western Electric / Nelson run rules on a control chart's points, given as each point's distance
from the centre line in its own sigmas (``zs``) and its value. A rule fires at the point that completes
its pattern."""

from __future__ import annotations

import itertools
from collections.abc import Callable


def _window_same_side(zs: list[float], index: int, size: int, needed: int, beyond: float) -> bool:
    """``needed`` of the ``size`` points ending at ``index`` beyond ``beyond`` sigma on one side (this one
    among them)."""
    if index + 1 < size:
        return False
    window = zs[index + 1 - size : index + 1]
    return any(sign * zs[index] > beyond and sum(sign * z > beyond for z in window) >= needed for sign in (1, -1))


def _run_on_one_side(zs: list[float], index: int, length: int = 8) -> bool:
    if index + 1 < length:
        return False
    window = zs[index + 1 - length : index + 1]
    return all(z > 0 for z in window) or all(z < 0 for z in window)


def _trend(values: list[float], index: int, length: int = 6) -> bool:
    if index + 1 < length:
        return False
    window = values[index + 1 - length : index + 1]
    steps = [b - a for a, b in itertools.pairwise(window)]
    return all(step > 0 for step in steps) or all(step < 0 for step in steps)


_TESTS: dict[str, Callable[[list[float], list[float], int], bool]] = {
    "beyond_3_sigma": lambda zs, values, i: abs(zs[i]) > 3,
    "2_of_3_beyond_2_sigma": lambda zs, values, i: _window_same_side(zs, i, 3, 2, 2),
    "4_of_5_beyond_1_sigma": lambda zs, values, i: _window_same_side(zs, i, 5, 4, 1),
    "8_on_one_side": lambda zs, values, i: _run_on_one_side(zs, i),
    "6_trending": lambda zs, values, i: _trend(values, i),
}


def firing_rules(zs: list[float], values: list[float], index: int) -> tuple[str, ...]:
    """The rules that fire at point ``index``."""
    return tuple(name for name, test in _TESTS.items() if test(zs, values, index))
