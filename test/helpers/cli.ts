// The thpsim command line called in this process (src/cli/program.ts's main, as
// bin/thpsim.js calls it): its exit status and what it wrote — a process per call costs a
// second of tsx start-up, this a few milliseconds.
import { vi } from 'vitest';
import { main } from '../../src/cli/program.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

const text = (chunk: unknown) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));

export async function cli(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(((c: unknown) => ((out += text(c)), true)) as never);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(((c: unknown) => ((err += text(c)), true)) as never);
  try {
    // (as src/cli/main.ts: what main throws is an internal error, exit 3)
    const code = await main(args).catch((e: Error) => {
      err += `thpsim: internal error: ${e.message}\n${e.stack ?? ''}`;
      return 3;
    });
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
