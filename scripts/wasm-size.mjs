#!/usr/bin/env node
// Where a wasm module's bytes are: code per function (from the name section of an unoptimised
// cargo build), grouped by crate or by a path prefix, plus data and custom sections. A small
// stand-in for twiggy that needs nothing installed.
//
//   node scripts/wasm-size.mjs FILE.wasm [--top N] [--depth D] [--grep TEXT]
//
// --depth 1 groups by crate (`serde_json`), 2 by module (`dps_cost::api`), and so on.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMain, main } from "./lib.mjs";


function leb(buf, pos) {
  let result = 0;
  let shift = 0;
  let b;
  do {
    b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

/** Legacy Rust mangling (`_ZN4core3fmt5write17h…E`) → `core::fmt::write`; other names as they are. */
export function demangle(name) {
  if (!name.startsWith("_ZN")) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && name[i] !== "E") {
    let n = 0;
    while (name[i] >= "0" && name[i] <= "9") n = n * 10 + Number(name[i++]);
    if (n === 0) break;
    parts.push(name.slice(i, i + n));
    i += n;
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1])) parts.pop();
  return parts
    .join("::")
    .replace(/\$LT\$/g, "<")
    .replace(/\$GT\$/g, ">")
    .replace(/\$u20\$/g, " ")
    .replace(/\$RF\$/g, "&")
    .replace(/\$BP\$/g, "*")
    .replace(/\$C\$/g, ",")
    .replace(/\$u7b\$/g, "{")
    .replace(/\$u7d\$/g, "}")
    .replace(/\.\./g, "::");
}

/** Sections, function body sizes and names of a module. */
export function analyse(bytes) {
  const sections = [];
  const bodies = [];
  const names = new Map();
  let imports = 0;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = leb(bytes, pos);
    const start = pos;
    const end = pos + size;
    let name = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount"][id] ?? `#${id}`;
    if (id === 0) {
      let n;
      [n, pos] = leb(bytes, pos);
      name = `custom:${bytes.subarray(pos, pos + n).toString()}`;
      pos += n;
      if (name === "custom:name") {
        while (pos < end) {
          const sub = bytes[pos++];
          let len;
          [len, pos] = leb(bytes, pos);
          const subEnd = pos + len;
          if (sub === 1) {
            let count;
            [count, pos] = leb(bytes, pos);
            for (let k = 0; k < count; k++) {
              let idx, l;
              [idx, pos] = leb(bytes, pos);
              [l, pos] = leb(bytes, pos);
              names.set(idx, bytes.subarray(pos, pos + l).toString());
              pos += l;
            }
          }
          pos = subEnd;
        }
      }
    } else if (id === 2) {
      let count;
      [count, pos] = leb(bytes, pos);
      for (let k = 0; k < count; k++) {
        for (let s = 0; s < 2; s++) {
          let l;
          [l, pos] = leb(bytes, pos);
          pos += l;
        }
        const kind = bytes[pos++];
        if (kind === 0) {
          imports++;
          [, pos] = leb(bytes, pos);
        } else if (kind === 1) {
          pos += 1;
          const flags = bytes[pos++];
          [, pos] = leb(bytes, pos);
          if (flags & 1) [, pos] = leb(bytes, pos);
        } else if (kind === 2) {
          const flags = bytes[pos++];
          [, pos] = leb(bytes, pos);
          if (flags & 1) [, pos] = leb(bytes, pos);
        } else if (kind === 3) {
          pos += 2;
        } else {
          [, pos] = leb(bytes, pos);
        }
      }
    } else if (id === 10) {
      let count;
      [count, pos] = leb(bytes, pos);
      for (let k = 0; k < count; k++) {
        let l;
        const at = pos;
        [l, pos] = leb(bytes, pos);
        bodies.push({ index: imports + k, size: l + (pos - at) });
        pos += l;
      }
    }
    sections.push({ name, size: end - start });
    pos = end;
  }
  for (const b of bodies) b.name = demangle(names.get(b.index) ?? `func[${b.index}]`);
  return { sections, bodies };
}

/** The group of a demangled name: its first `depth` path segments (of the impl's type for `<T as Trait>`). */
export function groupOf(name, depth) {
  let n = name;
  const m = /^<(?:&(?:mut )?)?([^ <>]+)/.exec(n);
  if (n.startsWith("<") && m) n = m[1];
  return n.split("::").slice(0, depth).join("::") || name;
}

if (isMain(import.meta.url)) main("wasm-size", async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "30" }, depth: { type: "string", default: "1" }, grep: { type: "string" } },
  });
  if (positionals.length !== 1) throw new Error("usage: node scripts/wasm-size.mjs FILE.wasm [--top N] [--depth D] [--grep TEXT]");
  const { sections, bodies } = analyse(readFileSync(positionals[0]));
  const total = sections.reduce((s, x) => s + x.size, 0);
  console.log(`sections (${total} bytes):`);
  for (const s of sections.sort((a, b) => b.size - a.size)) console.log(`  ${String(s.size).padStart(9)}  ${s.name}`);
  const pick = values.grep ? bodies.filter((b) => b.name.includes(values.grep)) : bodies;
  const groups = new Map();
  for (const b of pick) {
    const g = groupOf(b.name, Number(values.depth));
    const e = groups.get(g) ?? { size: 0, count: 0 };
    e.size += b.size;
    e.count++;
    groups.set(g, e);
  }
  const code = pick.reduce((s, b) => s + b.size, 0);
  console.log(`\ncode by group (${code} bytes in ${pick.length} functions):`);
  for (const [g, e] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, Number(values.top)))
    console.log(`  ${String(e.size).padStart(9)}  ${((100 * e.size) / code).toFixed(1).padStart(5)} %  ${String(e.count).padStart(5)}  ${g}`);
  console.log(`\nlargest functions:`);
  for (const b of [...pick].sort((a, b) => b.size - a.size).slice(0, Number(values.top)))
    console.log(`  ${String(b.size).padStart(9)}  ${b.name.slice(0, 150)}`);
});

