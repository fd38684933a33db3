"""CSV files for spreadsheets, with no cell a formula (pure: plain data in, text out).

Excel in Finnish and Swedish separates cells with ";" (the comma is their decimal mark), so
the file is ";"-separated, every cell quoted, lines ending CRLF, and UTF-8 with a byte order
mark, without which Excel reads "ä" as "Ã¤". Coordinators open it with a double click.

What applicants typed goes into the cells, and a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(…)``, or ``=cmd|' /C calc'!A0``,
which older Excel runs as a program); some also after a leading tab or CR. Such a cell gets
an apostrophe before that character, which spreadsheets read as "this is text", and which
costs a reader of the cell one visible character. Quoting keeps a ";" or a line break inside
its cell for a CSV reader, but a program that splits lines itself, or guesses "," or tab as
the separator, starts a new cell after each of them; so the same rule applies after every
";", ",", tab, CR and LF in a cell, and the apostrophe goes after any spaces and quotes that
come first (``x; =1`` gives ``x; '=1``). However the text is split, no piece is a formula.
Nothing else in the text changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

BOM = "\ufeff"
DELIMITER = ";"
# What makes a cell a formula, with the full-width forms that East Asian input gives and that
# some spreadsheets read as the same operators.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# After these a naive split starts a new cell.
CELL_BREAKS = frozenset(";,\t\r\n")
# Skipped when looking for a formula at the start of a cell (many programs trim them).
LEADING_FILLER = frozenset(' "')


def safe_cell(value: object) -> str:
    """``value`` as text in which no cell, or piece of one after a split, starts a formula."""
    text = "" if value is None else str(value)
    out: list[str] = []
    at_cell_start = True
    for char in text:
        if at_cell_start and char in FORMULA_STARTS:
            out.append("'")
        out.append(char)
        if char in CELL_BREAKS:
            at_cell_start = True
        elif char not in LEADING_FILLER:
            at_cell_start = False
    return "".join(out)


def spreadsheet_csv(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """The whole file: byte order mark, header row, rows; every cell safe and quoted."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=DELIMITER, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(label) for label in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
