// A child process that runs thpsim's command line (src/cli/program.ts's main) on each
// argument list it is sent, and answers with the exit status and what it wrote. One
// process runs many commands (test/fuzz.test.ts), started once; the parent kills it if a
// command does not answer in time — a hang a test in the same process could not bound.
// Commands are sent one at a time: the next once this one has answered.
import { main } from '../../src/cli/program.ts';

let out = '';
let err = '';
const text = (chunk: unknown) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
process.stdout.write = ((c: unknown) => ((out += text(c)), true)) as never;
process.stderr.write = ((c: unknown) => ((err += text(c)), true)) as never;

/** Kept to this much of each stream (an explore --json result whole). */
const KEEP = 2_000_000;

process.on('message', (m: { args: string[] }) => {
  out = '';
  err = '';
  // (as src/cli/main.ts: what main throws is an internal error, exit 3 — here with its stack, to be seen)
  void main(m.args)
    .catch((e: Error) => {
      err += `thpsim: internal error: ${e.message}\n${e.stack ?? ''}`;
      return 3;
    })
    .then((code) => process.send!({ code, out: out.slice(0, KEEP), err: err.slice(0, KEEP) }));
});
process.send!({ ready: true });
