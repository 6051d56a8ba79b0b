import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';

/**
 * Child processes of the local stack: started with an IPC channel (so they exit with their parent), their
 * output prefixed and forwarded, readiness detected from a JSON line they print or from a listening port.
 */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the first JSON line whose `event` matches, e.g. `host-ready`. */
  readyLine: Promise<Record<string, unknown>>;
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  script: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  readyEvent?: string;
  /** Where to forward output lines; defaults to this process's stdout. */
  output?: (line: string) => void;
}

export function startNodeProcess(options: StartOptions): ManagedProcess {
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  let resolveReady: (value: Record<string, unknown>) => void = () => undefined;
  let rejectReady: (error: Error) => void = () => undefined;
  const readyLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const forward = (stream: NodeJS.ReadableStream | null): void => {
    if (!stream) return;
    readline.createInterface({ input: stream }).on('line', (line) => {
      if (options.readyEvent && line.startsWith('{') && line.includes(options.readyEvent)) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (
            typeof parsed === 'object' &&
            parsed !== null &&
            'event' in parsed &&
            parsed.event === options.readyEvent
          ) {
            resolveReady(Object.fromEntries(Object.entries(parsed)));
          }
        } catch {
          // not a JSON line after all: forward it like any other
        }
      }
      output(`[${options.name}] ${line}`);
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  child.once('exit', (code, signal) =>
    rejectReady(new Error(`${options.name} exited (${signal ?? code}) before it was ready`)),
  );
  child.once('error', (error) => rejectReady(error));
  if (!options.readyEvent) resolveReady({});

  return {
    name: options.name,
    child,
    readyLine,
    stop: (timeoutMs = 10_000) => stopProcess(child, timeoutMs),
  };
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves when something accepts TCP connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`Nothing listens on ${host}:${port} after ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails fast with a clear message when a port the stack needs is already taken. */
export async function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () =>
      reject(new Error(`Port ${port} is already in use: stop whatever holds it, or choose another port.`)),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
