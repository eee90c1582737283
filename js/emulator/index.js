// dps-cost embedded Dynatrace emulator: a dependency-free local HTTP server imitating the SSO
// token endpoint, the Account Management API (subscriptions, usage and cost v2/v3, forecast,
// events, rate cards, cost allocation, allow lists, environments), bizevents ingest and the
// credential vault, with deterministic synthetic data and fault injection. See README.md.
//
//   import { startEmulator } from "./index.js";
//   const emu = await startEmulator({ port: 0, now: "2026-11-23T10:00:00Z", profile: "default" });
//   // emu.url, emu.port, emu.config, await emu.close()

import { createServer } from "node:http";
import { createAllowLists } from "./allowlists.js";
import { defaultDatadogRules } from "./datadog.js";
import { createTokenStore } from "./auth.js";
import { API_TOKEN, DEFAULT_PROFILE, createDataset, parseNow } from "./data.js";
import { createEventStore } from "./ingest.js";
import { largeProfile } from "./large.js";
import { createPageKeys } from "./paging.js";
import { createUploadState } from "./uploads.js";
import { createRequestHandler } from "./server.js";

export const PROFILES = ["default", "large"];
export const V2_ENVIRONMENT_MODES = ["removed", "deprecated"];

export { createRequestHandler } from "./server.js";

/** The credential vault entry holding the emulator's Datadog keys (both profiles). */
export const DATADOG_CREDENTIAL_ID = "CREDENTIALS_VAULT-DD00DA7AD0600001";

/**
 * Create the emulator's in-memory state (dataset, tokens, events, faults, request log) without a
 * server. `startEmulator` uses it; tests may drive it directly.
 *
 * @param {{ now?: string|number|Date, tokenTtlSeconds?: number, seed?: string, baseUrl?: string,
 *           logger?: (line: string) => void, profile?: "default"|"large",
 *           v2EnvironmentEndpoints?: "removed"|"deprecated", storeEvents?: "full"|"ids",
 *           datadogRules?: object, datadogRateLimit?: { limit: number, periodSeconds: number, spent?: boolean } }} [options]
 */
export function createEmulatorState(options = {}) {
  const profileName = options.profile ?? "default";
  if (!PROFILES.includes(profileName)) {
    throw new TypeError(`emulator: profile must be one of ${PROFILES.join(", ")}, got ${JSON.stringify(profileName)}`);
  }
  const v2Mode = options.v2EnvironmentEndpoints ?? "removed";
  if (!V2_ENVIRONMENT_MODES.includes(v2Mode)) {
    throw new TypeError(
      `emulator: v2EnvironmentEndpoints must be one of ${V2_ENVIRONMENT_MODES.join(", ")}, got ${JSON.stringify(v2Mode)}`,
    );
  }
  const profile = profileName === "large" ? largeProfile() : DEFAULT_PROFILE;
  const startNow = parseNow(options.now);
  const startReal = Date.now();
  // The emulator's clock starts at `now` and advances with real time. The data ("today",
  // yesterday's costs) is fixed at creation; token expiry and ingest time use this clock.
  const clock = () => startNow + (Date.now() - startReal);
  const ttl = options.tokenTtlSeconds ?? 300;
  if (!(typeof ttl === "number" && Number.isFinite(ttl) && ttl > 0)) {
    throw new TypeError("emulator: tokenTtlSeconds must be a positive number");
  }
  const dataset = createDataset({ now: startNow, seed: options.seed, profile });
  const datadogRules = options.datadogRules ?? defaultDatadogRules();
  if (!datadogRules || typeof datadogRules !== "object" || !Array.isArray(datadogRules.data)) {
    throw new TypeError("emulator: datadogRules must be an ArbitraryRuleResponseArray ({data: [...]})");
  }
  const rateLimit = options.datadogRateLimit;
  if (rateLimit !== undefined) {
    const { limit, periodSeconds, spent, ...rest } = rateLimit ?? {};
    if (!(Number.isInteger(limit) && limit > 0 && Number.isInteger(periodSeconds) && periodSeconds > 0) || Object.keys(rest).length) {
      throw new TypeError("emulator: datadogRateLimit must be {limit, periodSeconds, spent?} with positive integers");
    }
  }
  const clients = profile.clients;
  let faultCounter = 0;

  const credentials = profile.credentialVault.map((entry) => {
    const client = clients.find((c) => c.clientId === entry.clientId);
    const account = dataset.account(entry.accountUuid);
    return {
      id: entry.id,
      accountUuid: entry.accountUuid,
      details: {
        id: entry.id,
        name: `dps-cost ${account.name} OAuth client`,
        description: entry.accountUuid,
        owner: "emulator",
        ownerAccessOnly: false,
        scope: "APP_ENGINE",
        type: "USERNAME_PASSWORD",
        username: client.clientId,
        password: client.clientSecret,
      },
    };
  });

  // The Datadog keys as a Workflow keeps them: "Username and password", username = API key,
  // password = application key (README "Dynatrace Workflow"). Not an account's entry: it is in
  // config.datadog.credentialId, not in config.credentialVault.
  const datadogKeys = {
    apiKey: "ddemulatorapikey00000000000000000",
    applicationKey: "ddemulatorappkey000000000000000000000000",
  };
  credentials.push({
    id: DATADOG_CREDENTIAL_ID,
    accountUuid: null,
    details: {
      id: DATADOG_CREDENTIAL_ID,
      name: "Datadog API and application key (cloud cost management)",
      description: "username = API key, password = application key",
      owner: "emulator",
      ownerAccessOnly: false,
      scope: "APP_ENGINE",
      type: "USERNAME_PASSWORD",
      username: datadogKeys.apiKey,
      password: datadogKeys.applicationKey,
    },
  });

  const uploads = createUploadState(dataset.seed);
  const state = {
    baseUrl: options.baseUrl ?? "http://127.0.0.1",
    /** The delivery targets' secrets and what they received (uploads.js). */
    uploads,
    /** Vault entries of type Token (the delivery webhook's); not account clients. */
    tokenCredentials: [
      {
        id: uploads.webhookCredentialId,
        details: {
          id: uploads.webhookCredentialId,
          name: "dps-cost FOCUS webhook token",
          owner: "emulator",
          ownerAccessOnly: false,
          scope: "APP_ENGINE",
          type: "TOKEN",
          token: uploads.webhookToken,
        },
      },
    ],
    clock,
    dataset,
    datadog: {
      ...datadogKeys,
      rules: datadogRules,
      // Datadog's fixed rate-limit windows (X-RateLimit-* on every reply, 429 when spent),
      // counted from the emulator's start; `spent`: another client used up the first window.
      rateLimit: rateLimit && {
        limit: rateLimit.limit,
        periodMs: rateLimit.periodSeconds * 1000,
        elapsed: () => Date.now() - startReal,
        window: 0,
        used: rateLimit.spent ? rateLimit.limit : 0,
        requests: 0,
      },
    },
    apiToken: API_TOKEN,
    credentials,
    /** Action executions the automation route answers (registered through the control API). */
    actionExecutions: new Map(),
    profile: profileName,
    clients,
    ingestClientId: profile.ingestClientId,
    v2EnvironmentEndpoints: v2Mode,
    tokens: createTokenStore({ clients, ttlSeconds: ttl, clock }),
    events: createEventStore({ mode: options.storeEvents ?? "full" }),
    allowLists: createAllowLists(),
    pageKeys: createPageKeys(`dps-cost-emulator-page-keys|${dataset.seed}`),
    faults: [],
    requests: [],
    logger: options.logger ?? null,
    nextFaultId() {
      faultCounter += 1;
      return faultCounter;
    },
    /** The config object of the contract (also served at GET /__emulator/config). */
    config() {
      return buildConfig(state);
    },
  };
  return state;
}

