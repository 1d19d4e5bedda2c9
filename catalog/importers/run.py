"""Import one catalog file: detect its format, stream its records to the writer in batches, report."""

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import FORMATS, detect_format
from .base import CsvFile, FileRejected, ProductRecord, RowError
from .writer import CREATED, UNCHANGED, UPDATED, CatalogWriter

DEFAULT_BATCH_SIZE = 1000
# How many rejected rows per file the printed summary lists; the error file has all of them.
SUMMARY_ERROR_LINES = 20


class ErrorLog:
    """The error CSV (file, line, sku, severity, reason), written as errors arrive, never held in memory."""

    COLUMNS = ["file", "line", "sku", "severity", "reason"]

    def __init__(self, path: Path):
        self.path = path
        self._handle = None
        self._writer = None

    def add(self, file_name: str, error: RowError) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(self.COLUMNS)
        self._writer.writerow([file_name, error.line, error.sku, "warning" if error.warning else "rejected", error.reason])

    @property
    def used(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


@dataclass
class FileReport:
    path: Path
    format_name: str = ""
    counts: Counter = field(default_factory=Counter)
    rejected: int = 0
    warnings: int = 0
    # The first rejected rows and warnings, for the printed summary.
    first_errors: list[RowError] = field(default_factory=list)
    failure: str = ""

    def note(self, error: RowError, error_log: ErrorLog) -> None:
        if error.warning:
            self.warnings += 1
        else:
            self.rejected += 1
        if len(self.first_errors) < SUMMARY_ERROR_LINES:
            self.first_errors.append(error)
        error_log.add(self.path.name, error)

    @property
    def created(self) -> int:
        return self.counts[CREATED]

    @property
    def updated(self) -> int:
        return self.counts[UPDATED]

    @property
    def unchanged(self) -> int:
        return self.counts[UNCHANGED]


def import_file(
    path: Path,
    *,
    error_log: ErrorLog,
    format_name: str | None = None,
    writer: CatalogWriter | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress_factory=None,
) -> FileReport:
    """Import the file at `path` and return its report. Bad rows are counted and logged, never raised.

    A file that cannot be read as a catalog file comes back with `failure` set. A header problem stops
    it before any write, and a line that is not UTF-8 stops it at that line.

    `progress_factory(total=..., desc=...)` makes a progress bar (a tqdm) or is None for none.
    """
    report = FileReport(path=path)
    writer = writer or CatalogWriter()
    try:
        csv_file = CsvFile.open(path)
        fmt = FORMATS[format_name] if format_name else detect_format(csv_file.header)
        if fmt is None:
            raise FileRejected(
                f"{path.name}: the header matches no catalog format ({', '.join(sorted(FORMATS))}). "
                f"Header starts with: {', '.join(csv_file.header[:6])}. Pass --format if the file is one of them."
            )
        report.format_name = fmt.name
        for warning in fmt.check_header(csv_file):
            report.note(warning, error_log)
        bar = progress_factory(total=csv_file.count_lines(), desc=path.name) if progress_factory else None
        csv_file.progress = bar
        try:
            _stream(fmt.records(csv_file), writer=writer, report=report, error_log=error_log, batch_size=batch_size)
        finally:
            if bar is not None:
                bar.close()
    except FileRejected as error:
        report.failure = str(error)
    return report


def _stream(records, *, writer: CatalogWriter, report: FileReport, error_log: ErrorLog, batch_size: int) -> None:
    batch: list[ProductRecord] = []
    variant_count = 0
    for item in records:
        if isinstance(item, RowError):
            report.note(item, error_log)
            continue
        batch.append(item)
        variant_count += len(item.variants)
        if variant_count >= batch_size:
            _flush(batch, writer=writer, report=report, error_log=error_log)
            batch, variant_count = [], 0
    if batch:
        _flush(batch, writer=writer, report=report, error_log=error_log)


def _flush(batch: list[ProductRecord], *, writer: CatalogWriter, report: FileReport, error_log: ErrorLog) -> None:
    result = writer.write(batch)
    report.counts.update(result.counts)
    for error in sorted(result.errors, key=lambda error: error.line):
        report.note(error, error_log)
