// A tiny DQL (Dynatrace Query Language) parser and evaluator for the subset the dashboard uses,
// so tests can (1) check every query against the event schema and (2) compute what a tile shows
// from the events the emulator stored, by the query's own text.
//
// Subset: `fetch` (its options are parsed, not applied: every stored event is in the window),
// `filter`, `dedup` (with `sort:`), `summarize` (sum, min, max, avg, count, collectDistinct,
// takeFirst, takeLast; `by:`), `fieldsAdd`, `fields`, `sort`, `limit`, `expand`,
// `makeTimeseries` (`by:`, `time:`, `interval:`); expressions with `and`, `or`, `not`,
// comparisons, + - * /, `in()`, `toTimestamp()`, `toDouble()`, `coalesce()`, `isNull()`, `isNotNull()`, `{a, b}` lists,
// `$Variables`. Anything else is a parse error, so a query outside the subset fails the test
// instead of being half-understood.
//
// Semantics that matter for the numbers: records keep the store's order; `sort`/`dedup`'s sort
// are stable and break ties by arrival (a later copy is newer: Grail's `timestamp` is the ingest
// time); `dedup` keeps the first record of each key in that order; `sum` of no records is null.

const PUNCT = ["==", "!=", "<=", ">=", "|", ",", ":", "{", "}", "(", ")", "=", "<", ">", "+", "-", "*", "/"];
const KEYWORDS = new Set(["and", "or", "not", "true", "false", "null", "asc", "desc"]);

