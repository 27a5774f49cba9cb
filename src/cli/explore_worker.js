// A worker thread of `thpsim explore --workers N`: loads the TypeScript sources through
// tsx, as bin/thpsim.js does, then runs its shard (explore_worker_shard.ts).
import { register } from 'tsx/esm/api';

register();
await import('./explore_worker_shard.ts');
