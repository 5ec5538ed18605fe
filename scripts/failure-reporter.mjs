// A node:test reporter for failures that happen outside any test: a test file whose process
// exited non-zero or was killed after its tests passed (an uncaught exception after a test ended,
// a crash). The spec reporter prints the reason inline, somewhere in thousands of lines, and closes
// with only "'test failed'" for the file; this writes one JSON line per such file (exit code,
// signal, the tail of its stderr) and per "asynchronous activity after the test ended" message,
// which scripts/test.mjs prints next to its closing line.
const STDERR_LINES = 40;

export default async function* failureReporter(source) {
  /** file -> its last stderr lines */
  const stderr = new Map();
  for await (const event of source) {
    const { data } = event;
    if (event.type === 'test:stderr' && data.file) {
      const lines = stderr.get(data.file) ?? [];
      lines.push(...String(data.message).replace(/\n$/, '').split('\n'));
      stderr.set(data.file, lines.slice(-STDERR_LINES));
    } else if (event.type === 'test:diagnostic' && /after the test ended/.test(data.message)) {
      yield `${JSON.stringify({ kind: 'late', message: data.message })}\n`;
    } else if (event.type === 'test:fail' && data.nesting === 0 && data.details?.error?.failureType === 'testCodeFailure' && data.name === data.file) {
      const { exitCode, signal } = data.details.error;
      yield `${JSON.stringify({ kind: 'exit', file: data.file, exitCode, signal, stderr: stderr.get(data.file) ?? [] })}\n`;
    }
  }
}
