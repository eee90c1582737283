// dps-cost — the Dashboards-app document (upload it as is: Dashboards › Upload).
//
// `dashboardDocument()` returns the document; `npm run build` writes it to
// dist/dps-cost-dashboard.json and the package ships it as dashboard.json; `dps-cost dashboard`
// writes it. Every query reads the events dps-cost ingests (`event.provider ==
// "dps4ma.ingester"`) and keeps the newest copy of each (`dedup event.id, sort:{timestamp desc}`):
// each run re-sends its window under the same ids, and Grail appends.
//
// Layout: a 24-column grid; sections are a markdown header (full width) followed by rows of
// tiles; positions are computed here, so a tile added to a section never overlaps another.

/** Dashboards document version for new dashboards (Dynatrace: "use 21"). */
export const DASHBOARD_VERSION = 21;
/** Grid columns (the width of a full-width tile). */
export const GRID_COLUMNS = 24;
/** `event.provider` of every dps-cost event. */
export const PROVIDER = "dps4ma.ingester";
/** The Datadog destination tag keys the "allocated cost by destination" tile groups by. */
export const DESTINATION_TAGS = ["team", "costcenter"];
/** The "select all" default value of a multi-select variable. */
const SELECT_ALL = "3420b2ac-f1cf-4b24-b62d-61ba1ba8ed05*";

const NEWEST = "dedup event.id, sort:{timestamp desc}";
const ofType = (type) => `filter event.provider == "${PROVIDER}" and event.type == "${type}"`;
/** The first lines of every query: the family, the variables, the newest copy of each event. */
const from = (type, window, ...filters) =>
  [`fetch bizevents, from: ${window}`, ofType(type), ...filters.map((f) => `filter ${f}`), NEWEST];
const q = (...lines) => lines.flat().join("\n| ");

// Variable filters per family (the status event carries the seed's `account.uuid`).
const ACCOUNT = "in(accountUuid, $Account)";
const STATUS_ACCOUNT = "in(account.uuid, $Account)";
const CURRENCY = "in(currency, $Currency)";

/** The latest subscription snapshot of each selected account. */
const latestStatus = () => [...from("dps.subscription.status", "-7d", STATUS_ACCOUNT, CURRENCY), "dedup account.uuid, sort:{timestamp desc}"];
/** The latest Dynatrace forecast of each selected account. */
const latestForecast = () => [...from("dps.forecast", "-7d", ACCOUNT), "dedup accountUuid, sort:{timestamp desc}"];
/** The last run of each selected account. */
const latestRun = () => [...from("dps.sync.run", "-7d", ACCOUNT), "dedup accountUuid, sort:{runAt desc}"];

const single = (recordField, label, unit) => ({
  visualization: "singleValue",
  visualizationSettings: {
    thresholds: [],
    singleValue: { label, labelMode: "none", prefixIcon: "", recordField, trend: { isVisible: false } },
    ...(unit ? { unitsOverrides: [unit] } : {}),
  },
});
const currencyUnit = (identifier) => ({ identifier, unitCategory: "currency", baseUnit: "usd", decimals: 2, suffix: "", delimiter: true, added: 0 });
const percentUnit = (identifier) => ({ identifier, unitCategory: "percentage", baseUnit: "percent", decimals: 1, suffix: "", delimiter: false, added: 0 });
const timeChart = (visualization, values) => ({
  visualization,
  visualizationSettings: {
    thresholds: [],
    chartSettings: { gapPolicy: "connect", xAxisScaling: "analyzedTimeframe", fieldMapping: { timestamp: "timeframe", leftAxisValues: values } },
  },
});
const barChart = (categoryAxis, valueAxis) => ({
  visualization: "categoricalBarChart",
  visualizationSettings: {
    thresholds: [],
    chartSettings: { categoricalBarChartSettings: { categoryAxis, valueAxis, categoryAxisLabel: categoryAxis.join(", "), valueAxisLabel: valueAxis.join(", ") } },
  },
});
const table = () => ({ visualization: "table", visualizationSettings: { thresholds: [], table: { rowDensity: "condensed", lineWrapIds: [] } } });

/** A data tile: title, query, visualization, width and height in grid units. */
const tile = (title, query, view, w, h = 4) => ({ title, query, ...view, w, h });

