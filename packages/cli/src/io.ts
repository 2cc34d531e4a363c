/** Where a command writes, so tests can capture it. */
export interface CliIo {
  /** Text or raw bytes (the `adapter encode` contract writes bytes). */
  stdout(chunk: string | Uint8Array): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress lines are shown only then. */
  readonly tty: boolean;
  /** Directory relative paths resolve against. */
  readonly cwd: string;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: (chunk) => void process.stdout.write(chunk),
    stderr: (text) => void process.stderr.write(text),
    tty: process.stderr.isTTY === true,
    cwd: process.cwd(),
  };
}

/** A one-line progress display on a TTY; a no-op otherwise. */
export function progressLine(io: CliIo): { update(text: string): void; done(): void } {
  if (!io.tty) return { update() {}, done() {} };
  return {
    update: (text) => io.stderr(`\r\x1b[2K${text.length > 100 ? `${text.slice(0, 97)}...` : text}`),
    done: () => io.stderr("\r\x1b[2K"),
  };
}

/** A command-line usage error (exit code 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
