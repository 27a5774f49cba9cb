/** What the bench's sections print with: numbers, medians, tables and key-value lines. */

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export function table(head: string[], rows: string[][], right: boolean[]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  console.log(line(head));
  console.log('  ' + w.map((n) => '─'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

export const kv = (k: string, v: string) => console.log(`  ${k.padEnd(10)}${v}`);