/** The sections, top to bottom. */
function sections() {
  return [
    {
      title: "Subscription details",
      text: "The commitment period, the budget used to date and the forecast of the selected accounts (latest snapshot of each).",
      tiles: [
        tile("Commitment period start", q(latestStatus(), "sort startTime asc", "limit 1", "fields periodStart = startTime"), single("periodStart", "Start"), 4),
        tile("Commitment period end", q(latestStatus(), "sort endTime desc", "limit 1", "fields periodEnd = endTime"), single("periodEnd", "End"), 4),
        tile(
          "Budget used to date",
          q(latestStatus(), "summarize used = sum(used), budget = sum(budget)"),
          single("used", "Used", currencyUnit("used")),
          4,
        ),
        tile(
          "Budget used %",
          q(latestStatus(), "summarize used = sum(used), budget = sum(budget)", "fieldsAdd budgetUsedPct = 100 * used / budget", "fields budgetUsedPct"),
          single("budgetUsedPct", "Budget used", percentUnit("budgetUsedPct")),
          4,
        ),
        tile("Days remaining", q(latestStatus(), "summarize daysRemaining = min(daysRemaining)"), single("daysRemaining", "Days remaining"), 4),
        tile(
          "Subscription forecast",
          q(latestForecast(), "summarize forecast = sum(forecastMedian), budget = sum(budget)"),
          single("forecast", "Forecast at period end", currencyUnit("forecast")),
          4,
        ),
        tile(
          "Cost to date",
          q(from("dps.cost2.booked", "-40d", ACCOUNT), "dedup accountUuid, sort:{startTime desc}", "summarize costToDate = sum(costToDate)"),
          single("costToDate", "Cost to date", currencyUnit("costToDate")),
          8,
        ),
        tile(
          "Latest snapshot per account",
          q(latestStatus(), "fields account.uuid, name, currency, budget, used, startTime, endTime, daysRemaining", "sort used desc"),
          table(),
          16,
        ),
      ],
    },
    {
      title: "Account level details",
      text: "Daily booked cost and the cumulative burn-up of each account (the day is the booking day, `startTime`).",
      tiles: [
        tile(
          "Daily cost per account",
          q(from("dps.cost2.booked", "-40d", ACCOUNT), "fieldsAdd day = toTimestamp(startTime)", "makeTimeseries cost = sum(value), by:{accountName}, time: day, interval: 1d"),
          timeChart("barChart", ["cost"]),
          12,
          6,
        ),
        tile(
          "Cumulative cost per account (burn-up)",
          q(from("dps.cost2.booked", "-400d", ACCOUNT), "fieldsAdd day = toTimestamp(startTime)", "makeTimeseries costToDate = max(costToDate), by:{accountName}, time: day, interval: 1d"),
          timeChart("lineChart", ["costToDate"]),
          12,
          6,
        ),
      ],
    },
    {
      title: "Forecast and advanced cost management",
      text: "Each account's Dynatrace forecast to the end of the subscription (median with its band) against its budget.",
      tiles: [
        tile(
          "Forecast per account",
          q(latestForecast(), "fields accountName, forecastMedian, forecastLower, forecastUpper, budget, forecastBudgetPct, forecastBudgetDate, snapshotDate", "sort forecastMedian desc"),
          table(),
          24,
          5,
        ),
      ],
    },
    {
      title: "Cost and usage per environment and capability",
      text: "Per environment, capability and day over the re-read window (`dps.environment.cost`, `dps.environment.usage`).",
      tiles: [
        tile(
          "Cost per capability",
          q(from("dps.environment.cost", "-40d", ACCOUNT, CURRENCY), "summarize cost = sum(value), by:{capabilityKey, currency}", "sort cost desc"),
          barChart(["capabilityKey"], ["cost"]),
          12,
          6,
        ),
        tile(
          "Cost per environment",
          q(from("dps.environment.cost", "-40d", ACCOUNT, CURRENCY), "summarize cost = sum(value), by:{accountName, environmentId, currency}", "sort cost desc"),
          table(),
          12,
          6,
        ),
        tile(
          "Daily cost per capability",
          q(from("dps.environment.cost", "-40d", ACCOUNT, CURRENCY), "fieldsAdd day = toTimestamp(startTime)", "makeTimeseries cost = sum(value), by:{capabilityKey}, time: day, interval: 1d"),
          timeChart("areaChart", ["cost"]),
          12,
          6,
        ),
        tile(
          "Usage per capability",
          q(from("dps.environment.usage", "-40d", ACCOUNT), "summarize usage = sum(value), by:{capabilityKey, unitMeasure}", "sort usage desc"),
          table(),
          12,
          6,
        ),
      ],
    },
    {
      title: "Chargeback",
      text: "Dynatrace cost allocation by cost center and product (`dps.cost.allocation`; `unallocated` is the share no cost center or product claims), and the cost Datadog rules allocated (`dps.cost.allocated`).",
      tiles: [
        tile(
          "Cost per cost center",
          q(from("dps.cost.allocation", "-40d", ACCOUNT), 'filter field == "COSTCENTER"', "summarize costs = sum(costs), by:{key}", "sort costs desc"),
          barChart(["key"], ["costs"]),
          12,
          6,
        ),
        tile(
          "Cost per product",
          q(from("dps.cost.allocation", "-40d", ACCOUNT), 'filter field == "PRODUCT"', "summarize costs = sum(costs), by:{key}", "sort costs desc"),
          barChart(["key"], ["costs"]),
          12,
          6,
        ),
        tile(
          "Allocated cost by Datadog rule",
          q(from("dps.cost.allocated", "-40d", CURRENCY), "summarize cost = sum(cost), by:{ruleName, allocationStatus, currency}", "sort cost desc"),
          table(),
          12,
          6,
        ),
        tile(
          "Allocated cost by destination",
          q(
            from("dps.cost.allocated", "-40d", CURRENCY),
            'filter allocationStatus == "allocated"',
            `summarize cost = sum(cost), by:{ruleName, ${DESTINATION_TAGS.map((t) => `destination.${t}`).join(", ")}, currency}`,
            "sort cost desc",
          ),
          table(),
          12,
          6,
        ),
      ],
    },
    {
      title: "Data freshness and health",
      text: "The last sync of each account (`dps.sync.run`): when, with which version, events built, accepted, rejected and not delivered, and what failed.",
      tiles: [
        tile(
          "Last sync per account",
          q(latestRun(), "fields accountName, runAt, ok, errorCode, incompleteFamilies, eventsBuilt, eventsAccepted, eventsRejected, eventsNotDelivered, version", "sort runAt asc"),
          table(),
          16,
          5,
        ),
        tile(
          "Events in the last runs",
          q(latestRun(), "summarize built = sum(eventsBuilt), accepted = sum(eventsAccepted), rejected = sum(eventsRejected), notDelivered = sum(eventsNotDelivered)"),
          table(),
          8,
          5,
        ),
        tile(
          "Failed runs (7 days)",
          q(from("dps.sync.run", "-7d", ACCOUNT), "filter ok == false", "fields runAt, accountName, errorCode, incompleteFamilies, eventsRejected, eventsNotDelivered", "sort runAt desc"),
          table(),
          24,
          5,
        ),
      ],
    },
  ];
}

