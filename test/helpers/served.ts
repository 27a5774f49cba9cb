/**
 * A `thpsim inspect` started as a child process: the URL it prints on stdout once it
 * serves (http://127.0.0.1:PORT/), and everything it wrote so far. Rejects if it exits
 * first or prints none within `timeoutMs`.
 */
import type { ChildProcess } from 'node:child_process';

export interface Served {
  url: string;
  out: () => string;
  err: () => string;
}

export function servedUrl(child: ChildProcess, timeoutMs = 60_000): Promise<Served> {
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise<Served>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${timeoutMs / 1000} s:\n${out}${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, out: () => out, err: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before printing a URL: ${out}${err}`));
    });
  });
}
