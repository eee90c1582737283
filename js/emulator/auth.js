// SSO token endpoint (OAuth2 client credentials) and bearer-token bookkeeping.

import { randomBytes, randomUUID } from "node:crypto";

const OAUTH_PREFIX = "Invalid OAuth2 request. UNSUCCESSFUL_OAUTH_ACCESS_TOKEN_VALIDATION_FAILED | ";

function b64url(value) {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
  return buf.toString("base64url");
}

function oauthError(description) {
  return {
    status: 400,
    body: { error: "invalid_request", error_description: `${OAUTH_PREFIX}${description}` },
  };
}

/**
 * In-memory token store.
 * @param {{ clients: Array<{clientId:string, clientSecret:string, accountUuid:string, scopes:string[]}>,
 *           ttlSeconds: number, clock: () => number }} options
 */
export function createTokenStore({ clients, ttlSeconds, clock }) {
  const clientById = new Map(clients.map((c) => [c.clientId, c]));
  /** @type {Map<string, {clientId:string, accountUuid:string|null, scopes:Set<string>, expiresAt:number}>} */
  const tokens = new Map();

  function mint(record) {
    const iat = Math.floor(clock() / 1000);
    const header = { typ: "JWT", alg: "ES256", kid: "dps-cost-emulator" };
    const payload = { iss: "dps-cost-emulator", jti: randomUUID(), iat, exp: iat + ttlSeconds };
    const token = `${b64url(header)}.${b64url(payload)}.${b64url(randomBytes(64))}`;
    tokens.set(token, record);
    return token;
  }

  return {
    /**
     * Handle a token request. `contentType` is the raw header, `body` the raw text.
     * Returns `{ status, body }`.
     */
    issue(contentType, body) {
      const mediaType = String(contentType ?? "").split(";")[0].trim().toLowerCase();
      if (mediaType !== "application/x-www-form-urlencoded") {
        return oauthError(
          `Unsupported content type '${mediaType || "(none)"}'; use application/x-www-form-urlencoded`,
        );
      }
      const form = new URLSearchParams(body);
      const grantType = form.get("grant_type");
      const clientId = form.get("client_id");
      const clientSecret = form.get("client_secret");
      if (!grantType) return oauthError("Missing required parameter 'grant_type'");
      if (grantType !== "client_credentials") return oauthError(`Unsupported grant type '${grantType}'`);
      if (!clientId) return oauthError("Missing required parameter 'client_id'");
      if (!clientSecret) return oauthError("Missing required parameter 'client_secret'");
      const client = clientById.get(clientId);
      if (!client) return oauthError(`Invalid client: unknown OAuth client '${clientId}'`);
      if (!clientSecret.startsWith(`${clientId}.`) || clientSecret !== client.clientSecret) {
        return oauthError(`Invalid client: wrong client secret for OAuth client '${clientId}'`);
      }

      const scopeParam = form.get("scope");
      let scopes;
      if (scopeParam === null || scopeParam.trim() === "") {
        scopes = [...client.scopes];
      } else {
        scopes = [...new Set(scopeParam.trim().split(/\s+/))];
        const missing = scopes.filter((s) => !client.scopes.includes(s));
        if (missing.length > 0) return oauthError(`OAuth client is missing following scopes [${missing.join(" ")}]`);
      }

      const resource = form.get("resource");
      let accountUuid = null;
      if (resource !== null) {
        if (resource !== `urn:dtaccount:${client.accountUuid}`) {
          return oauthError(`Invalid resource '${resource}' for OAuth client '${clientId}'`);
        }
        accountUuid = client.accountUuid;
      }

      const accessToken = mint({
        clientId,
        accountUuid,
        scopes: new Set(scopes),
        expiresAt: clock() + ttlSeconds * 1000,
      });
      return {
        status: 200,
        body: {
          scope: scopes.join(" "),
          token_type: "Bearer",
          expires_in: ttlSeconds,
          access_token: accessToken,
          resource: resource ?? null,
        },
      };
    },

    /** The token's record if it is known and not expired, else null. */
    lookup(token) {
      const record = tokens.get(token);
      if (!record) return null;
      if (clock() >= record.expiresAt) {
        tokens.delete(token);
        return null;
      }
      return record;
    },

    /** Expire every issued token (the `expireTokens` fault). */
    expireAll() {
      tokens.clear();
    },

    get size() {
      return tokens.size;
    },
  };
}

/**
 * Split an Authorization header into `{ scheme, credentials }` (scheme normalised to "Bearer" /
 * "Api-Token" when it matches case-insensitively), or null when absent.
 */
export function parseAuthorization(header) {
  if (header === undefined || header === null) return null;
  const value = String(header).trim();
  const space = value.indexOf(" ");
  const rawScheme = space === -1 ? value : value.slice(0, space);
  const credentials = space === -1 ? "" : value.slice(space + 1).trim();
  const lower = rawScheme.toLowerCase();
  const scheme = lower === "bearer" ? "Bearer" : lower === "api-token" ? "Api-Token" : rawScheme;
  return { scheme, credentials };
}

/** What the request log records about authentication: never the credential itself. */
export function authKind(header) {
  const auth = parseAuthorization(header);
  if (!auth) return null;
  if (auth.scheme === "Bearer" || auth.scheme === "Api-Token") return auth.scheme;
  return "other";
}
