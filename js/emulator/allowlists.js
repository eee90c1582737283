// Cost-allocation allow lists (cost centers and products), per account, in memory, seeded from
// the account definitions on first use.

export const MAX_ALLOW_LIST_VALUES = 250;
export const MAX_KEY_LENGTH = 256;

/** Path segment → field name used in messages ("the costcenter field", as Dynatrace says). */
export const ALLOW_LIST_FIELDS = { costcenters: "costcenter", products: "product" };

function keyLength(key) {
  return [...key].length; // code points
}

/**
 * Validate a `{"values":[{"key":"…"}]}` body. Returns `{ keys }` or `{ error }` (the message the
 * 400 carries). Duplicates within the body are an error.
 */
export function parseValues(body, field) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { error: "The request body must be a JSON object {\"values\":[{\"key\":\"…\"}]}" };
  }
  if (!Array.isArray(body.values)) return { error: "'values' must be provided as an array of {\"key\":\"…\"}" };
  const keys = [];
  const seen = new Set();
  for (let i = 0; i < body.values.length; i++) {
    const item = body.values[i];
    if (item === null || typeof item !== "object" || Array.isArray(item) || typeof item.key !== "string") {
      return { error: `values[${i}]: 'key' must be provided as a string` };
    }
    const { key } = item;
    if (key.length === 0) return { error: `values[${i}]: 'key' must not be empty` };
    if (keyLength(key) > MAX_KEY_LENGTH) {
      return { error: `values[${i}]: 'key' must be at most ${MAX_KEY_LENGTH} characters long (got ${keyLength(key)})` };
    }
    if (seen.has(key)) {
      return { error: `The provided values should not contain duplicate keys: '${key}' occurs more than once in the request body for the ${field} field` };
    }
    seen.add(key);
    keys.push(key);
  }
  return { keys };
}

export function createAllowLists() {
  /** @type {Map<string, string[]>} `${accountUuid}|${field}` → keys in insertion order */
  const lists = new Map();

  function list(account, field) {
    const id = `${account.accountUuid}|${field}`;
    let keys = lists.get(id);
    if (!keys) {
      keys = [...(account.allowListSeeds[field] ?? [])];
      lists.set(id, keys);
    }
    return keys;
  }

  return {
    keys: list,

    /** One page (1-based). */
    page(account, field, page, pageSize) {
      const keys = list(account, field);
      const from = (page - 1) * pageSize;
      return {
        records: keys.slice(from, from + pageSize).map((key) => ({ key })),
        hasNextPage: from + pageSize < keys.length,
      };
    },

    /** POST: add. `{ status: 204 }` or `{ status: 400, message }`. */
    add(account, field, body) {
      const parsed = parseValues(body, field);
      if (parsed.error) return { status: 400, message: parsed.error };
      const keys = list(account, field);
      const existing = new Set(keys);
      const dup = parsed.keys.find((k) => existing.has(k));
      if (dup !== undefined) {
        return {
          status: 400,
          message: `The existing and provided values combined should not contain duplicate keys: '${dup}' already exists in the ${field} field`,
        };
      }
      if (keys.length + parsed.keys.length > MAX_ALLOW_LIST_VALUES) {
        return {
          status: 400,
          message: `The ${field} field can hold at most ${MAX_ALLOW_LIST_VALUES} values: it has ${keys.length}, adding ${parsed.keys.length} would make ${keys.length + parsed.keys.length}`,
        };
      }
      keys.push(...parsed.keys);
      return { status: 204 };
    },

    /** PUT: replace all. */
    replace(account, field, body) {
      const parsed = parseValues(body, field);
      if (parsed.error) return { status: 400, message: parsed.error };
      if (parsed.keys.length > MAX_ALLOW_LIST_VALUES) {
        return {
          status: 400,
          message: `The ${field} field can hold at most ${MAX_ALLOW_LIST_VALUES} values: the request body has ${parsed.keys.length}`,
        };
      }
      const keys = list(account, field);
      keys.splice(0, keys.length, ...parsed.keys);
      return { status: 204 };
    },

    /** DELETE one key (already percent-decoded). */
    remove(account, field, key) {
      if (key.length === 0) return { status: 400, message: "The path parameter 'key' must not be empty" };
      if (keyLength(key) > MAX_KEY_LENGTH) {
        return { status: 400, message: `The path parameter 'key' must be at most ${MAX_KEY_LENGTH} characters long (got ${keyLength(key)})` };
      }
      const keys = list(account, field);
      const i = keys.indexOf(key);
      if (i === -1) return { status: 404, message: `The value '${key}' does not exist in the ${field} field` };
      keys.splice(i, 1);
      return { status: 204 };
    },
  };
}
