"""The shift report: a file a manager opens without the app (HTML, or PDF).

Contents: the shift's numbers (parts, yield, scrap rate, defects per unit, cycle time), the defect Pareto,
a p-chart of the fail fraction per hour with limits from the week before the shift, the worst parts of
the shift (most counted defects) with their boxes, the alerts raised and the reviews made during the
shift. Plots by matplotlib, the PDF by ReportLab, the HTML from a Jinja template; images are embedded.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from sqlalchemy import Engine, select

from inspection.config.shifts import ShiftCalendar
from inspection.core.errors import StationError
from inspection.quality.oee import Oee, oee_groups
from inspection.quality.spc import Chart, by_time, chart
from inspection.quality.yield_stats import Statistics, statistics
from inspection.recorder.archive import stored_image
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import AlertRow, DetectionRow, InspectionRow, ReviewRow

ReportFormat = Literal["html", "pdf"]
WORST_PARTS = 6


@dataclass
class ShiftReport:
    station: str
    shift: str  # "2026-11-24 early"
    begin: datetime
    end: datetime
    stats: Statistics
    oee: Oee  # availability, performance, quality, MTTR, MTBF of the shift
    p_chart: Chart | None  # None without a baseline week
    worst: list[tuple[dict[str, Any], bytes | None]]  # (record, PNG with its boxes)
    alerts: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    pareto_png: bytes
    p_chart_png: bytes | None
    generated: datetime


def parse_shift(text: str, calendar: ShiftCalendar, now: datetime | None = None) -> tuple[date, str]:
    """``current``, ``last``, or ``YYYY-MM-DD:NAME``."""
    now = now or datetime.now(UTC)
    if text in ("current", "last"):
        day, name = calendar.shift_of(now)
        if text == "last":
            begin, _ = calendar.bounds(day, name)
            day, name = calendar.shift_of(begin - timedelta(seconds=1))
        return day, name
    day_text, _, name = text.partition(":")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise StationError(f"--shift {text!r}: use current, last, or YYYY-MM-DD:NAME (e.g. 2026-11-24:early)") from None
    calendar.bounds(day, name)  # an unknown name is a clear error
    return day, name


def build_report(
    engine: Engine, data_dir: Path, station: str | None, calendar: ShiftCalendar, day: date, name: str
) -> ShiftReport:
    begin, end = calendar.bounds(day, name)
    where = RecordFilter(since=begin, until=end, station=station)
    stats = statistics(engine, where, "hour", calendar)
    hours = by_time(engine, where, "hour", calendar)
    baseline = by_time(
        engine, RecordFilter(since=begin - timedelta(days=7), until=begin, station=station), "hour", calendar
    )
    p_chart = chart("p", hours, baseline) if hours and sum(s.units for s in baseline) else None
    return ShiftReport(
        station=station or "all stations",
        shift=f"{day.isoformat()} {name}",
        begin=begin,
        end=end,
        stats=stats,
        oee=oee_groups(engine, where, "shift", calendar)[0],
        p_chart=p_chart,
        worst=_worst_parts(engine, data_dir, where),
        alerts=_rows(engine, select(AlertRow).where(AlertRow.raised_at >= begin, AlertRow.raised_at < end)),
        reviews=_rows(engine, select(ReviewRow).where(ReviewRow.created_at >= begin, ReviewRow.created_at < end)),
        pareto_png=_pareto_png(stats.pareto),
        p_chart_png=_p_chart_png(p_chart) if p_chart is not None else None,
        generated=datetime.now(UTC),
    )


def _rows(engine: Engine, query: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _worst_parts(engine: Engine, data_dir: Path, where: RecordFilter) -> list[tuple[dict[str, Any], bytes | None]]:
    """The failed parts with the most counted defects (then the newest), each drawn with its boxes."""
    query = where.apply(
        select(InspectionRow.id, InspectionRow.created_at, InspectionRow.reasons, InspectionRow.image_path,
               InspectionRow.part_serial, InspectionRow.defects, InspectionRow.image_pruned_at)
        .where(InspectionRow.verdict == "fail")
        .order_by(InspectionRow.defects.desc(), InspectionRow.created_at.desc())
        .limit(WORST_PARTS)
    )  # fmt: skip
    found = []
    with engine.connect() as connection:
        for row in connection.execute(query).mappings():
            boxes = connection.execute(
                select(DetectionRow.label, DetectionRow.x1, DetectionRow.y1, DetectionRow.x2, DetectionRow.y2).where(
                    DetectionRow.inspection_id == row["id"], DetectionRow.counted.is_(True)
                )
            ).all()
            found.append((dict(row), _part_png(data_dir, row["image_path"], boxes)))
    return found


def _part_png(data_dir: Path, stored: str | None, boxes: Sequence[Any]) -> bytes | None:
    path = stored_image(data_dir, stored)
    if path is None:
        return None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    for label, x1, y1, x2, y2 in boxes:
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), (0, 0, 255), 2)
        cv2.putText(image, label, (int(x1), max(12, int(y1) - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
    scale = 320 / max(image.shape[:2])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    ok, encoded = cv2.imencode(".png", small)
    return bytes(encoded) if ok else None


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415  (heavy SDK, loaded only when used)

    matplotlib.use("Agg")  # files only: no window, no Qt
    import matplotlib.pyplot as plt  # noqa: PLC0415  (heavy SDK, loaded only when used)

    return plt


def _pareto_png(pareto: list[tuple[str, int]]) -> bytes:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 3.0))
    labels = [label for label, _ in pareto] or ["(none)"]
    counts = [count for _, count in pareto] or [0]
    axis.bar(labels, counts, color="#c62828")
    axis.set_ylabel("counted defects")
    axis.set_title("Defect Pareto")
    total = sum(counts)
    if total:
        cumulative = np.cumsum(counts) / total * 100
        share = axis.twinx()
        share.plot(labels, cumulative, color="#37474f", marker="o")
        share.set_ylim(0, 105)
        share.set_ylabel("cumulative %")
    png = _figure_png(figure)
    plt.close(figure)
    return png


def _p_chart_png(result: Chart) -> bytes:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 3.0))
    x = list(range(len(result.points)))
    values = [p.value * 100 for p in result.points]
    axis.plot(x, values, marker="o", color="#1565c0", label="fail %")
    # Limits per subgroup (they follow its size): a short line at each point.
    left, right = [i - 0.4 for i in x], [i + 0.4 for i in x]
    axis.hlines([p.upper * 100 for p in result.points], left, right, color="#c62828", linestyle="--", label="UCL")
    axis.hlines([p.lower * 100 for p in result.points], left, right, color="#c62828", linestyle=":", label="LCL")
    axis.axhline(result.centre * 100, color="#2e7d32", label="centre (week before)")
    for index, point in enumerate(result.points):
        if point.rules:
            axis.plot(index, point.value * 100, marker="o", markersize=11, fillstyle="none", color="#c62828")
    axis.set_xticks(x, [p.subgroup.label[-5:] for p in result.points], rotation=45, fontsize=7)
    axis.set_ylabel("fail %")
    axis.set_title("p-chart per hour (circled: a run rule fires)")
    axis.legend(fontsize=7, loc="upper left")
    png = _figure_png(figure)
    plt.close(figure)
    return png


# ---------------------------------------------------------------- rendering
def _summary_rows(report: ShiftReport) -> list[tuple[str, str]]:
    totals = report.stats.as_dict()["totals"]
    cycle = totals["cycle_ms"]
    oee = report.oee.as_dict()

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.2f} %"

    return [
        ("Parts inspected", f"{totals['parts']:,}"),
        ("Pass / fail", f"{totals['pass']:,} / {totals['fail']:,}"),
        ("First-pass yield", pct(totals["first_pass_yield"])),
        ("Scrap rate (fails less false calls)", pct(totals["scrap_rate"])),
        ("Defects per unit", "—" if totals["defects_per_unit"] is None else f"{totals['defects_per_unit']:.4f}"),
        (
            "Cycle time ms (min / mean / p99 / max)",
            f"{cycle['min']} / {cycle['mean']} / {cycle['p99']} / {cycle['max']}",
        ),
        ("OEE (availability x performance x quality)", _oee_text(oee, pct)),
        ("MTTR / MTBF", f"{_minutes(oee['mttr_s'])} / {_minutes(oee['mtbf_s'])} ({oee['faults']} fault(s))"),
        (
            "Planned / running / fault / changeover time",
            " / ".join(_minutes(oee[key]) for key in ("planned_s", "running_s", "fault_s", "changeover_s")),
        ),
        ("Alerts raised", str(len(report.alerts))),
        ("Reviews made", str(len(report.reviews))),
    ]


def _oee_text(oee: dict[str, Any], pct: Callable[[float | None], str]) -> str:
    figures = f"{pct(oee['availability'])} x {pct(oee['performance'])} x {pct(oee['quality'])}"
    if oee["performance"] is None and oee["planned_s"]:
        figures += " (performance needs the recipe's ideal_cycle_s)"
    return f"{pct(oee['oee'])} = {figures}"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def _fire_list(report: ShiftReport) -> list[str]:
    if report.p_chart is None:
        return ["No p-chart: the week before the shift has no parts for a baseline."]
    fired = [f"{report.p_chart.points[i].subgroup.label}: {rule}" for i, rule in report.p_chart.firing()]
    return fired or ["No run rule fires."]


def _pruned_note(row: dict[str, Any], separator: str) -> str:
    """Where a part's picture would be: why it is not (deleted by the retention policy, and when)."""
    if row.get("image_pruned_at") is None:
        return ""
    return f"{separator}image pruned {_when(row['image_pruned_at'])} (retention policy)"


