// dps-cost — the Workflows-app template (YAML, for "upload template") and the Automation API
// JSON of a workflow whose one Run JavaScript task runs the dps-cost Workflow file byte for byte.
//
// `workflowDefinition(script, options)` builds the workflow; `workflowTemplateYaml()` wraps it in
// `{metadata, workflow}` as the Workflows app exports it; `workflowApiJson()` is the body of
// POST /platform/automation/v1/workflows. No YAML library: the emitter below writes the few
// shapes the template has (block mappings and sequences, JSON-quoted strings, and the script as
// a literal block scalar) and refuses a script it cannot carry byte for byte.

/** The task's key and name (they must be equal). */
export const TASK_NAME = "sync_dps_cost";
export const DEFAULT_CRON = "0 6 * * *";
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 20;
const ACTION = "dynatrace.automations:run-javascript";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/** Why `cron` is not a valid five-field cron expression, or null when it is. */
export function cronProblem(cron) {
  if (typeof cron !== "string") return "must be a string";
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return `has ${fields.length} field(s); expected 5 (minute hour day-of-month month day-of-week)`;
  for (let i = 0; i < 5; i++) {
    const f = CRON_FIELDS[i];
    const value = (v) => {
      const n = f.names?.indexOf(v.toUpperCase());
      if (n !== undefined && n >= 0) return n + (f.name === "month" ? 1 : 0);
      return /^\d+$/.test(v) ? Number(v) : NaN;
    };
    for (const part of fields[i].split(",")) {
      const m = /^(\*|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${f.name} field "${fields[i]}" is not valid`;
      const step = m[4] === undefined ? 1 : Number(m[4]);
      if (step < 1) return `${f.name} field "${fields[i]}": the step must be at least 1`;
      if (m[1] !== "*") {
        const lo = value(m[2]);
        const hi = m[3] === undefined ? lo : value(m[3]);
        if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < f.min || hi > f.max || lo > hi) {
          return `${f.name} field "${fields[i]}" is out of range ${f.min}-${f.max}`;
        }
      }
    }
  }
  return null;
}

/**
 * The loop items: one per account (its UUID), or with `families` one per account and family
 * group (`{account, families}`).
 */
export function loopItems(accounts, families) {
  if (!families) return [...accounts];
  return accounts.flatMap((account) => families.map((group) => ({ account, families: group })));
}

/**
 * The workflow (API model). options: {accounts?: string[], cron?, loop?: bool, concurrency?,
 * families?: string[][], title?}.
 */
export function workflowDefinition(script, options = {}) {
  const cron = options.cron ?? DEFAULT_CRON;
  const problem = cronProblem(cron);
  if (problem) throw new TypeError(`invalid cron "${cron}": ${problem}`);
  const accounts = options.accounts ?? [];
  for (const a of accounts) {
    if (!UUID.test(a)) throw new TypeError(`invalid account "${a}": expected an account UUID`);
  }
  if (new Set(accounts).size !== accounts.length) throw new TypeError("an account is listed twice");
  if (options.loop && accounts.length === 0) throw new TypeError("--loop needs --accounts (one loop iteration per account)");
  if (!options.loop && accounts.length > 0) {
    throw new TypeError("--accounts needs --loop (without a loop the task syncs every account of its CONFIG)");
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new TypeError(`invalid concurrency ${concurrency}: 1..${MAX_CONCURRENCY}`);
  }
  const task = {
    name: TASK_NAME,
    description: options.loop
      ? "dps-cost: one iteration per account of the loop items (each account must be in the script's CONFIG)"
      : "dps-cost: sync the DPS cost of every account in the script's CONFIG to business events",
    action: ACTION,
    input: { script },
    active: true,
    position: { x: 0, y: 1 },
    predecessors: [],
  };
  if (options.loop) {
    task.withItems = `item in ${JSON.stringify(loopItems(accounts, options.families))}`;
    task.concurrency = concurrency;
    // Only the failed iterations run again; ids are deterministic, so a retry never duplicates.
    task.retry = { count: 2, delay: 60, failedLoopIterationsOnly: true };
  }
  return {
    title: options.title ?? "dps-cost: DPS cost to business events",
    description: "Daily sync of Dynatrace Platform Subscription cost to business events (dps-cost).",
    tasks: { [TASK_NAME]: task },
    trigger: {
      schedule: {
        rule: null,
        trigger: { type: "cron", cron },
        timezone: "UTC",
        isActive: true,
        filterParameters: {},
        inputs: {},
      },
    },
    schemaVersion: 3,
    result: null,
    input: {},
    hourlyExecutionLimit: 1000,
    type: "STANDARD",
    isPrivate: false,
  };
}

/** The Automation API body (JSON text). */
export function workflowApiJson(script, options) {
  return `${JSON.stringify(workflowDefinition(script, options), null, 2)}\n`;
}

/** The template the Workflows app imports (YAML text). */
export function workflowTemplateYaml(script, options) {
  const { isPrivate, ...workflow } = workflowDefinition(script, options);
  void isPrivate;
  const doc = {
    metadata: { version: "1", dependencies: { apps: [{ id: "dynatrace.automations", version: "^1.840.0" }] }, inputs: [] },
    workflow,
  };
  return `${yamlBlock(doc, 0).join("\n")}\n`;
}

// ---- a small YAML emitter for the shapes above ----

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** A scalar on one line: JSON is valid YAML for strings (double-quoted), numbers, booleans, null. */
function yamlScalar(v) {
  if (v === null || typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new TypeError("YAML: a number must be finite");
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  throw new TypeError(`YAML: cannot write ${typeof v}`);
}

/**
 * A string as a literal block scalar, byte for byte: `|` keeps one final newline, `|-` none,
 * `|+` several; an indentation indicator when the first line starts with a space. Refuses what
 * a literal block cannot hold (CR, other line breaks YAML recognises, non-printable characters).
 */
export function yamlLiteral(s, indent) {
  // eslint-disable-next-line no-control-regex
  if (/[\r\u0085\u2028\u2029\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff]/.test(s)) return null;
  if (s.length === 0) return null;
  const trailing = /\n*$/.exec(s)[0].length;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  const body = trailing === 0 ? s : s.slice(0, s.length - 1);
  const lines = body.split("\n");
  const pad = " ".repeat(indent);
  // The content's indentation is taken from its first non-empty line: that line must not start
  // with a space, and no blank line before it may hold spaces (else a JSON string is written).
  const first = lines.findIndex((l) => l !== "");
  if (first < 0 || /^[ \t]/.test(lines[first])) return null;
  // Lines that are empty stay empty (no trailing spaces); other lines get the indentation.
  return [`|${chomp}`, ...lines.map((l) => (l === "" ? "" : pad + l))];
}

function yamlBlock(value, indent) {
  const pad = " ".repeat(indent);
  const out = [];
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k);
      if (typeof v === "string" && v.includes("\n")) {
        const lit = yamlLiteral(v, indent + 2);
        if (lit) {
          out.push(`${pad}${key}: ${lit[0]}`, ...lit.slice(1));
          continue;
        }
      }
      if (isPlainObject(v) && Object.keys(v).length > 0) out.push(`${pad}${key}:`, ...yamlBlock(v, indent + 2));
      else if (Array.isArray(v) && v.length > 0) out.push(`${pad}${key}:`, ...yamlBlock(v, indent + 2));
      else if (isPlainObject(v)) out.push(`${pad}${key}: {}`);
      else if (Array.isArray(v)) out.push(`${pad}${key}: []`);
      else out.push(`${pad}${key}: ${yamlScalar(v)}`);
    }
    return out;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      if (isPlainObject(v) && Object.keys(v).length > 0) {
        const inner = yamlBlock(v, indent + 2);
        out.push(`${pad}- ${inner[0].slice(indent + 2)}`, ...inner.slice(1));
      } else if (Array.isArray(v) && v.length > 0) {
        out.push(`${pad}-`, ...yamlBlock(v, indent + 2));
      } else {
        out.push(`${pad}- ${isPlainObject(v) ? "{}" : Array.isArray(v) ? "[]" : yamlScalar(v)}`);
      }
    }
    return out;
  }
  throw new TypeError("YAML: the document must be a mapping");
}
