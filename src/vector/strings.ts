/**
 * Strings in the state vector: a string field holds a 32-bit fingerprint of the string's
 * contents, so the same string is the same slot value in every run and every worker thread
 * (an interning counter would depend on the order strings were first seen). Two strings
 * with one fingerprint would be one value: that is checked as each string is first seen,
 * and is an error, never a silent merge.
 */
const ids = new Map<string, number>();
const strings = new Map<number, string>();

function fingerprint(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
  }
  return h | 0;
}

/** A string's slot value. */
export function stringId(s: string): number {
  let id = ids.get(s);
  if (id === undefined) {
    if (typeof s !== 'string') throw new TypeError(`state vector: a string field was given ${typeof s} ${String(s)}`);
    id = fingerprint(s);
    const other = strings.get(id);
    if (other !== undefined && other !== s) throw new Error(`state vector: strings ${JSON.stringify(other)} and ${JSON.stringify(s)} have one fingerprint`);
    ids.set(s, id);
    strings.set(id, s);
  }
  return id;
}

/** The string a slot value stands for. */
export function stringOf(id: number): string {
  const s = strings.get(id);
  if (s === undefined) throw new Error(`state vector: ${id} is no string's fingerprint`);
  return s;
}
