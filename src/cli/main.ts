// The thpsim command (bin/thpsim.js loads it): the program (program.ts) on this process's
// arguments; its exit status becomes the process's.

// `thpsim --version` alone answers before the model is loaded (program.ts and what it
// imports are most of the start-up: the charts, xstate, rxjs, zod)
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { thpsimVersion } = await import('../version.ts');
  process.stdout.write(`thpsim ${thpsimVersion()}\n`);
} else {
  const { main } = await import('./program.ts');
  const { printable } = await import('../scenario/load.ts');

  // `thpsim run --trace | head`: a closed pipe ends the output, not with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });

  process.exitCode = await main(argv).catch((e: Error) => {
    process.stderr.write(`thpsim: internal error: ${printable(e.message)}\n`);
    return 3;
  });
}
