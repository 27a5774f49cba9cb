/**
 * Helpers for a monitor's ghost state (Monitor.state), which the dfs hashes: kept canonical,
 * so that two paths that leave a monitor knowing the same thing hash alike.
 */

/**
 * Add d to a count kept in a Map, deleting the entry when it comes back to 0 — a count of 0
 * and no entry are one state. (Such Maps are hashed by key order, not insertion order: their
 * field names are in shape.ts's UNORDERED.)
 */
export function addCount<K>(counts: Map<K, number>, key: K, d: number): void {
  const n = (counts.get(key) ?? 0) + d;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
