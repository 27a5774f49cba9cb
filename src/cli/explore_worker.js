// A worker thread of `thpsim explore --workers N`: loads the TypeScript sources through
// tsx, as bin/thpsim.js does (with the checkout's tsconfig.json, not the working
// directory's), then runs its shard (explore_worker_shard.ts).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./explore_worker_shard.ts');