export function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\") {
          s += JSON.parse(`"${text[j]}${text[j + 1]}"`);
          j += 2;
        } else s += text[j++];
      }
      if (j >= text.length) throw new SyntaxError(`DQL: unterminated string at ${i}`);
      tokens.push({ t: "str", v: s });
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = text.indexOf("`", i + 1);
      if (j < 0) throw new SyntaxError(`DQL: unterminated backtick at ${i}`);
      tokens.push({ t: "id", v: text.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    let m = /^\d+(\.\d+)?([a-z]+)?/.exec(text.slice(i));
    if (m) {
      tokens.push(m[2] ? { t: "dur", v: Number(m[0].slice(0, m[0].length - m[2].length)), unit: m[2] } : { t: "num", v: Number(m[0]) });
      i += m[0].length;
      continue;
    }
    m = /^\$[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (m) {
      tokens.push({ t: "var", v: m[0].slice(1) });
      i += m[0].length;
      continue;
    }
    m = /^[A-Za-z_@][A-Za-z0-9_.@]*/.exec(text.slice(i));
    if (m) {
      tokens.push(KEYWORDS.has(m[0]) ? { t: "kw", v: m[0] } : { t: "id", v: m[0] });
      i += m[0].length;
      continue;
    }
    const p = PUNCT.find((x) => text.startsWith(x, i));
    if (!p) throw new SyntaxError(`DQL: unexpected character ${JSON.stringify(c)} at ${i}`);
    tokens.push({ t: "p", v: p });
    i += p.length;
  }
  return tokens;
}

class Parser {
  constructor(tokens) {
    this.tk = tokens;
    this.i = 0;
  }
  peek(o = 0) {
    return this.tk[this.i + o];
  }
  is(t, v, o = 0) {
    const x = this.peek(o);
    return x !== undefined && x.t === t && (v === undefined || x.v === v);
  }
  take(t, v) {
    if (!this.is(t, v)) throw new SyntaxError(`DQL: expected ${v ?? t}, got ${JSON.stringify(this.peek())}`);
    return this.tk[this.i++];
  }
  done() {
    return this.i >= this.tk.length;
  }

  expr() {
    return this.or();
  }
  or() {
    let l = this.and();
    while (this.is("kw", "or")) {
      this.i++;
      l = { k: "bin", op: "or", l, r: this.and() };
    }
    return l;
  }
  and() {
    let l = this.not();
    while (this.is("kw", "and")) {
      this.i++;
      l = { k: "bin", op: "and", l, r: this.not() };
    }
    return l;
  }
  not() {
    if (this.is("kw", "not")) {
      this.i++;
      return { k: "not", e: this.not() };
    }
    return this.cmp();
  }
  cmp() {
    const l = this.add();
    for (const op of ["==", "!=", "<=", ">=", "<", ">"]) {
      if (this.is("p", op)) {
        this.i++;
        return { k: "bin", op, l, r: this.add() };
      }
    }
    return l;
  }
  add() {
    let l = this.mul();
    while (this.is("p", "+") || this.is("p", "-")) {
      const op = this.tk[this.i++].v;
      l = { k: "bin", op, l, r: this.mul() };
    }
    return l;
  }
  mul() {
    let l = this.unary();
    while (this.is("p", "*") || this.is("p", "/")) {
      const op = this.tk[this.i++].v;
      l = { k: "bin", op, l, r: this.unary() };
    }
    return l;
  }
  unary() {
    if (this.is("p", "-")) {
      this.i++;
      if (this.is("dur")) {
        const d = this.take("dur");
        return { k: "dur", v: -d.v, unit: d.unit };
      }
      return { k: "bin", op: "-", l: { k: "lit", v: 0 }, r: this.unary() };
    }
    return this.primary();
  }
  primary() {
    const x = this.peek();
    if (!x) throw new SyntaxError("DQL: unexpected end of query");
    if (x.t === "str" || x.t === "num") {
      this.i++;
      return { k: "lit", v: x.v };
    }
    if (x.t === "dur") {
      this.i++;
      return { k: "dur", v: x.v, unit: x.unit };
    }
    if (x.t === "kw" && ["true", "false", "null"].includes(x.v)) {
      this.i++;
      return { k: "lit", v: x.v === "null" ? null : x.v === "true" };
    }
    if (x.t === "var") {
      this.i++;
      return { k: "var", name: x.v };
    }
    if (x.t === "p" && x.v === "(") {
      this.i++;
      const e = this.expr();
      this.take("p", ")");
      return e;
    }
    if (x.t === "p" && x.v === "{") return { k: "list", items: this.list().map((s) => s.e) };
    if (x.t === "id") {
      this.i++;
      if (this.is("p", "(")) {
        this.i++;
        const args = [];
        while (!this.is("p", ")")) {
          args.push(this.expr());
          if (!this.is("p", ")")) this.take("p", ",");
        }
        this.take("p", ")");
        return { k: "call", fn: x.v, args };
      }
      return { k: "field", name: x.v };
    }
    throw new SyntaxError(`DQL: unexpected ${JSON.stringify(x)}`);
  }
  /** `{a, b desc, …}`: expressions, each with an optional direction. */
  list() {
    this.take("p", "{");
    const out = [];
    while (!this.is("p", "}")) {
      const e = this.expr();
      let dir = "asc";
      if (this.is("kw", "asc") || this.is("kw", "desc")) dir = this.tk[this.i++].v;
      out.push({ e, dir });
      if (!this.is("p", "}")) this.take("p", ",");
    }
    this.take("p", "}");
    return out;
  }
  /** One command argument: `name: value`, `alias = expr`, or `expr [asc|desc]`. */
  arg() {
    if (this.is("id") && this.is("p", ":", 1)) {
      const name = this.take("id").v;
      this.take("p", ":");
      if (this.is("p", "{")) return { named: name, list: this.list() };
      return { named: name, e: this.expr() };
    }
    if (this.is("id") && this.is("p", "=", 1)) {
      const alias = this.take("id").v;
      this.take("p", "=");
      return { alias, e: this.expr() };
    }
    if (this.is("p", "{")) return { list: this.list() };
    const e = this.expr();
    let dir;
    if (this.is("kw", "asc") || this.is("kw", "desc")) dir = this.tk[this.i++].v;
    return { e, dir };
  }
}

const COMMANDS = new Set(["fetch", "filter", "dedup", "summarize", "fieldsAdd", "fields", "sort", "limit", "expand", "makeTimeseries"]);

/** Parses a query into `[{cmd, args}]`. */
export function parse(query) {
  const tokens = tokenize(query);
  const stages = [];
  let cur = [];
  for (const t of tokens) {
    if (t.t === "p" && t.v === "|") {
      stages.push(cur);
      cur = [];
    } else cur.push(t);
  }
  stages.push(cur);
  return stages.map((toks) => {
    const p = new Parser(toks);
    const cmd = p.take("id").v;
    if (!COMMANDS.has(cmd)) throw new SyntaxError(`DQL: command ${cmd} is not in the evaluator's subset`);
    const args = [];
    while (!p.done()) {
      args.push(p.arg());
      if (!p.done()) p.take("p", ",");
    }
    return { cmd, args };
  });
}

/** The name a `by:`/`fields` entry gives its column (a field keeps its name). */
const nameOf = (a) => a.alias ?? (a.e?.k === "field" ? a.e.name : undefined);

/** Every field an expression reads. */
export function fieldsOf(e, out = new Set()) {
  if (!e) return out;
  if (e.k === "field") out.add(e.name);
  else if (e.k === "bin") fieldsOf(e.l, out), fieldsOf(e.r, out);
  else if (e.k === "not") fieldsOf(e.e, out);
  else if (e.k === "call") e.args.forEach((a) => fieldsOf(a, out));
  else if (e.k === "list") e.items.forEach((a) => fieldsOf(a, out));
  return out;
}

/** Every `$Variable` an expression uses. */
export function variablesOf(e, out = new Set()) {
  if (!e) return out;
  if (e.k === "var") out.add(e.name);
  else if (e.k === "bin") variablesOf(e.l, out), variablesOf(e.r, out);
  else if (e.k === "not") variablesOf(e.e, out);
  else if (e.k === "call") e.args.forEach((a) => variablesOf(a, out));
  else if (e.k === "list") e.items.forEach((a) => variablesOf(a, out));
  return out;
}

/** The `event.type` values a filter expression requires (`event.type == "x"` or `in(event.type, {…})`). */
function typesOf(e) {
  if (!e) return null;
  if (e.k === "bin" && e.op === "==" && e.l.k === "field" && e.l.name === "event.type" && e.r.k === "lit") return [e.r.v];
  if (e.k === "call" && e.fn === "in" && e.args[0]?.k === "field" && e.args[0].name === "event.type" && e.args[1]?.k === "list") {
    return e.args[1].items.map((x) => x.v);
  }
  if (e.k === "bin" && e.op === "and") return typesOf(e.l) ?? typesOf(e.r);
  return null;
}

/**
 * Checks a query against the event schema (`{type: Set(fields)}`): every field any stage reads
 * exists at that point (an event field of the fetched types, or a column an earlier stage made).
 * Returns a list of problems (empty when the query is clean) and what it read.
 */
export function checkAgainstSchema(query, schema, { grailFields = ["timestamp", "event.kind"] } = {}) {
  const stages = parse(query);
  const problems = [];
  const read = new Set();
  if (stages[0].cmd !== "fetch" || stages[0].args[0]?.e?.name !== "bizevents") problems.push("does not start with `fetch bizevents`");
  const types = typesOf(stages[1]?.cmd === "filter" ? stages[1].args[0]?.e : null);
  if (!types) return { problems: [...problems, "its first filter names no event.type"], types: [], read };
  const unknownTypes = types.filter((t) => !schema[t]);
  if (unknownTypes.length) return { problems: [...problems, `event type(s) no builder makes: ${unknownTypes.join(", ")}`], types, read };
  // A field of a union of types must exist in at least one of them.
  let known = new Set([...grailFields, ...types.flatMap((t) => [...schema[t]])]);
  const use = (e, where) => {
    for (const f of fieldsOf(e)) {
      read.add(f);
      if (!known.has(f)) problems.push(`${where}: field \`${f}\` does not exist here`);
    }
  };
  for (const { cmd, args } of stages.slice(1)) {
    if (cmd === "filter") use(args[0].e, "filter");
    else if (cmd === "dedup" || cmd === "sort" || cmd === "expand") {
      for (const a of args) {
        if (a.list) a.list.forEach((x) => use(x.e, cmd));
        else use(a.e, cmd);
      }
    } else if (cmd === "limit") {
      /* a number */
    } else if (cmd === "fieldsAdd") {
      const add = [];
      for (const a of args) {
        use(a.e, "fieldsAdd");
        add.push(nameOf(a));
      }
      add.forEach((n) => known.add(n));
    } else if (cmd === "fields") {
      const next = new Set();
      for (const a of args) {
        use(a.e, "fields");
        next.add(nameOf(a));
      }
      known = next;
    } else if (cmd === "summarize" || cmd === "makeTimeseries") {
      const next = new Set(cmd === "makeTimeseries" ? ["timeframe", "interval"] : []);
      for (const a of args) {
        if (a.named === "by") a.list.forEach((x) => (use(x.e, `${cmd} by`), next.add(nameOf({ e: x.e }))));
        else if (a.named === "time") use(a.e, `${cmd} time`);
        else if (a.named === "interval") {
          /* a duration */
        } else if (a.named) problems.push(`${cmd}: option ${a.named} is not in the evaluator's subset`);
        else {
          a.e.args?.forEach((x) => use(x, cmd));
          next.add(a.alias ?? "");
        }
      }
      known = next;
    }
  }
  return { problems, types, read };
}

// ---- evaluation ----

const DAY = 86_400_000;
const durationMs = (d) => d.v * ({ s: 1000, m: 60_000, h: 3_600_000, d: DAY }[d.unit] ?? NaN);

function cmpValues(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1; // nulls last
  if (b === null || b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function evalExpr(e, rec, vars) {
  switch (e.k) {
    case "lit":
      return e.v;
    case "field":
      return rec[e.name] ?? null;
    case "var":
      if (!(e.name in vars)) throw new Error(`DQL: variable $${e.name} has no value`);
      return vars[e.name];
    case "list":
      return e.items.map((x) => evalExpr(x, rec, vars));
    case "not":
      return !evalExpr(e.e, rec, vars);
    case "dur":
      return durationMs(e);
    case "bin": {
      const l = evalExpr(e.l, rec, vars);
      if (e.op === "and") return l === true && evalExpr(e.r, rec, vars) === true;
      if (e.op === "or") return l === true || evalExpr(e.r, rec, vars) === true;
      const r = evalExpr(e.r, rec, vars);
      if (["+", "-", "*", "/"].includes(e.op) && (l === null || r === null)) return null;
      switch (e.op) {
        case "==":
          return l === null || r === null ? null : l === r;
        case "!=":
          return l === null || r === null ? null : l !== r;
        case "<":
          return l < r;
        case ">":
          return l > r;
        case "<=":
          return l <= r;
        case ">=":
          return l >= r;
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return r === 0 ? null : l / r;
      }
      break;
    }
    case "call": {
      const args = e.args.map((x) => evalExpr(x, rec, vars));
      switch (e.fn) {
        case "in":
          return Array.isArray(args[1]) ? args[1].includes(args[0]) : args[0] === args[1];
        case "toTimestamp":
          return args[0] === null ? null : Date.parse(args[0]);
        case "toDouble":
          return args[0] === null ? null : Number(args[0]);
        case "coalesce":
          return args.find((x) => x !== null && x !== undefined) ?? null;
        case "isNull":
          return args[0] === null || args[0] === undefined;
        case "isNotNull":
          return args[0] !== null && args[0] !== undefined;
      }
      throw new Error(`DQL: function ${e.fn} is not in the evaluator's subset`);
    }
  }
  throw new Error(`DQL: cannot evaluate ${JSON.stringify(e)}`);
}

/** A stable sort by `[{e, dir}]`; ties go to the later arrival first when the first key is desc. */
function sortBy(recs, keys, vars) {
  const newestFirst = keys[0]?.dir === "desc";
  return recs
    .map((r, i) => ({ r, i, k: keys.map((x) => evalExpr(x.e, r, vars)) }))
    .sort((a, b) => {
      for (let j = 0; j < keys.length; j++) {
        const c = cmpValues(a.k[j], b.k[j]);
        if (c !== 0) return keys[j].dir === "desc" ? -c : c;
      }
      return newestFirst ? b.i - a.i : a.i - b.i;
    })
    .map((x) => x.r);
}

const AGGREGATES = {
  sum: (xs) => (xs.filter((x) => x !== null).length ? xs.filter((x) => x !== null).reduce((a, b) => a + b, 0) : null),
  min: (xs) => xs.filter((x) => x !== null).reduce((a, b) => (a === null || b < a ? b : a), null),
  max: (xs) => xs.filter((x) => x !== null).reduce((a, b) => (a === null || b > a ? b : a), null),
  avg: (xs) => {
    const v = xs.filter((x) => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  },
  count: (xs) => xs.length,
  collectDistinct: (xs) => [...new Set(xs.filter((x) => x !== null))],
  takeFirst: (xs) => xs.find((x) => x !== null) ?? null,
  takeLast: (xs) => xs.filter((x) => x !== null).at(-1) ?? null,
};

function aggregate(a, group, vars) {
  const fn = AGGREGATES[a.e.fn];
  if (!fn) throw new Error(`DQL: aggregation ${a.e.fn} is not in the evaluator's subset`);
  const xs = a.e.args.length ? group.map((r) => evalExpr(a.e.args[0], r, vars)) : group.map(() => 1);
  return fn(xs);
}

function groups(recs, byList, vars) {
  const out = new Map();
  for (const r of recs) {
    const key = byList.map((x) => evalExpr(x.e, r, vars));
    const k = JSON.stringify(key);
    if (!out.has(k)) out.set(k, { key, recs: [] });
    out.get(k).recs.push(r);
  }
  return [...out.values()];
}

/** Runs `query` over `records` (objects keyed by field name) with `vars` ({Name: value}). */
export function evaluate(query, records, vars = {}) {
  let recs = [...records];
  for (const { cmd, args } of parse(query)) {
    if (cmd === "fetch") continue;
    if (cmd === "filter") recs = recs.filter((r) => evalExpr(args[0].e, r, vars) === true);
    else if (cmd === "dedup") {
      const sort = args.find((a) => a.named === "sort");
      const keys = args.filter((a) => !a.named).flatMap((a) => (a.list ? a.list.map((x) => x.e) : [a.e]));
      if (sort) recs = sortBy(recs, sort.list, vars);
      const seen = new Set();
      recs = recs.filter((r) => {
        const k = JSON.stringify(keys.map((e) => evalExpr(e, r, vars)));
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    } else if (cmd === "sort") recs = sortBy(recs, args.map((a) => ({ e: a.e, dir: a.dir ?? "asc" })), vars);
    else if (cmd === "limit") recs = recs.slice(0, evalExpr(args[0].e, {}, vars));
    else if (cmd === "fieldsAdd") recs = recs.map((r) => ({ ...r, ...Object.fromEntries(args.map((a) => [nameOf(a), evalExpr(a.e, r, vars)])) }));
    else if (cmd === "fields") recs = recs.map((r) => Object.fromEntries(args.map((a) => [nameOf(a), evalExpr(a.e, r, vars)])));
    else if (cmd === "expand") {
      const name = nameOf(args[0]);
      recs = recs.flatMap((r) => (Array.isArray(r[name]) ? r[name].map((v) => ({ ...r, [name]: v })) : [r]));
    } else if (cmd === "summarize") {
      const by = args.find((a) => a.named === "by")?.list ?? [];
      const aggs = args.filter((a) => !a.named);
      const gs = groups(recs, by, vars);
      if (gs.length === 0 && by.length === 0) gs.push({ key: [], recs: [] });
      recs = gs.map((g) => ({
        ...Object.fromEntries(by.map((x, i) => [nameOf({ e: x.e }), g.key[i]])),
        ...Object.fromEntries(aggs.map((a) => [a.alias, aggregate(a, g.recs, vars)])),
      }));
    } else if (cmd === "makeTimeseries") {
      const by = args.find((a) => a.named === "by")?.list ?? [];
      const time = args.find((a) => a.named === "time")?.e ?? { k: "field", name: "timestamp" };
      const interval = evalExpr(args.find((a) => a.named === "interval")?.e ?? { k: "dur", v: 1, unit: "d" }, {}, vars);
      const aggs = args.filter((a) => !a.named);
      const ts = recs.map((r) => evalExpr(time, r, vars)).filter((t) => t !== null);
      const start = Math.floor(Math.min(...ts) / interval) * interval;
      const bins = Math.floor((Math.max(...ts) - start) / interval) + 1;
      recs = groups(recs, by, vars).map((g) => {
        const per = Array.from({ length: bins }, () => []);
        for (const r of g.recs) per[Math.floor((evalExpr(time, r, vars) - start) / interval)].push(r);
        return {
          ...Object.fromEntries(by.map((x, i) => [nameOf({ e: x.e }), g.key[i]])),
          timeframe: { start, end: start + bins * interval },
          interval,
          ...Object.fromEntries(aggs.map((a) => [a.alias, per.map((rs) => (rs.length ? aggregate(a, rs, vars) : null))])),
        };
      });
    }
  }
  return recs;
}
