// The thpsim command (bin/thpsim.js loads it): the program (program.ts) on this process's
// arguments; its exit status becomes the process's.
import { main } from './program.ts';
import { printable } from '../scenario/load.ts';

// `thpsim run --trace | head`: a closed pipe ends the output, not with a stack trace
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`thpsim: internal error: ${printable(e.message)}\n`);
  return 3;
});
