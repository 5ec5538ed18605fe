import { ConfigError, loadConfig, publicBaseUrl } from '../config.ts';
import { startServer } from '../main.ts';

const USAGE = `cellwise <command>

Commands:
  serve     start the API server (PORT, HOST, CELLWISE_DATA_DIR, DATABASE_URL, ...)
  help      show this help`;

async function main(argv: string[]) {
  const [command = 'serve'] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command !== 'serve') {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  const running = await startServer(config);
  const base = publicBaseUrl({ ...config, port: running.port });
  console.log(`cellwise listening on ${base} (${running.store.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'})`);
  console.log(`API docs: ${base}/docs`);
  if (running.bootstrap.generatedKey) {
    console.log(`\nAdmin API key for the default workspace (shown once, store it now):\n  ${running.bootstrap.generatedKey}\n`);
  }
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
