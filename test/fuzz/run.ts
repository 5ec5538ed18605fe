// `npm run fuzz -- --runs 5000 [--seconds 600] [--seed 123] [--postgres]`: the OpenAPI fuzz of
// test/fuzz.test.ts for longer than `npm test` gives it (there it stops after 45 s).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5000' }, seconds: { type: 'string', default: '3600' }, seed: { type: 'string' }, postgres: { type: 'boolean', default: false } } });
if (values.postgres && !process.env.CELLWISE_TEST_DATABASE_URL) {
  console.error('--postgres needs CELLWISE_TEST_DATABASE_URL=postgres://...');
  process.exit(2);
}
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/fuzz.test.ts'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    CELLWISE_TEST_BACKEND: values.postgres ? 'postgres' : 'sqlite',
    CELLWISE_FUZZ_RUNS: values.runs,
    CELLWISE_FUZZ_SECONDS: values.seconds,
    ...(values.seed ? { CELLWISE_FUZZ_SEED: values.seed } : {}),
  },
});
child.on('close', (code) => process.exit(code ?? 1));