def _when(moment: Any) -> str:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
    return "" if moment is None else str(moment)


TEMPLATE = Path(__file__).with_name("shift_report.html")


def render_html(report: ShiftReport) -> str:
    from jinja2 import Environment, select_autoescape  # noqa: PLC0415  (heavy: only the HTML report needs it)

    environment = Environment(autoescape=select_autoescape(default=True))
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(
        r=report,
        summary=_summary_rows(report),
        fires=_fire_list(report),
        when=_when,
        b64=lambda data: base64.b64encode(data).decode("ascii"),
        reasons=lambda text: "; ".join(json.loads(text)) if text else "",
    )


def render_pdf(report: ShiftReport, out: Path) -> None:
    from reportlab.lib import colors  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from reportlab.lib.styles import getSampleStyleSheet  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from reportlab.lib.units import cm  # noqa: PLC0415  (heavy SDK, loaded only when used)
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: PLC0415  (heavy SDK, loaded only when used)

    styles = getSampleStyleSheet()
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)])  # fmt: skip

    def picture(data: bytes, width_cm: float) -> Any:
        image = Image(io.BytesIO(data))
        ratio = image.imageHeight / image.imageWidth
        image.drawWidth, image.drawHeight = width_cm * cm, width_cm * cm * ratio
        return image

    story: list[Any] = [
        Paragraph(f"Shift report: {report.shift}", styles["Title"]),
        Paragraph(f"{report.station} - {_when(report.begin)} to {_when(report.end)}", styles["Normal"]),
        Paragraph(f"generated {_when(report.generated)}", styles["Normal"]),
        Spacer(1, 0.4 * cm),
        Table(_summary_rows(report), style=grid, hAlign="LEFT"),
        Spacer(1, 0.4 * cm),
        picture(report.pareto_png, 15),
    ]
    if report.p_chart_png is not None:
        story.append(picture(report.p_chart_png, 15))
    story += [Paragraph(line, styles["Normal"]) for line in _fire_list(report)]
    story.append(Paragraph("Worst parts", styles["Heading2"]))
    if report.worst:
        cells = []
        for row, png in report.worst:
            caption = Paragraph(f"{_when(row['created_at'])} {row['part_serial'] or ''}<br/>"
                                f"{'; '.join(json.loads(row['reasons']))}{_pruned_note(row, '<br/>')}",
                                styles["Normal"])  # fmt: skip
            cells.append([picture(png, 5) if png else "", caption])
        story.append(Table(cells, hAlign="LEFT"))
    else:
        story.append(Paragraph("No failed parts.", styles["Normal"]))
    story.append(Paragraph("Alerts", styles["Heading2"]))
    alert_rows = [["raised", "alert", "message", "acknowledged"]] + [
        [_when(a["raised_at"]), a["title"], Paragraph(a["message"], styles["Normal"]), a["acknowledged_by"] or ""]
        for a in report.alerts
    ]
    story.append(
        Table(alert_rows, style=grid, hAlign="LEFT") if report.alerts else Paragraph("None.", styles["Normal"])
    )
    story.append(Paragraph("Reviews", styles["Heading2"]))
    review_rows = [["time", "reviewer", "outcome", "part"]] + [
        [_when(v["created_at"]), v["reviewer"], v["outcome"], v["inspection_id"][:12]] for v in report.reviews
    ]
    story.append(
        Table(review_rows, style=grid, hAlign="LEFT") if report.reviews else Paragraph("None.", styles["Normal"])
    )
    SimpleDocTemplate(str(out), pagesize=A4, title=f"Shift report {report.shift}").build(story)


def write_report(report: ShiftReport, out: Path, fmt: ReportFormat) -> None:
    """Written beside ``out`` and renamed into place: a reader never sees half a report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    if fmt == "html":
        partial.write_text(render_html(report), encoding="utf-8")
    else:
        render_pdf(report, partial)
    partial.replace(out)
