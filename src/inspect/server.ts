/**
 * The inspector's web server: the static page (src/inspect/page/) and the recorded run
 * as JSON (/api/run), over node:http, on loopback only — the page shows a kernel model,
 * not something to publish on a network. Everything is served from the repository, so
 * the page works offline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';

const PAGE_DIR = new URL('./page/', import.meta.url);

/** The page's files, by URL path: nothing else under the directory is served. */
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  ...Object.fromEntries(['app', 'util', 'charts', 'memory', 'lanes', 'events'].map((m) => [`/${m}.js`, { file: `${m}.js`, type: 'text/javascript; charset=utf-8' }])),
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** 127.0.0.0/8, ::1 (also as [::1] or ::ffff:127.x.y.z) and the name localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return isLoopback(mapped[1]!);
    return h === '::1' || /^(0+:){7}0*1$/.test(h);
  }
  return false;
}

export interface InspectServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(payloadJson: string, host: string, port: number): Promise<InspectServer> {
  if (!isLoopback(host)) throw new Error(`refusing to listen on ${host}: not a loopback address`);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // a page elsewhere may point a name of its own at 127.0.0.1 (DNS rebinding): only
    // requests addressed to a loopback name are answered
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopback(hostName)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: the inspector answers requests to a loopback address only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/api/run') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(payloadJson);
      return;
    }
    const s = STATIC[path];
    if (!s) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = await readFile(new URL(s.file, PAGE_DIR));
    res.writeHead(200, { 'content-type': s.type, 'cache-control': 'no-store' }).end(body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the server has no TCP address');
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
