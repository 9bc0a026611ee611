"""Export the defect log: inspections and their detections, filtered, to CSV, Excel, Parquet or JSON lines.

Streamed: inspections are read in batches in time order (a server-side cursor where the database has
one) and each batch's detections fetched by id, so a million records never sit in memory at once. Every
time is ISO 8601 with its zone (UTC). Output names come from the format and record ids only, never from
stored paths, and images are read only from inside the station's data folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, select

from inspection.core.errors import StationError
from inspection.recorder.archive import stored_image
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow

Format = Literal["csv", "xlsx", "parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet", "jsonl")
BATCH = 2000
EXCEL_MAX_ROWS = 1_048_575  # one row of each sheet holds the column names

# (column, type, meaning): the columns in order, as the README documents them (a test checks that it does).
INSPECTION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "string", "inspection id (hex UUID)"),
    ("created_at", "timestamp", "when the part was inspected, ISO 8601 with zone (UTC)"),
    ("station", "string", "station name"),
    ("camera", "string", "camera that took the image"),
    ("recipe_name", "string", "recipe"),
    ("recipe_version", "string", "recipe version"),
    ("recipe_sha256", "string", "sha256 of the effective recipe (rules, model, references); content in recipes"),
    ("model_name", "string", "model (registry folder/file)"),
    ("model_sha256", "string", "sha256 of the model file"),
    ("part_serial", "string", "part serial, when known"),
    ("lot", "string", "production lot, when the line gives one"),
    ("verdict", "string", "pass or fail"),
    ("reasons", "string", "why it failed, '; '-separated"),
    ("defects", "int", "detections that counted towards the verdict"),
    ("grab_ms", "float", "time to grab the frame"),
    ("detect_ms", "float", "time to run the detector"),
    ("decide_ms", "float", "time to apply the rules"),
    ("cycle_ms", "float", "frame grabbed to verdict"),
    ("mm_per_px", "float", "scale on the part (sizes in mm = pixels x this), when the station has one"),
    ("source_name", "string", "replayed file name, when known"),
    ("reference_name", "string", "reference image compared with, when the model uses one"),
    ("anomaly_score", "float", "an anomaly model's score of the part (0.5: its threshold); empty for other models"),
    ("image_path", "string", "stored image, relative to the station's data folder"),
    ("image_pruned_at", "string", "when the retention policy deleted the image (ISO 8601, UTC); empty: kept"),
)
DETECTION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("inspection_id", "string", "the inspection it belongs to"),
    ("label", "string", "defect class"),
    ("class_id", "int", "class index in the model"),
    ("confidence", "float", "detector confidence"),
    ("x1", "float", "box left, pixels"),
    ("y1", "float", "box top, pixels"),
    ("x2", "float", "box right, pixels"),
    ("y2", "float", "box bottom, pixels"),
    ("area", "float", "box area, pixels^2"),
    ("counted", "bool", "whether it counted towards the verdict"),
)


def iso(moment: datetime) -> str:
    """ISO 8601 with zone; times stored without one (SQLite) are UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@dataclass
class Batch:
    inspections: list[dict[str, Any]]
    detections: list[dict[str, Any]]


def batches(engine: Engine, where: RecordFilter, size: int = BATCH) -> Iterator[Batch]:
    """The filtered inspections, oldest first, ``size`` at a time, each with its detections."""
    columns = [getattr(InspectionRow, name) for name, _, _ in INSPECTION_COLUMNS if name != "defects"]
    query = where.apply(select(*columns)).order_by(InspectionRow.created_at, InspectionRow.id)
    with engine.connect() as reader, engine.connect() as lookup:
        result = reader.execution_options(stream_results=True, yield_per=size).execute(query)
        for partition in result.mappings().partitions(size):
            ids = [row["id"] for row in partition]
            found = lookup.execute(
                select(*[getattr(DetectionRow, name) for name, _, _ in DETECTION_COLUMNS])
                .where(DetectionRow.inspection_id.in_(ids))
                .order_by(DetectionRow.inspection_id, DetectionRow.confidence.desc())
            ).mappings()
            detections = [dict(row) for row in found]
            counted = Counter(d["inspection_id"] for d in detections if d["counted"])
            inspections = []
            for row in partition:
                record = dict(row)
                record["created_at"] = iso(record["created_at"])
                record["image_pruned_at"] = iso(record["image_pruned_at"]) if record["image_pruned_at"] else None
                record["reasons"] = "; ".join(json.loads(record["reasons"]))
                record["defects"] = counted.get(record["id"], 0)
                inspections.append({name: record[name] for name, _, _ in INSPECTION_COLUMNS})
            yield Batch(inspections, detections)


