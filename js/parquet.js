// dps-cost — Parquet for `exportCost({format: "parquet"})`, in the node and web entries only
// (never in inline.js or the Workflow file). The wasm core decides every column's type and value
// (crates/core/src/export/columnar.rs): money comes as the unscaled micro-units in decimal text
// and is written as DECIMAL(18, 6) from a BigInt, so nothing passes through a float; Date/Time
// as TIMESTAMP(MILLIS) adjusted to UTC; JSON and String as UTF-8 strings; quantities as DOUBLE.
// The writer is hyparquet-writer (pure JS, chosen by measurement: BENCHMARKS.md "Parquet
// writer"), loaded on first use.

/** The Parquet schema element of one typed column (all columns optional: FOCUS allows nulls). */
function element(c) {
  const base = { name: c.name, repetition_type: "OPTIONAL" };
  switch (c.type) {
    case "decimal":
      return {
        ...base,
        type: "INT64",
        converted_type: "DECIMAL",
        scale: c.scale,
        precision: c.precision,
        logical_type: { type: "DECIMAL", scale: c.scale, precision: c.precision },
      };
    case "double":
      return { ...base, type: "DOUBLE" };
    case "timestamp":
      return { ...base, type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" } };
    case "json":
    case "string":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    default:
      throw new Error(`parquet: column ${c.name} has an unknown type ${c.type}`);
  }
}

/** The values of one typed column as the writer takes them. */
function values(c) {
  if (c.type === "decimal") return c.values.map((v) => (v === null ? null : BigInt(v)));
  if (c.type === "timestamp") return c.values.map((v) => (v === null ? null : BigInt(v)));
  return c.values;
}

/** The Parquet file of typed columns (the wasm's `parquetColumns`). */
export async function parquetBytes(columns, { createdBy = "dps-cost" } = {}) {
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const buffer = parquetWriteBuffer({
    columnData: columns.map((c) => ({ name: c.name, data: values(c) })),
    schema: [{ name: "root", num_children: columns.length }, ...columns.map(element)],
    createdBy,
  });
  return new Uint8Array(buffer);
}

/** An exportCost result with `parquet` (the file) in place of the typed columns. */
export async function withParquet(result, version) {
  if (result.format !== "parquet") return result;
  const { parquetColumns, ...rest } = result;
  return { ...rest, parquet: await parquetBytes(parquetColumns, { createdBy: `dps-cost version ${version}` }) };
}
