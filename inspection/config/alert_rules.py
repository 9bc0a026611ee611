"""The alert rules a station YAML may list under ``alerts:`` (validated like the rest of the config)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Rule name -> what it means; the name is what a chart point lists and what an alert rule names.
RULES = {
    "beyond_3_sigma": "one point beyond a control limit (Western Electric 1, Nelson 1)",
    "2_of_3_beyond_2_sigma": "2 of 3 points in a row beyond 2 sigma on one side (WE 2, Nelson 5)",
    "4_of_5_beyond_1_sigma": "4 of 5 points in a row beyond 1 sigma on one side (WE 3, Nelson 6)",
    "8_on_one_side": "8 points in a row on one side of the centre (WE 4; Nelson 2 uses 9)",
    "6_trending": "6 points in a row steadily rising or falling (Nelson 3)",
}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(None, description="shown with the alert; default: the rule's own description")


class FailRate(_Rule):
    rule: Literal["fail_rate"]
    window: int = Field(50, ge=2, description="the last N parts")
    above: float = Field(gt=0.0, le=1.0, description="fires when their fail fraction is above this")


class ConsecutiveFails(_Rule):
    rule: Literal["consecutive_fails"]
    count: int = Field(5, ge=1)


class SpcRule(_Rule):
    rule: Literal["spc"]
    subgroup: int = Field(50, ge=2, description="parts per subgroup of the p-chart")
    baseline: int = Field(10, ge=2, description="the first K subgroups since start give the centre line")
    rules: list[str] = Field(default_factory=lambda: list(RULES))

    @model_validator(mode="after")
    def _known(self) -> SpcRule:
        unknown = sorted(set(self.rules) - set(RULES))
        if unknown:
            raise ValueError(f"unknown SPC rules {unknown}; known: {list(RULES)}")
        return self


class ClassRate(_Rule):
    rule: Literal["class_rate"]
    label: str
    window: int = Field(200, ge=2, description="the last N parts")
    above: float | None = Field(None, gt=0.0, description="fires above this many defects of the class per part")
    factor: float | None = Field(None, gt=1.0, description="... or above this many times its usual rate")
    history_days: float = Field(7.0, gt=0.0, description="the usual rate: the records of the last N days")

    @model_validator(mode="after")
    def _limit(self) -> ClassRate:
        if self.above is None and self.factor is None:
            raise ValueError("class_rate needs 'above' (a rate) or 'factor' (times the usual rate)")
        return self


class CameraFaults(_Rule):
    rule: Literal["camera_fault"]
    clear_after_s: float = Field(60.0, gt=0.0, description="cleared after this long without a new fault")


class LineFaults(_Rule):
    rule: Literal["line_fault"]
    source: Literal["plc", "mqtt", "fleet"] | None = Field(None, description="only faults of this output")
    clear_after_s: float = Field(60.0, gt=0.0, description="cleared after this long without a new fault")


class DiskSpace(_Rule):
    rule: Literal["disk_space"]
    below_mb: float = Field(1000.0, gt=0.0, description="free space of the data folder's disk")


class NoParts(_Rule):
    rule: Literal["no_parts"]
    minutes: float = Field(10.0, gt=0.0, description="no part for this long while the station runs")


AlertRule = Annotated[
    FailRate | ConsecutiveFails | SpcRule | ClassRate | CameraFaults | LineFaults | DiskSpace | NoParts,
    Field(discriminator="rule"),
]


def title(rule: Any) -> str:
    if rule.name:
        return str(rule.name)
    match rule:
        case FailRate():
            return f"fail rate over the last {rule.window} parts above {rule.above:.1%}"
        case ConsecutiveFails():
            return f"{rule.count} fails in a row"
        case SpcRule():
            return f"SPC rule on the p-chart ({rule.subgroup} parts a subgroup)"
        case ClassRate():
            return f"{rule.label} above its usual rate"
        case CameraFaults():
            return "camera fault"
        case LineFaults():
            return f"{rule.source or 'line'} fault"
        case DiskSpace():
            return f"disk space below {rule.below_mb:g} MB"
        case _:
            return f"no part for {rule.minutes:g} minutes"
