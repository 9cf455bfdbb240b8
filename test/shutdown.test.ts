import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import { prepareGracefulShutdown } from '../src/gracefulShutdown';
import { createLogger } from '../src/logger';
import { openTestStore, tempDataDir } from './fhir/embedded/fixtures';
import { answersWith, buildResponse, ROOT } from './support/responses';
import { LogCapture } from './support/testService';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');

interface LogLine {
  readonly msg: string;
  readonly port?: number;
}

/** The real server (`src/server.ts`) as a child process, with its JSON log lines as they come. */
function startServer(dataDir: string) {
  const child: ChildProcessWithoutNullStreams = spawn(NODE, ['-r', join(ROOT, 'test/support/registerTs.js'), join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
  });
  const lines: LogLine[] = [];
  const waiting: { msg: string; resolve: (line: LogLine) => void }[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const text of complete.filter((l) => l.startsWith('{'))) {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const w of waiting.filter((w) => w.msg === line.msg)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal }))
  );
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    logged: (msg: string): Promise<LogLine> =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => l.msg === msg);
        if (seen) {
          resolve(seen);
          return;
        }
        waiting.push({ msg, resolve });
        void exited.then(({ code }) => reject(new Error(`server exited (${code}) before logging "${msg}": ${stderr}`)));
      }),
  };
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

describe('SIGTERM', () => {
  it('lets a request in flight finish (and be stored), refuses new connections, exits 0', async () => {
    const { dir, cleanup } = tempDataDir();
    const server = startServer(dir);
    const agent = new Agent({ keepAlive: true });
    try {
      const { port } = await server.logged('listening');
      if (port === undefined) {
        throw new Error('no port in the "listening" line');
      }
      const body = Buffer.from(JSON.stringify(buildResponse(answersWith({ 'pain-score': 6 }), { subject: { reference: 'Patient/shutdown-check' } })));
      // `Expect: 100-continue`: the server's "100 Continue" proves it has the request before the body is sent.
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/fhir/QuestionnaireResponse/$triage',
        agent,
        headers: { 'Content-Type': 'application/fhir+json', 'Content-Length': body.length, Expect: '100-continue' },
      });
      const answered = new Promise<IncomingMessage>((resolve, reject) => {
        req.on('response', resolve);
        req.on('error', reject);
      });
      // Awaited below; a failure before then must not surface as an unhandled rejection in another test.
      answered.catch(() => undefined);
      await new Promise<void>((resolve) => req.once('continue', resolve));
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));

      server.child.kill('SIGTERM');
      await server.logged('shutting down: no new connections, finishing requests in flight');
      expect(await connectionRefused(port)).toBe(true);

      req.end(body.subarray(half));
      const res = await answered;
      const bundle = JSON.parse(await readBody(res)) as Bundle;
      expect(res.statusCode).toBe(200);
      // The keep-alive connection is closed after the answer, so the drain does not wait on it.
      expect(res.headers.connection).toBe('close');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      const messages = server.lines.map((l) => l.msg);
      expect(messages.at(-1)).toBe('stopped');
      expect(messages.indexOf('shutting down: no new connections, finishing requests in flight')).toBeLessThan(messages.indexOf('stopped'));

      // The store was closed cleanly: what the last request wrote is in the journal.
      const storedId = bundle.entry?.map((e) => e.resource).find((r): r is QuestionnaireResponse => r?.resourceType === 'QuestionnaireResponse')?.id;
      expect(storedId).toBeDefined();
      const store = await openTestStore(dir);
      try {
        const stored = await store.readResource<QuestionnaireResponse>('QuestionnaireResponse', storedId ?? '');
        expect(stored.subject?.reference).toBe('Patient/shutdown-check');
      } finally {
        await store.close();
      }
    } finally {
      agent.destroy();
      server.child.kill('SIGKILL');
      cleanup();
    }
  }, 60_000);
});

describe('the shutdown sequence', () => {
  const listening = async (handler: (res: ServerResponse) => void): Promise<{ server: Server; port: number }> => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => handler(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  };

  it('exits 1 when a request does not finish within the grace period, without closing the store under it', async () => {
    let stop: (signal: string) => void = () => undefined;
    const held: ServerResponse[] = [];
    // The request is held unanswered; the signal comes once the server has it.
    const { server, port } = await listening((res) => {
      held.push(res);
      stop('SIGTERM');
    });
    const logs = new LogCapture();
    let closed = false;
    const exitCode = new Promise<number>((resolve) => {
      stop = prepareGracefulShutdown(server, {
        closeService: async () => {
          closed = true;
        },
        logger: createLogger('info', logs),
        exit: resolve,
        graceMs: 200,
      });
    });
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/' });
    req.on('error', () => undefined);
    req.end('x');
    try {
      expect(await exitCode).toBe(1);
      expect(closed).toBe(false);
      expect(held).toHaveLength(1);
      expect(logs.text()).toContain('shutdown did not finish in time');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a second signal exits 1 at once', async () => {
    const { server } = await listening((res) => res.end());
    const codes: number[] = [];
    const stop = prepareGracefulShutdown(server, {
      closeService: () => new Promise(() => undefined),
      logger: createLogger('silent'),
      exit: (code) => codes.push(code),
      graceMs: 60_000,
    });
    stop('SIGTERM');
    stop('SIGINT');
    expect(codes).toEqual([1]);
    server.close();
  });
});
