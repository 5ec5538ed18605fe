import { createInterface } from 'node:readline/promises';

/** A usage error (bad flag value, missing argument): exit code 2 with a hint. */
export class UsageError extends Error {}

/**
 * Where a verb writes. Human output on a terminal, JSON with --json; colour and progress bars only
 * when stdout is a terminal and NO_COLOR is unset (a pipe or a log file gets plain lines).
 */
export type Output = ReturnType<typeof createOutput>;

export function createOutput(opts: { json: boolean; noColor: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream }) {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const stdin = opts.stdin ?? process.stdin;
  const fancy = Boolean(stdout.isTTY) && !opts.noColor && !opts.json;
  const paint = (code: number) => (s: string) => (fancy ? `\x1b[${code}m${s}\x1b[0m` : s);
  let liveLine = false;

  const clearLive = () => {
    if (liveLine) stderr.write('\r\x1b[2K');
    liveLine = false;
  };

  return {
    json: opts.json,
    fancy,
    /** Whether a question can be asked (both ends are a terminal). */
    interactive: Boolean(stdin.isTTY) && Boolean(stdout.isTTY),
    bold: paint(1),
    dim: paint(2),
    green: paint(32),
    red: paint(31),
    yellow: paint(33),
    /** A line of human output (skipped with --json). */
    line(text = '') {
      if (opts.json) return;
      clearLive();
      stdout.write(`${text}\n`);
    },
    /** The machine answer: printed as JSON with --json, else rendered by `human`. */
    result(value: unknown, human: () => void) {
      if (opts.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else human();
    },
    /** A note on stderr (not part of the answer). */
    note(text: string) {
      clearLive();
      stderr.write(`${text}\n`);
    },
    /** Redraws the one live progress line (terminals only). */
    progress(text: string) {
      if (!fancy) return;
      stderr.write(`\r\x1b[2K${text}`);
      liveLine = true;
    },
    endProgress: clearLive,
    /** A left-aligned table; the header dimmed. */
    table(header: string[], rows: (string | number)[][]) {
      const cells = [header, ...rows.map((r) => r.map(String))];
      const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
      const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
      this.line(this.dim(fmt(header)));
      for (const r of cells.slice(1)) this.line(fmt(r));
    },
    /** Asks a yes/no question on the terminal; `false` when nobody can answer. Ctrl-C while asking answers `interruptAnswer`. */
    async confirm(question: string, opts: { interruptAnswer?: boolean } = {}): Promise<boolean> {
      if (!this.interactive) return false;
      clearLive();
      const rl = createInterface({ input: stdin, output: stderr });
      const interrupt = new AbortController();
      rl.on('SIGINT', () => interrupt.abort());
      try {
        const answer = await rl.question(`${question} [y/N] `, { signal: interrupt.signal });
        return /^y(es)?$/i.test(answer.trim());
      } catch {
        stderr.write('\n');
        return opts.interruptAnswer ?? false;
      } finally {
        rl.close();
      }
    },
  };
}

/** A text bar such as `[#######-------]`. */
export function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Byte progress (uploads, downloads) as one live line. */
export function byteProgress(out: Output, verb: string) {
  const started = performance.now();
  return ({ bytes, total }: { bytes: number; total: number | null }) => {
    const rate = bytes / Math.max(0.001, (performance.now() - started) / 1000);
    out.progress(total ? `${verb} ${bar(bytes / total)} ${formatBytes(bytes)} / ${formatBytes(total)}  ${formatBytes(rate)}/s` : `${verb} ${formatBytes(bytes)}  ${formatBytes(rate)}/s`);
  };
}
