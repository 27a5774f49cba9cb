/**
 * The wall clock, in ms, for a time budget (--time-budget, explore()'s timeBudgetMs): read
 * only by what drives the explorer — the command line, its worker threads, the library's
 * explore() — never by the model or the explorer itself, which are functions of the seed.
 */
export const wallClock = (): number => performance.now();
