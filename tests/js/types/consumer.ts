// Type-checks the package's generated typings against the contract's API. Compiled (never run)
// by scripts/build.mjs with `tsc --noEmit`, resolving "dps-cost" through the exports map.
import {
  DpsClient,
  buildBizevents,
  costToDate,
  getToken,
  ingest,
  isDpsCostError,
  sync,
  version,
  type DpsCostError,
  type DpsCostErrorCode,
} from "dps-cost";
import { checkReportData, renderReportHtml } from "dps-cost/report";

/** An exhaustive switch over the codes: a code added in Rust fails here until handled. */
function describe(code: DpsCostErrorCode): string {
  switch (code) {
    case "INVALID_INPUT":
    case "DECODE":
    case "RULE_INVALID":
      return "fix the input";
    case "AUTH_INVALID_CLIENT":
    case "AUTH_MISSING_SCOPE":
    case "AUTH_FAILED":
    case "UNAUTHORIZED":
    case "FORBIDDEN":
      return "fix the credentials";
    case "NOT_FOUND":
    case "GONE":
    case "HTTP_STATUS":
    case "RATE_LIMITED":
    case "NETWORK":
    case "TIMEOUT":
    case "DEADLINE":
      return "try again";
    case "NO_ACTIVE_SUBSCRIPTION":
    case "INGEST_PARTIAL":
    case "INGEST_FAILED":
    case "INTERNAL":
      return "see the message";
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

export function reportHtml(data: unknown): string {
  return renderReportHtml(checkReportData(data));
}
import * as inline from "dps-cost/inline";
import * as node from "dps-cost/node";
import * as web from "dps-cost/web";

const versions: string[] = [version(), inline.version(), node.version(), web.version()];

// A FetchLike: global fetch's Response is not required, only status, headers.get and text().
const fetchLike = async (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => ({
  status: url.length > 0 && init.method === "GET" ? 200 : 202,
  headers: { get: (_name: string): string | null => null },
  text: async () => "{}",
});

export async function consumer(): Promise<void> {
  const token = await getToken({
    accountUuid: "a",
    clientId: "dt0s02.X",
    clientSecret: "dt0s02.X.Y",
    scope: "account-uac-read",
    ssoUrl: "http://127.0.0.1:1/sso/oauth2/token",
    fetch: fetchLike,
  });
  const accessToken: string = token.accessToken;
  const expiresIn: number = token.expiresIn;

  const client = new DpsClient({ accountUuid: "a", clientId: "c", clientSecret: "s", apiUrl: "http://127.0.0.1:1" });
  const subs = await client.subscriptions();
  const active = await client.activeSubscription();
  const details = await client.subscription(active.uuid);
  const costs = await client.dailyCost(active.uuid, { environmentIds: ["abc12345"], capabilityKeys: [] });
  const all = await client.dailyCost(subs[0]!.uuid);
  client.free();

  const running = costToDate(costs.concat(all));
  const events = buildBizevents({ accountUuid: "a", accountName: "n", subscription: details, costs, now: "2026-11-23T10:00:00Z" });
  const result = await ingest({ url: "/platform/classic/environment-api/v2/bizevents/ingest", events });
  const counts: number[] = [result.sent, result.accepted, result.batches, running.length, events.length];
  const firstRejected: number | undefined = result.rejected[0]?.index;
  const rejectedId: string | null | undefined = result.rejected[0]?.eventId;

  const summary = await sync({
    accounts: [{ accountUuid: "a", clientId: "c", clientSecret: "s", name: "n" }],
    ssoUrl: "http://127.0.0.1:1/sso/oauth2/token",
    apiUrl: "http://127.0.0.1:1",
    now: "2026-11-23T10:00:00Z",
    ingest: { url: "http://127.0.0.1:1/api/v2/bizevents/ingest", apiToken: "dt0c01.X" },
    fetch: fetchLike,
  });
  const ok: boolean = summary.ok && !summary.dryRun;
  const built: number = summary.events.built;
  const account = summary.accounts[0];
  const pct: number | null | undefined = account?.subscription?.percentUsed;
  console.log(versions, accessToken, expiresIn, counts, firstRejected, rejectedId, ok, built, pct);

  try {
    await sync({ accounts: [], ingest: null });
  } catch (e) {
    if (isDpsCostError(e)) {
      const narrowed: DpsCostError = e;
      const code: DpsCostErrorCode = narrowed.code;
      // The union is closed (README "Types"): a misspelt code is a compile error.
      // @ts-expect-error "TIMEOUT_TYPO" is not a DpsCostErrorCode
      if (narrowed.code === "TIMEOUT_TYPO") console.log("never");
      const retryable = code === "TIMEOUT" || code === "GONE" || code === "RULE_INVALID" || code === "AUTH_MISSING_SCOPE";
      const status: number | undefined = narrowed.status;
      const field: string | undefined = narrowed.field;
      console.log(code, retryable, status, field, narrowed.message, describe(code));
    }
  }
}

// The streaming allocation and FOCUS export: iterable in for…of, typed chunks and summary.
import { allocateStream, focusExportStream, type AllocationChunk, type AllocationSummary } from "dps-cost";

export function streams(lines: { date: string; cost: number; currency: string; tags: Record<string, string> }[]): number {
  const stream = allocateStream({ lines, rules: [], output: { focus: true } }, { chunkLines: 1000 });
  let micros = 0;
  for (const chunk of stream) {
    const c: AllocationChunk = chunk;
    for (const l of c.lines) micros += l.costMicros;
    const rows: number = c.focus?.length ?? 0;
    micros += rows * 0;
  }
  const summary: AllocationSummary = stream.summary();
  const first: IteratorResult<AllocationChunk, AllocationSummary> = allocateStream({ lines, rules: [] }).next();
  stream.free();
  const texts: string[] = [];
  const fs = focusExportStream({ lines, format: "focus" }, { chunkRows: 500 });
  for (const text of fs) texts.push(text);
  const cols: string[] = fs.columns;
  return micros + Object.keys(summary.totals).length + cols.length + fs.rows + (first.done ? 1 : 0) + texts.length;
}