function buildConfig(state) {
  const url = state.baseUrl;
  const ingestClient = state.clients.find((c) => c.clientId === state.ingestClientId);
  return {
    ssoUrl: `${url}/sso/oauth2/token`,
    apiUrl: url,
    ingestUrl: `${url}/api/v2/bizevents/ingest`,
    platformIngestUrl: `${url}/platform/classic/environment-api/v2/bizevents/ingest`,
    now: new Date(state.dataset.nowMs).toISOString(),
    profile: state.profile,
    v2EnvironmentEndpoints: state.v2EnvironmentEndpoints,
    accounts: state.dataset.accounts.map((a) => {
      const client = state.clients.find((c) => c.clientId === a.clientId);
      return {
        accountUuid: a.accountUuid,
        name: a.name,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        scopes: [...client.scopes],
        environments: a.environments.map(({ id, name }) => ({ id, name })),
      };
    }),
    datadog: {
      baseUrl: url,
      apiKey: state.datadog.apiKey,
      applicationKey: state.datadog.applicationKey,
      credentialId: DATADOG_CREDENTIAL_ID,
    },
    ingest: {
      accountUuid: ingestClient.accountUuid,
      clientId: ingestClient.clientId,
      clientSecret: ingestClient.clientSecret,
      scope: ingestClient.scopes.join(" "),
      apiToken: state.apiToken,
    },
    credentialVault: Object.fromEntries(state.credentials.filter((c) => c.accountUuid).map((c) => [c.id, c.accountUuid])),
    // FOCUS delivery targets (uploads.js): pre-signed PUT URLs from POST /__emulator/presign.
    delivery: {
      webhookUrl: `${url}/__webhook/focus`,
      webhookToken: state.uploads.webhookToken,
      webhookCredentialId: state.uploads.webhookCredentialId,
      presignUrl: `${url}/__emulator/presign`,
    },
  };
}

/**
 * Start the emulator.
 * @param {{ port?: number, host?: string, now?: string|number|Date, tokenTtlSeconds?: number,
 *           seed?: string, logger?: (line: string) => void, profile?: "default"|"large",
 *           v2EnvironmentEndpoints?: "removed"|"deprecated", storeEvents?: "full"|"ids",
 *           datadogRules?: object, datadogRateLimit?: { limit: number, periodSeconds: number, spent?: boolean } }} [options]
 * @returns {Promise<{ url: string, port: number, config: object, state: object, close(): Promise<void> }>}
 */
export async function startEmulator(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const state = createEmulatorState(options);
  const server = createServer(createRequestHandler(state));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address();
  const urlHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  state.baseUrl = url;
  let closed = null;
  return {
    url,
    port,
    config: state.config(),
    state,
    close() {
      if (!closed) {
        closed = new Promise((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeAllConnections();
        });
      }
      return closed;
    },
  };
}
