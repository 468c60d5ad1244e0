// server.mjs — start the real `rollcall serve` on a free loopback port for a
// test, wait for its "listening on" line, and stop it with SIGTERM.
import { spawn } from 'node:child_process';

export async function startServer({ args = [], env = {}, timeoutMs = 30000 } = {}) {
  const bin = process.env.ROLLCALL_BIN;
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (https?:\/\/\S+\/)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${stderr}`)); });
  });
  return {
    url,
    child,
    exited, // resolves to the exit code (or signal name) when the server ends
    get stderr() { return stderr; },
    async stop() { child.kill('SIGTERM'); return exited; },
  };
}
