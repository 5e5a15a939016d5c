// RFC 8785 (JCS) canonical JSON, for the values commands carry (DESIGN §3): objects,
// arrays, strings, booleans, null and integers within ±2^53. Floats are refused, as the
// server refuses them. Keys sort by UTF-16 code units, which is how JS compares strings;
// strings and integers serialise as ECMAScript's JSON.stringify writes them, as JCS says.
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value) || Math.abs(value) > 2 ** 53) {
      throw new Error("commands carry integers within ±2^53 only, not " + value);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return "[" + value.map(canonicalize).join(",") + "]";
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new Error("not a JSON value: " + typeof value);
}
