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

// The main types of every export, as a consumer writes them: every name below is generated from
// the Rust types (README "Types"), except FetchLike and the `fetch` option merged into them.
import {
  allocate,
  costEventsFromJson,
  costLines,
  datadogRules,
  exportCost,
  focusExport,
  forecastSpend,
  reportData,
  type AllocationInput,
  type AllocationQuery,
  type AllocationRecord,
  type AllocationResult,
  type AllowListName,
  type Bizevent,
  type ClientOptions,
  type CostEventsOptions,
  type CostExport,
  type CostFilter,
  type CostLine,
  type CostLinesInput,
  type CostRecord,
  type CostToDateRecord,
  type DatadogOptions,
  type EnvCostRecord,
  type EnvPage,
  type EnvQuery,
  type Environment,
  type EnvironmentRecords,
  type EnvironmentsV1,
  type ExportFormat,
  type FetchLike,
  type FocusExportInput,
  type Forecast,
  type ForecastInput,
  type IngestOptions,
  type IngestReport,
  type RateCard,
  type ReportConfig,
  type ReportData,
  type SpendForecast,
  type Subscription,
  type SubscriptionDetails,
  type SubscriptionEvent,
  type TokenInfo,
  type TokenOptions,
  type UsageRecord,
} from "dps-cost";
import type { ForecastBand, ReportData as ReportPageData } from "dps-cost/report";

