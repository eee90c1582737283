"""Reads a Parquet file with DuckDB (an independent reader, from the test venv .venv-focus) and
compares it with the CSV of the same export, row for row and cell for cell, by the Parquet type:
DECIMAL exactly (decimal.Decimal), TIMESTAMP WITH TIME ZONE as the UTC instant the CSV writes,
DOUBLE as the number the CSV's text names, VARCHAR as the text; an empty CSV field is null.

    python parquet_readback.py FILE.parquet FILE.csv  →  JSON {columns, types, rows, mismatches}
"""
import csv
import datetime
import decimal
import json
import sys

import duckdb

parquet_path, csv_path = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet_path]).fetchall()
columns = [d[0] for d in described]
types = [d[1] for d in described]
got = con.execute("SELECT * FROM read_parquet(?)", [parquet_path]).fetchall()
with open(csv_path, newline="", encoding="utf-8") as f:
    header, *want = list(csv.reader(f))

UTC = datetime.timezone.utc


def same(t, text, value):
    if text == "":
        return value is None
    if value is None:
        return False
    if t.startswith("DECIMAL"):
        return isinstance(value, decimal.Decimal) and value == decimal.Decimal(text)
    if t == "TIMESTAMP WITH TIME ZONE":
        return value == datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if t == "DOUBLE":
        return value == float(text)
    if t == "VARCHAR":
        return value == text
    return False


mismatches = []
if header != columns:
    mismatches.append({"header": header, "columns": columns})
if len(want) != len(got):
    mismatches.append({"rows": [len(want), len(got)]})
for n, (w, g) in enumerate(zip(want, got)):
    for i, t in enumerate(types):
        if not same(t, w[i], g[i]):
            mismatches.append({"row": n, "column": columns[i], "type": t, "csv": w[i], "parquet": repr(g[i])})
print(json.dumps({"columns": columns, "types": types, "rows": len(got), "mismatches": mismatches[:20]}))
