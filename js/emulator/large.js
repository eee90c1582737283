// The "large" profile: 20 accounts × 50 environments × 40 capabilities, all identities derived
// deterministically from labels. Only definitions live here; the values are generated on demand
// by data.js (nothing per environment × capability × day is materialised).

import { createHash } from "node:crypto";
import {
  API_TOKEN,
  CAPABILITIES,
  CLIENT_SCOPES_ACCOUNT_RW,
  CLIENT_SCOPES_INGEST,
  fakeHex64,
  rngFor,
} from "./data.js";

export const LARGE_ACCOUNT_COUNT = 20;
export const LARGE_ENVIRONMENT_COUNT = 50;

/**
 * 32 more capabilities (40 with the default 8). Keys, names, units and prices are plausible DPS
 * rate-card lines; base/growth/weekend/noise are drawn from a seeded PRNG per key.
 */
const EXTRA = [
  ["FOUNDATION_AND_DISCOVERY", "Foundation & Discovery", "host-hour", "0.01", "0.0085", true],
  ["MAINFRAME_MONITORING", "Mainframe Monitoring", "MSU-hour", "0.1", "0.09", true],
  ["KUBERNETES_PLATFORM_MONITORING", "Kubernetes Platform Monitoring", "pod-hour", "0.002", "0.0017", true],
  ["CODE_MONITORING", "Code Monitoring", "GiB-hour", "0.005", "0.0043", true],
  ["APPLICATION_SECURITY_RVA", "Runtime Vulnerability Analytics", "GiB-hour", "0.00225", "0.002", true],
  ["APPLICATION_SECURITY_RAP", "Runtime Application Protection", "GiB-hour", "0.00225", "0.002", true],
  ["SECURITY_POSTURE_MANAGEMENT", "Security Posture Management", "host-hour", "0.007", "0.006", true],
  ["THREAT_OBSERVABILITY", "Threat Observability", "host-hour", "0.004", "0.0035", true],
  ["LOG_MONITORING_CLASSIC", "Log Monitoring Classic", "GiB", "0.2", "0.17", true],
  ["LOG_MANAGEMENT_RETAIN_WITH_QUERY", "Log Management & Analytics - Retain with Included Queries", "GiB-day", "0.02", "0.017", true],
  ["EVENTS_RETAIN", "Events - Retain", "GiB-day", "0.0007", "0.0006", true],
  ["EVENTS_QUERY", "Events - Query", "GiB scanned", "0.0035", "0.0035", false],
  ["METRICS_INGEST", "Metrics - Ingest & Process", "data point", "0.0000015", "0.0000013", true],
  ["METRICS_RETAIN", "Metrics - Retain", "GiB-day", "0.0007", "0.0006", true],
  ["METRICS_QUERY", "Metrics - Query", "GiB scanned", "0.0035", "0.0035", false],
  ["TRACES_INGEST", "Traces - Ingest & Process", "GiB", "0.2", "0.17", true],
  ["TRACES_RETAIN", "Traces - Retain", "GiB-day", "0.0007", "0.0006", true],
  ["TRACES_QUERY", "Traces - Query", "GiB scanned", "0.0035", "0.0035", false],
  ["FILES_RETAIN", "Files - Retain", "GiB-day", "0.0007", "0.0006", true],
  ["REAL_USER_MONITORING_PROPERTY", "Real User Monitoring Property", "session property", "0.00001", "0.00001", true],
  ["SESSION_REPLAY", "Session Replay", "session", "0.0045", "0.0038", true],
  ["SYNTHETIC_BROWSER_MONITOR", "Browser Monitor or Clickpath", "synthetic action", "0.0045", "0.0038", true],
  ["SYNTHETIC_HTTP_MONITOR", "HTTP Monitor", "synthetic request", "0.001", "0.00085", true],
  ["SYNTHETIC_THIRD_PARTY", "Third-Party Synthetic API Ingestion", "synthetic result", "0.001", "0.00085", true],
  ["SYNTHETIC_NETWORK_AVAILABILITY", "Network Availability Monitor", "synthetic request", "0.0005", "0.0004", true],
  ["CUSTOM_METRICS_CLASSIC", "Custom Metrics Classic", "data point", "0.0000015", "0.0000013", true],
  ["CUSTOM_TRACES_CLASSIC", "Custom Traces Classic", "span", "0.0000035", "0.000003", true],
  ["CUSTOM_EVENTS_CLASSIC", "Custom Events Classic", "event", "0.0000025", "0.000002", true],
  ["SERVERLESS_FUNCTIONS_CLASSIC", "Serverless Functions Classic", "invocation", "0.000002", "0.0000017", true],
  ["APPENGINE_FUNCTIONS_MEDIUM", "AppEngine Functions - Medium", "GiB-hour", "0.08", "0.08", false],
  ["APPENGINE_FUNCTIONS_LARGE", "AppEngine Functions - Large", "GiB-hour", "0.08", "0.08", false],
  ["AUTOMATION_WORKFLOW", "Automation Workflow", "workflow-hour", "0.05", "0.05", false],
];

