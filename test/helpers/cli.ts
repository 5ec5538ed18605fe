/**
 * How tests and benchmarks start `cellwise <command>` as a process: the TypeScript sources through
 * tsx, so they always run the code under test (dist/ may be stale or not built).
 * test/compiled.test.ts covers the compiled runtime itself.
 */
export const CLI_ARGS = ['--import', 'tsx', 'src/cli/main.ts'];
