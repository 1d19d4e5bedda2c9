"""Product records and rejected rows, the output of every catalog file format, read as a stream."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

HEADER_LINE = 1


class FileRejected(Exception):
    """The whole file cannot be imported (unknown header, missing required column, not UTF-8)."""


@dataclass
class RowError:
    """A row that was not imported: its line in the file (1 is the header) and why."""

    line: int
    reason: str
    sku: str = ""
    # A warning is reported like an error but rejects nothing (an ignored column, for example).
    warning: bool = False


@dataclass
class VariantRecord:
    line: int
    sku: str
    # Variant fields the file sets; fields it does not carry are left out and never touched.
    fields: dict = field(default_factory=dict)
    # (normalised gtin, kind) pairs; barcodes already on the variant are kept.
    barcodes: list[tuple[str, str]] = field(default_factory=list)
    # Base price per channel code.
    prices: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class ProductRecord:
    line: int
    source: str
    source_ref: str
    # Product fields the file sets (name, description, package_size, source_data ...).
    fields: dict = field(default_factory=dict)
    brand: str | None = None
    category_path: str | None = None
    variants: list[VariantRecord] = field(default_factory=list)
    barcode_source: str = ""


@dataclass
class CsvFile:
    """A CSV file read row by row with the line number where each row starts."""

    path: Path
    header: list[str]
    # A tqdm bar advanced by one for each row read, or None.
    progress: object = None

    @classmethod
    def open(cls, path: Path) -> "CsvFile":
        with cls._text(path) as handle:
            try:
                header = next(csv.reader(handle), None)
            except UnicodeDecodeError as error:
                raise FileRejected(f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8 and run again.") from None
        if not header:
            raise FileRejected(f"{path.name} is empty: a catalog file starts with a header row.")
        return cls(path=path, header=[name.strip() for name in header])

    @staticmethod
    def _text(path: Path):
        # utf-8-sig drops the byte order mark that spreadsheet programs put before the header.
        return open(path, newline="", encoding="utf-8-sig")

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line, row) for each data row; a row with more fields than the header is yielded as a RowError."""
        with self._text(self.path) as handle:
            reader = csv.reader(handle)
            next(reader, None)
            width = len(self.header)
            while True:
                line = reader.line_num + 1
                if self.progress is not None and line > 2:
                    self.progress.update(1)
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as error:
                    raise FileRejected(f"{self.path.name} line {line} is not UTF-8 text ({error.reason}): save the file as UTF-8 and run again.") from None
                except csv.Error as error:
                    yield line, RowError(line=line, reason=f"unreadable CSV row: {error}")
                    continue
                if not values:
                    continue
                if len(values) > width and any(value.strip() for value in values[width:]):
                    yield line, RowError(line=line, reason=f"the row has {len(values)} fields but the header has {width}")
                    continue
                row = {name: (values[index].strip() if index < len(values) else "") for index, name in enumerate(self.header)}
                yield line, row

    def count_lines(self) -> int:
        """Count physical lines quickly, for the progress bar total (rows with line breaks inside quotes make it an estimate)."""
        total = 0
        with open(self.path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
        return max(total - 1, 0)


class CatalogFormat:
    """One file format. Subclasses set the columns and turn rows into records."""

    name = ""
    label = ""
    # Columns that identify the format when they are all in the header.
    signature: frozenset = frozenset()
    # Columns without which the file cannot be imported.
    required: frozenset = frozenset()

    def matches(self, header: list[str]) -> bool:
        return self.signature <= set(header)

    def check_header(self, csv_file: CsvFile) -> list[RowError]:
        """Raise FileRejected when a required column is missing; return warnings about the header."""
        missing = sorted(self.required - set(csv_file.header))
        if missing:
            raise FileRejected(
                f"{csv_file.path.name} line {HEADER_LINE}: the {self.label} header lacks the required column(s) {', '.join(missing)}: "
                f"add them or check that the file is a {self.label} export."
            )
        return []

    def records(self, csv_file: CsvFile) -> Iterator[ProductRecord | RowError]:
        raise NotImplementedError