export const LARGE_CAPABILITIES = [
  ...CAPABILITIES,
  ...EXTRA.map(([key, name, unit, quotedPrice, price, allocated]) => {
    const rng = rngFor(`large-capability|${key}`);
    return {
      key,
      name,
      base: Math.round((2 + 60 * rng() ** 2) * 100) / 100,
      growth: Math.round((0.1 + 0.7 * rng()) * 100) / 100,
      weekend: Math.round((0.6 + 0.3 * rng()) * 100) / 100,
      noise: Math.round((0.03 + 0.12 * rng()) * 100) / 100,
      unit,
      quotedPrice,
      price,
      allocated,
    };
  }),
];

/** A v4-shaped UUID derived from a label. */
export function labelUuid(label) {
  const h = createHash("sha256").update(`dps-cost-emulator:uuid:${label}`).digest("hex");
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const ENV_KINDS = ["Production", "Staging", "Development", "Test", "Performance"];
const REGIONS = ["US-East", "US-West", "EU-Central", "EU-West", "APAC", "LATAM"];
const COMPANIES = [
  "Globex", "Initech", "Umbrella", "Soylent", "Hooli", "Stark Industries", "Wayne Enterprises", "Tyrell",
  "Cyberdyne", "Aperture", "Wonka", "Gringotts", "Oceanic", "Vandelay", "Monarch", "Massive Dynamic",
  "Pied Piper", "Dunder Mifflin", "Nakatomi", "Blue Sun",
];
const COST_CENTER_POOL = [
  "department-A", "department-B", "department-C", "platform-team", "sre", "finance", "marketing", "R&D",
  "data-science", "security", "customer-care", "shared-services",
];
const PRODUCT_POOL = [
  "Web Shop", "Mobile App", "Payments API", "Search", "Checkout", "Data Platform", "Internal Tools",
  "Partner Portal", "Recommendations", "Loyalty",
];

function pick(rng, pool, n) {
  const copy = [...pool];
  const out = [];
  while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(rng() * copy.length), 1)[0]);
  return out;
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

/** Build the large profile's definitions (cheap: no cost values are computed here). */
export function largeProfile() {
  const accounts = [];
  const clients = [];
  const credentialVault = [];
  const usedEnvIds = new Set();
  for (let i = 1; i <= LARGE_ACCOUNT_COUNT; i++) {
    const label = `EMULRG${pad2(i)}`;
    const clientId = `dt0s02.${label}`;
    const accountUuid = labelUuid(`large-account-${i}`);
    const company = COMPANIES[i - 1];
    const rng = rngFor(`large-account|${i}`);
    const environments = [];
    for (let j = 1; j <= LARGE_ENVIRONMENT_COUNT; j++) {
      let id;
      let salt = 0;
      do {
        const r = rngFor(`large-env|${i}|${j}|${salt}`);
        const letters = Array.from({ length: 3 }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join("");
        id = `${letters}${String(Math.floor(r() * 100_000)).padStart(5, "0")}`;
        salt += 1;
      } while (usedEnvIds.has(id));
      usedEnvIds.add(id);
      const kind = ENV_KINDS[(j - 1) % ENV_KINDS.length];
      const region = REGIONS[Math.floor((j - 1) / ENV_KINDS.length) % REGIONS.length];
      const scaleBase = kind === "Production" ? 0.6 : kind === "Performance" ? 0.25 : 0.08;
      environments.push({
        id,
        name: `${kind} ${region} ${pad2(Math.ceil(j / (ENV_KINDS.length * REGIONS.length)))}`,
        scale: Math.round((scaleBase + scaleBase * rng()) * 1000) / 1000,
      });
    }
    accounts.push({
      accountUuid,
      name: `${company} (emulator large ${pad2(i)})`,
      currencyCode: i % 3 === 0 ? "EUR" : "USD",
      timestampStyle: i % 2 === 0 ? "seconds" : "millis",
      clientId,
      environments,
      capabilityKeys: LARGE_CAPABILITIES.map((c) => c.key),
      subscriptions: {
        active: { uuid: labelUuid(`large-sub-active-${i}`), name: `${company} - Dynatrace Platform Subscription` },
        expired: { uuid: labelUuid(`large-sub-expired-${i}`), name: `${company} - Dynatrace Platform Subscription (previous term)` },
      },
      allowLists: {
        costcenter: pick(rngFor(`large-cc|${i}`), COST_CENTER_POOL, 6),
        product: pick(rngFor(`large-product|${i}`), PRODUCT_POOL, 5),
      },
    });
    clients.push({
      clientId,
      clientSecret: `${clientId}.${fakeHex64(label)}`,
      accountUuid,
      scopes: CLIENT_SCOPES_ACCOUNT_RW,
    });
    credentialVault.push({
      id: `CREDENTIALS_VAULT-E0E1A2B3C4D5${String(i).padStart(4, "0")}`,
      clientId,
      accountUuid,
    });
  }
  clients.push({
    clientId: "dt0s02.EMUINGST",
    clientSecret: `dt0s02.EMUINGST.${fakeHex64("EMUINGST")}`,
    accountUuid: accounts[0].accountUuid,
    scopes: CLIENT_SCOPES_INGEST,
  });
  return {
    name: "large",
    fastRounding: true,
    accounts,
    capabilities: LARGE_CAPABILITIES,
    clients,
    credentialVault,
    ingestClientId: "dt0s02.EMUINGST",
    apiToken: API_TOKEN,
  };
}
