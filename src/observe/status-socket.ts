/**
 * The status socket of `synwatch live`: STATE_DIR/status.sock, a unix stream socket, mode 0600.
 *
 * Contract: a client connects and reads; the server writes one JSON document (a StatusSnapshot,
 * status-snapshot.ts) and a newline, then closes. The client sends nothing. The socket is
 * created during live's set-up (before the metrics listener and before any privilege drop, so it
 * keeps working after one), and removed when live stops, only if it is still the one this
 * process made. At start, an existing socket that nobody answers on (a run killed with -9) is
 * replaced; one that answers means another live uses this state directory: refused, as two runs
 * would share the ledger. Errors are StatusSocketError with a one-line message naming the path.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const STATUS_SOCKET_NAME = 'status.sock';
/** sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;
const PROBE_TIMEOUT_MS = 1_000;
export const QUERY_TIMEOUT_MS = 5_000;
/** A snapshot is a few kB; more than this is not a synwatch status answer. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class StatusSocketError extends Error {
  override name = 'StatusSocketError';
  /** not-running: nothing listens (exit 1 with a plain message, not a failure of status itself). */
  constructor(message: string, readonly code: 'not-running' | 'in-use' | 'unusable' | 'bad-answer') {
    super(message);
  }
}

export function statusSocketPath(stateDir: string): string {
  return path.join(path.resolve(stateDir), STATUS_SOCKET_NAME);
}

export class StatusServer {
  private constructor(private readonly server: net.Server, readonly path: string, private readonly ino: number) {}

  /** Listens on STATE_DIR/status.sock; `answer` is called once per connection. */
  static async start(stateDir: string, answer: () => unknown): Promise<StatusServer> {
    const p = statusSocketPath(stateDir);
    if (Buffer.byteLength(p) > MAX_SOCKET_PATH_BYTES) {
      throw new StatusSocketError(`status socket ${p}: path longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket's limit): use a shorter --state-dir`, 'unusable');
    }
    try {
      fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new StatusSocketError(`state directory ${path.dirname(p)}: cannot create it for the status socket (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'unusable');
    }
    await replaceStale(p);
    const server = net.createServer((conn) => {
      conn.on('error', () => {}); // a client that hangs up early is its own business
      conn.setTimeout(QUERY_TIMEOUT_MS, () => conn.destroy());
      let body: string;
      try {
        body = `${JSON.stringify(answer())}\n`;
      } catch (e) {
        body = `${JSON.stringify({ error: (e as Error).message })}\n`;
      }
      conn.end(body);
    });
    server.maxConnections = 8;
    // The socket file takes its mode from the umask at bind(): 0600 from the start, no window.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => reject(new StatusSocketError(`status socket ${p}: cannot listen (${e.code ?? e.message})`, 'unusable')));
        server.listen(p, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    fs.chmodSync(p, 0o600);
    return new StatusServer(server, p, fs.statSync(p).ino);
  }

  /** Stops listening and removes the socket file if it is still ours. */
  close(): void {
    this.server.close();
    try {
      if (fs.statSync(this.path).ino === this.ino) fs.unlinkSync(this.path);
    } catch {
      // already gone, or the directory is no longer ours to write (after a privilege drop)
    }
  }
}

/** Removes a socket nobody answers on; refuses one that answers or a path that is no socket. */
async function replaceStale(p: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new StatusSocketError(`status socket ${p}: exists and is not a socket; remove it or use another --state-dir`, 'unusable');
  const answered = await new Promise<boolean>((resolve) => {
    const c = net.connect(p);
    const done = (yes: boolean) => { c.destroy(); resolve(yes); };
    c.setTimeout(PROBE_TIMEOUT_MS, () => done(true)); // accepted but silent: someone is there
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
  if (answered) {
    throw new StatusSocketError(`another synwatch live is running with this state directory (${p} answers): one live per --state-dir`, 'in-use');
  }
  fs.unlinkSync(p);
}

/** Asks the live process behind STATE_DIR/status.sock for its snapshot (parsed JSON). */
export function queryStatus(stateDir: string, timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
  const p = statusSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const c = net.connect(p);
    const fail = (e: StatusSocketError) => { c.destroy(); reject(e); };
    c.setTimeout(timeoutMs, () => fail(new StatusSocketError(`status socket ${p}: no answer within ${timeoutMs / 1000} s (is synwatch live stuck?)`, 'bad-answer')));
    c.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_ANSWER_BYTES) fail(new StatusSocketError(`status socket ${p}: answer longer than ${MAX_ANSWER_BYTES} bytes: not synwatch`, 'bad-answer'));
      else chunks.push(b);
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') fail(new StatusSocketError(`no synwatch live is running with state directory ${path.dirname(p)} (no ${STATUS_SOCKET_NAME} there)`, 'not-running'));
      else if (e.code === 'ECONNREFUSED') fail(new StatusSocketError(`no synwatch live is running with state directory ${path.dirname(p)} (${p} is left from a run that did not stop cleanly)`, 'not-running'));
      else if (e.code === 'EACCES') fail(new StatusSocketError(`status socket ${p}: permission denied (it is mode 0600: run as the user live runs as, or root)`, 'unusable'));
      else fail(new StatusSocketError(`status socket ${p}: ${e.code ?? e.message}`, 'unusable'));
    });
    c.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new StatusSocketError(`status socket ${p}: the answer is not JSON (${size} bytes)`, 'bad-answer'));
      }
      c.destroy();
    });
  });
}