export async function everyExport(options: ClientOptions, fetchImpl: FetchLike): Promise<number> {
  const tokenOptions: TokenOptions = { ...options, scope: "account-uac-read", retry: { maxAttempts: 2 }, fetch: fetchImpl };
  const info: TokenInfo = await getToken(tokenOptions);
  const tokenScope: string | null = info.scope;

  const client = new DpsClient({ ...options, apiUrl: "http://127.0.0.1:1", fetch: fetchImpl });
  const subs: Subscription[] = await client.subscriptions();
  const kind: string | null | undefined = subs[0]?.type;
  const sub: SubscriptionDetails = await client.subscription((await client.activeSubscription()).uuid);
  const budget: number | null | undefined = sub.budget?.total;
  const daysRemaining: number | undefined = sub.currentPeriod?.daysRemaining;
  const filter: CostFilter = { environmentIds: ["e"], capabilityKeys: ["x"], clusterIds: [] };
  const daily: CostRecord[] = await client.dailyCost(sub.uuid, filter);
  const usage: UsageRecord[] = await client.subscriptionUsage(sub.uuid);
  const query: EnvQuery = { startTime: "2026-01-01T00:00:00Z", endTime: "2026-02-01T00:00:00Z", pageSize: 50, environmentIds: ["e"] };
  const envCost: EnvironmentRecords<EnvCostRecord>[] = await client.environmentCost(sub.uuid, query);
  const envUsage: EnvironmentRecords<UsageRecord>[] = await client.environmentUsage(sub.uuid, query);
  let pages = 0;
  for await (const page of client.environmentCostPages(sub.uuid, query)) {
    const p: EnvPage<EnvCostRecord> = page;
    const next: string | null = p.nextPageKey;
    pages += p.environments.length + (next ? 1 : 0);
  }
  for await (const page of client.environmentUsagePages(sub.uuid, query)) pages += page.environments[0]?.records?.length ?? 0;
  const v2: EnvironmentRecords<EnvCostRecord>[] = await client.environmentCostV2(sub.uuid, { capabilityKeys: ["x"] });
  const v2Usage: EnvironmentRecords<UsageRecord>[] = await client.environmentUsageV2(sub.uuid);
  const forecast: Forecast = await client.forecast();
  const median: number | null | undefined = forecast.forecastMedian;
  const events: SubscriptionEvent[] = await client.events({ startTime: "2026-01-01T00:00:00Z", eventType: "budget" });
  const cards: RateCard[] = await client.rateCards();
  const price: string | null | undefined = cards[0]?.capabilities?.[0]?.price;
  const aq: AllocationQuery = { field: "COSTCENTER", environmentId: "e", from: "2026-01-01", to: "2026-02-01" };
  const allocation: AllocationRecord[] = await client.costAllocation(sub.uuid, aq);
  for await (const page of client.costAllocationPages(sub.uuid, aq)) pages += page.records.length;
  const envs: Environment[] = await client.environments();
  const v1: EnvironmentsV1 = await client.environmentsV1();
  const list: AllowListName = "costcenters";
  const keys: string[] = await client.listKeys(list);
  await client.addKeys("products", ["a"]);
  await client.replaceKeys(list, keys);
  await client.deleteKey(list, "a");
  client.free();

  const running: CostToDateRecord[] = costToDate(daily);
  const eventsOptions: CostEventsOptions = { accountUuid: "a", subscription: sub, now: "2026-11-23T10:00:00Z" };
  const eventsText: string = costEventsFromJson(JSON.stringify({ data: daily }), eventsOptions);
  const built: Bizevent[] = buildBizevents({ accountUuid: "a", subscription: sub, costs: daily });
  const ingestOptions: IngestOptions = { url: "https://x.live.dynatrace.com/api/v2/bizevents/ingest", events: built, apiToken: "t", fetch: fetchImpl };
  const report: IngestReport = await ingest(ingestOptions);

  const linesInput: CostLinesInput = {
    accountUuid: "a",
    subscriptionUuid: sub.uuid,
    environments: envCost,
    breakdown: { field: "PRODUCT", environments: [{ environmentId: "e", records: allocation }] },
    environmentTags: { e: { team: "web" } },
  };
  const lines: CostLine[] = costLines(linesInput);
  const allocationInput: AllocationInput = {
    lines,
    rules: [],
    drivers: { q: [{ date: "2026-01-01", tags: { team: "web" }, value: 1 }] },
    output: { events: true, focus: true },
  };
  const result: AllocationResult = allocate(allocationInput);
  const status: "unchanged" | "allocated" | "unallocated" = result.lines[0]!.status;
  const matched: number | undefined = result.rules[0]?.costs["USD"]?.matchedMicros;
  const inputMicros: number | undefined = result.totals["USD"]?.inputMicros;
  const destinations: number = result.destinations.length + (result.events?.length ?? 0) + (result.focus?.length ?? 0);
  const fe: FocusExportInput = {
    lines,
    capabilityNames: { x: "X" },
    usage: [{ environmentId: "e", capabilityKey: "x", date: "2026-01-01", value: 1, unit: "GiB" }],
    format: "focus-json",
  };
  const exported: CostExport = focusExport(fe);

  const config: ReportConfig = {
    accounts: [{ accountUuid: "a", clientId: "c", clientSecret: "s" }],
    windowDays: 35,
    rules: { data: [] },
    environmentTags: { e: { team: "web" } },
    fetch: fetchImpl,
  };
  const data: ReportData = await reportData(config);
  const page: ReportPageData = data;
  const band: ForecastBand | null | undefined = data.accounts[0]?.figures.dynatraceForecast;
  const series: number[] | undefined = data.charts.dailyByCapability.series[0]?.values;
  const allocated: number | undefined = data.charts.allocation?.items[0]?.cost;
  const format: ExportFormat = "csv";
  const table: CostExport = await exportCost({ ...config, format });
  const columns: string[] = table.columns;

  const fi: ForecastInput = { history: new Float64Array([1, 2, 3]), firstDate: "2026-01-01", horizon: 30 };
  const spend: SpendForecast = forecastSpend(fi);
  const changePoint: number | null = spend.model.changePoint;
  const weight: number | undefined = spend.model.weights[0]?.weight;
  const spendFromArray: SpendForecast = forecastSpend({ history: [1, 2, 3], firstDate: "2026-01-01", horizon: 7 });

  const dd: DatadogOptions = { apiKey: "k", applicationKey: "a", site: "datadoghq.eu", retry: { maxAttempts: 1 }, fetch: fetchImpl };
  const rules: unknown = await datadogRules(dd);

  const inlineToken = await inline.getToken({ ...options, fetch: fetchImpl });
  console.log(tokenScope, kind, budget, daysRemaining, usage, envUsage, v2, v2Usage, median, events, price, envs, v1);
  console.log(running, eventsText, report, status, matched, inputMicros, exported, page, band, series, allocated);
  console.log(columns, changePoint, weight, spendFromArray, rules, inlineToken.accessToken, renderReportHtml(data));
  return pages + destinations + spend.daily.length;
}