const QUERY_SETTINGS = { maxResultRecords: 1000, defaultScanLimitGbytes: 500, maxResultMegaBytes: 1, defaultSamplingRatio: 10, enableSampling: false };

/** The account and currency variables (multi-select, all selected by default). */
function variables() {
  const distinct = (type, window, field, name) =>
    q(from(type, window), `summarize ${name} = collectDistinct(${field})`, `expand ${name}`, `sort ${name} asc`);
  return [
    {
      key: "Account",
      type: "query",
      version: 2,
      visible: true,
      editable: true,
      multiple: true,
      defaultValue: [SELECT_ALL],
      input: distinct("dps.cost2.booked", "-40d", "accountUuid", "account"),
    },
    {
      key: "Currency",
      type: "query",
      version: 2,
      visible: true,
      editable: true,
      multiple: true,
      defaultValue: [SELECT_ALL],
      input: distinct("dps.subscription.status", "-7d", "currency", "currency"),
    },
  ];
}

/** The dashboard document: upload it in the Dashboards app as it is. */
export function dashboardDocument() {
  const tiles = {};
  const layouts = {};
  let id = 0;
  let y = 0;
  for (const section of sections()) {
    const header = String(id++);
    tiles[header] = { type: "markdown", content: `## ${section.title}\n${section.text}` };
    layouts[header] = { x: 0, y, w: GRID_COLUMNS, h: 2 };
    y += 2;
    let x = 0;
    let rowHeight = 0;
    for (const t of section.tiles) {
      if (x + t.w > GRID_COLUMNS) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      const key = String(id++);
      const { w, h, ...content } = t;
      tiles[key] = {
        type: "data",
        title: content.title,
        query: content.query,
        visualization: content.visualization,
        visualizationSettings: content.visualizationSettings,
        querySettings: { ...QUERY_SETTINGS },
        davis: { enabled: false, davisVisualization: { isAvailable: true } },
      };
      layouts[key] = { x, y, w, h };
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    version: DASHBOARD_VERSION,
    variables: variables(),
    tiles,
    layouts,
    importedWithCode: false,
    settings: {},
    annotations: [],
  };
}

/** The document as the file `dist/dps-cost-dashboard.json` holds it. */
export function dashboardJson() {
  return `${JSON.stringify(dashboardDocument(), null, 2)}\n`;
}
