/**
 * A start-up problem the operator fixes (a busy port, a data dir held by another server): the CLI
 * prints its message as one line and exits 1, with no stack trace.
 */
export class StartupError extends Error {}