@dataclass
class Summary:
    """What the export held, for its summary sheet and the command's last line."""

    inspections: int = 0
    passed: int = 0
    detections: int = 0
    defects: Counter[str] = field(default_factory=Counter)
    first: str | None = None
    last: str | None = None

    def add(self, batch: Batch) -> None:
        if batch.inspections:
            self.first = self.first or batch.inspections[0]["created_at"]
            self.last = batch.inspections[-1]["created_at"]
        self.inspections += len(batch.inspections)
        self.passed += sum(row["verdict"] == "pass" for row in batch.inspections)
        self.detections += len(batch.detections)
        self.defects.update(d["label"] for d in batch.detections if d["counted"])

    def rows(self, where: RecordFilter) -> list[tuple[str, Any]]:
        failed = self.inspections - self.passed
        rows: list[tuple[str, Any]] = [
            ("exported at", iso(datetime.now(UTC))),
            ("filter", describe(where)),
            ("first inspection", self.first or ""),
            ("last inspection", self.last or ""),
            ("inspections", self.inspections),
            ("pass", self.passed),
            ("fail", failed),
            ("yield %", round(100.0 * self.passed / self.inspections, 3) if self.inspections else ""),
            ("detections", self.detections),
        ]
        rows += [(f"counted {label}", number) for label, number in self.defects.most_common()]
        return rows


def describe(where: RecordFilter) -> str:
    parts = [
        f"{key}={iso(value) if isinstance(value, datetime) else value}" for key, value in vars(where).items() if value
    ]
    return ", ".join(parts) or "all records"


def export_log(
    engine: Engine,
    where: RecordFilter,
    out: Path,
    fmt: Format,
    data_dir: Path | None = None,
    with_images: bool = False,
    progress: Callable[[int], None] = lambda done: None,
) -> Summary:
    """Write the export to ``out`` (a folder for csv / parquet, a file for xlsx / jsonl), built beside it
    and renamed into place at the end, so a failed export leaves nothing half-written."""
    if out.exists():
        raise StationError(f"{out}: already exists; choose a new output path (nothing is overwritten)")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        raise StationError(f"{partial}: left by an interrupted export; remove it first")
    if with_images and data_dir is None:
        raise StationError("--images needs the station's data folder (--config)")
    bundle = _bundle_path(partial, fmt)
    bundle_final = bundle.with_name(bundle.name.removesuffix(".partial"))
    if with_images and bundle_final.exists():
        raise StationError(f"{bundle_final}: already exists; choose a new output path (nothing is overwritten)")
    writer = _WRITERS[fmt](partial)
    summary = Summary()
    images: _ImageBundle | None = None
    try:
        if with_images and data_dir is not None:
            images = _ImageBundle(bundle, data_dir)
        for batch in batches(engine, where):
            writer.write(batch)
            if images is not None:
                images.add(batch.inspections)
            summary.add(batch)
            progress(summary.inspections)
        writer.finish(summary.rows(where))
        if images is not None:
            images.finish()
    except BaseException:
        writer.abort()
        if images is not None:
            images.zip.close()
            _remove(bundle)
        _remove(partial)
        raise
    partial.replace(out)
    return summary


def _bundle_path(partial: Path, fmt: Format) -> Path:
    """The image bundle: inside the output folder, or beside a single-file export."""
    if fmt in ("csv", "parquet"):
        return partial / "images.zip"
    final = partial.with_name(partial.name.removesuffix(".partial"))
    return partial.with_name(final.stem + ".images.zip.partial")


def _remove(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    elif path.exists():
        path.unlink()


class _ImageBundle:
    """A zip of the exported records' images, named by record id, with a manifest (id, file, sha256)."""

    def __init__(self, path: Path, data_dir: Path) -> None:
        self.path = path
        self.data_dir = data_dir
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)  # images are compressed already
        self.manifest: list[tuple[str, str, str, str]] = []

    def add(self, inspections: list[dict[str, Any]]) -> None:
        for row in inspections:
            source = stored_image(self.data_dir, row.get("image_path"))
            if source is None:
                continue
            name = f"images/{row['id']}{source.suffix.lower()}"
            data = source.read_bytes()
            self.zip.writestr(name, data)
            self.manifest.append((row["id"], row["created_at"], name, hashlib.sha256(data).hexdigest()))

    def finish(self) -> None:
        lines = ["id,created_at,file,sha256"] + [",".join(entry) for entry in self.manifest]
        self.zip.writestr("manifest.csv", "\n".join(lines) + "\n")
        self.zip.close()
        if self.path.name.endswith(".partial"):  # beside a single-file export: renamed when complete
            self.path.replace(self.path.with_name(self.path.name.removesuffix(".partial")))


