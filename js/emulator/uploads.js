// Upload targets for the Workflow's FOCUS delivery (`export`): an object store that takes a PUT
// to a pre-signed URL (the signature in the query string, as S3/GCS/Azure SAS URLs carry it) and
// a webhook that takes a POST with a bearer token. Both keep the bytes they got, so tests can
// compare them with `dps-cost export` byte for byte. Faults (429 with Retry-After, 503, …) come
// from the emulator's general fault table (POST /__emulator/faults with `path: "^/__upload/"`).
//
//   PUT  /__upload/<key>?X-Emu-Expires=<unix s>&X-Emu-Signature=<hex>   200, or 403 (bad or expired
//        signature), 411 (no Content-Length: like S3, a chunked PUT is refused)
//   POST /__webhook/<name>   Authorization: Bearer <token>                202, or 401
//   control: POST /__emulator/presign {key, expiresIn?} → {url}; GET /__emulator/uploads (list),
//            GET /__emulator/uploads/<n> (the bytes), DELETE /__emulator/uploads

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { sendEmpty, sendJson, sendText } from "./common.js";

/** Bodies of up to this many bytes are taken (the Workflow runtime's memory is 256 MB). */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export const UPLOAD_PREFIX = "/__upload/";
export const WEBHOOK_PREFIX = "/__webhook/";

/**
 * The upload store and its secrets: the URL-signing key random per emulator (it never leaves
 * it); the webhook token from the data seed, like the clients' secrets (same seed, same config).
 */
export function createUploadState(seed) {
  return {
    signingKey: randomBytes(32),
    webhookToken: `emuhook_${createHash("sha256").update(`dps-cost-emulator-webhook|${seed}`).digest("hex").slice(0, 32)}`,
    webhookCredentialId: "CREDENTIALS_VAULT-EE0000000000000F",
    stored: [],
  };
}

function signature(key, path, expires) {
  return createHmac("sha256", key).update(`PUT\n${path}\n${expires}`).digest("hex");
}

/** A pre-signed PUT URL for `key` (valid `expiresIn` seconds on the real clock). */
export function presign(state, key, expiresIn = 900) {
  const path = UPLOAD_PREFIX + key.split("/").map(encodeURIComponent).join("/");
  const expires = Math.floor(Date.now() / 1000) + expiresIn;
  return `${state.baseUrl}${path}?X-Emu-Expires=${expires}&X-Emu-Signature=${signature(state.uploads.signingKey, path, expires)}`;
}

function keep(ctx, kind) {
  const { req, body } = ctx;
  const bytes = body.buffer ?? Buffer.alloc(0);
  const entry = {
    index: ctx.state.uploads.stored.length,
    kind,
    method: ctx.method,
    path: ctx.path,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    contentType: req.headers["content-type"] ?? null,
    contentLength: req.headers["content-length"] ?? null,
    transferEncoding: req.headers["transfer-encoding"] ?? null,
    blobType: req.headers["x-ms-blob-type"] ?? null,
  };
  ctx.state.uploads.stored.push({ entry, bytes });
  return entry;
}

function s3Error(res, status, code, message) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(xml) });
  res.end(xml);
}

/** `PUT /__upload/<key>?X-Emu-Expires&X-Emu-Signature`. */
export function handleUpload(ctx) {
  const { res, url, path, req, body } = ctx;
  const expires = url.searchParams.get("X-Emu-Expires") ?? "";
  const given = Buffer.from(url.searchParams.get("X-Emu-Signature") ?? "", "utf8");
  const want = Buffer.from(signature(ctx.state.uploads.signingKey, path, expires), "utf8");
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    return s3Error(res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
  }
  if (!(Number(expires) * 1000 > Date.now())) return s3Error(res, 403, "AccessDenied", "Request has expired");
  if (req.headers["content-length"] === undefined) {
    return s3Error(res, 411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (body.tooLarge) return s3Error(res, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  const entry = keep(ctx, "presigned");
  res.writeHead(200, { ETag: `"${entry.sha256.slice(0, 32)}"`, "Content-Length": 0 });
  res.end();
}

/** `POST /__webhook/<name>` with `Authorization: Bearer <token>`. */
export function handleWebhook(ctx) {
  const { res, req, body } = ctx;
  if (req.headers.authorization !== `Bearer ${ctx.state.uploads.webhookToken}`) {
    return sendJson(res, 401, { error: "unauthorized" });
  }
  if (body.tooLarge) return sendJson(res, 413, { error: "payload too large" });
  const entry = keep(ctx, "webhook");
  sendJson(res, 202, { received: entry.bytes });
}

export function controlPresign(ctx) {
  let spec;
  try {
    spec = JSON.parse(ctx.body.buffer?.toString("utf8") || "{}");
  } catch {
    return sendText(ctx.res, 400, "emulator: presign takes {key, expiresIn?}");
  }
  if (typeof spec.key !== "string" || spec.key === "" || (spec.expiresIn !== undefined && !Number.isInteger(spec.expiresIn))) {
    return sendText(ctx.res, 400, "emulator: presign takes {key: string, expiresIn?: integer seconds}");
  }
  sendJson(ctx.res, 200, { url: presign(ctx.state, spec.key, spec.expiresIn) });
}

export function controlUploads(ctx) {
  sendJson(ctx.res, 200, { uploads: ctx.state.uploads.stored.map((u) => u.entry) });
}

export function controlUploadBody(ctx, [n]) {
  const u = ctx.state.uploads.stored[Number(n)];
  if (!u) return sendText(ctx.res, 404, `emulator: no upload ${n}`);
  ctx.res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": u.bytes.length });
  ctx.res.end(u.bytes);
}

export function controlClearUploads(ctx) {
  ctx.state.uploads.stored.length = 0;
  sendEmpty(ctx.res, 204);
}