class _Writer:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, batch: Batch) -> None:
        raise NotImplementedError

    def finish(self, summary: list[tuple[str, Any]]) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Close whatever is open (the caller removes the files)."""


class _CsvWriter(_Writer):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        path.mkdir(parents=True)
        names = ("inspections.csv", "detections.csv")
        self.files = [open(path / name, "w", newline="", encoding="utf-8") for name in names]  # noqa: SIM115
        self.inspections, self.detections = (csv.writer(f) for f in self.files)
        self.inspections.writerow([name for name, _, _ in INSPECTION_COLUMNS])
        self.detections.writerow([name for name, _, _ in DETECTION_COLUMNS])

    def write(self, batch: Batch) -> None:
        self.inspections.writerows([row[name] for name, _, _ in INSPECTION_COLUMNS] for row in batch.inspections)
        self.detections.writerows([row[name] for name, _, _ in DETECTION_COLUMNS] for row in batch.detections)

    def finish(self, summary: list[tuple[str, Any]]) -> None:
        self.abort()
        with open(self.path / "summary.csv", "w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows([("item", "value"), *summary])

    def abort(self) -> None:
        for file in self.files:
            file.close()


class _JsonLinesWriter(_Writer):
    """One inspection per line, its detections nested."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, batch: Batch) -> None:
        by_inspection: dict[str, list[dict[str, Any]]] = {}
        for detection in batch.detections:
            by_inspection.setdefault(detection["inspection_id"], []).append(
                {name: detection[name] for name, _, _ in DETECTION_COLUMNS[1:]}
            )
        for row in batch.inspections:
            self.file.write(json.dumps({**row, "detections": by_inspection.get(row["id"], [])}) + "\n")

    def finish(self, summary: list[tuple[str, Any]]) -> None:
        self.file.close()

    def abort(self) -> None:
        self.file.close()


class _ParquetWriter(_Writer):
    """Two Parquet files, one row group per batch."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa  # noqa: PLC0415  (large; only this format needs it)
        import pyarrow.parquet as pq  # noqa: PLC0415  (heavy SDK, loaded only when used)

        super().__init__(path)
        path.mkdir(parents=True)
        self.pa = pa
        types = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
        types["timestamp"] = pa.timestamp("us", tz="UTC")
        self.schemas = [
            pa.schema([(name, types[kind]) for name, kind, _ in columns])
            for columns in (INSPECTION_COLUMNS, DETECTION_COLUMNS)
        ]
        self.writers = [
            pq.ParquetWriter(path / name, schema)
            for name, schema in zip(("inspections.parquet", "detections.parquet"), self.schemas, strict=True)
        ]

    def write(self, batch: Batch) -> None:
        rows = [
            [{**row, "created_at": datetime.fromisoformat(row["created_at"])} for row in batch.inspections],
            batch.detections,
        ]
        for writer, schema, data in zip(self.writers, self.schemas, rows, strict=True):
            if data:
                writer.write_table(self.pa.Table.from_pylist(data, schema=schema))

    def finish(self, summary: list[tuple[str, Any]]) -> None:
        self.abort()

    def abort(self) -> None:
        for writer in self.writers:
            writer.close()


class _ExcelWriter(_Writer):
    """Sheets 'inspections', 'detections', 'summary' (openpyxl's write-only mode streams rows to disk)."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook  # noqa: PLC0415  (heavy SDK, loaded only when used)

        super().__init__(path)
        self.book = Workbook(write_only=True)
        self.sheets = [self.book.create_sheet(name) for name in ("inspections", "detections")]
        self.sheets[0].append([name for name, _, _ in INSPECTION_COLUMNS])
        self.sheets[1].append([name for name, _, _ in DETECTION_COLUMNS])
        self.rows = [0, 0]

    def write(self, batch: Batch) -> None:
        for index, (rows, columns) in enumerate(
            ((batch.inspections, INSPECTION_COLUMNS), (batch.detections, DETECTION_COLUMNS))
        ):
            self.rows[index] += len(rows)
            if self.rows[index] > EXCEL_MAX_ROWS:
                raise StationError(
                    f"more than {EXCEL_MAX_ROWS:,} rows for one Excel sheet; narrow the filter or export to "
                    "parquet or csv"
                )
            for row in rows:
                self.sheets[index].append([row[name] for name, _, _ in columns])

    def finish(self, summary: list[tuple[str, Any]]) -> None:
        sheet = self.book.create_sheet("summary")
        sheet.append(["item", "value"])
        for item in summary:
            sheet.append(list(item))
        self.book.save(self.path)

    def abort(self) -> None:
        """Nothing is at ``path`` before ``finish``; close the sheets' temporary files."""
        for sheet in self.sheets:
            sheet.close()


_WRITERS: dict[Format, type[_Writer]] = {
    "csv": _CsvWriter,
    "jsonl": _JsonLinesWriter,
    "parquet": _ParquetWriter,
    "xlsx": _ExcelWriter,
}
