import { ConfigError, loadConfig, publicBaseUrl } from '../config.ts';
import { startServer, startWorker } from '../main.ts';
import { placesCommand } from './places.ts';
import { blobsCommand } from './blobs.ts';

const USAGE = `cellwise <command>

Commands:
  serve     start the API server (PORT, HOST, CELLWISE_DATA_DIR, DATABASE_URL, ...)
  worker    process tasks without serving HTTP (PostgreSQL only: DATABASE_URL; run the
            server with CELLWISE_WORKERS=none, or keep its in-process engine as well)
  places import FILE
            index an OSM PBF, GeoJSON or CSV of places for offline places_count
  blobs migrate --to local|postgres|s3
            copy stored files and exports to another blob store
  help      show this help`;

async function main(argv: string[]) {
  const [command = 'serve'] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command === 'places') {
    process.exitCode = await placesCommand(argv.slice(1), loadConfig());
    return;
  }
  if (command === 'blobs') {
    process.exitCode = await blobsCommand(argv.slice(1), loadConfig());
    return;
  }
  if (command === 'worker') {
    const config = loadConfig();
    if (!config.databaseUrl) {
      console.error('cellwise worker needs DATABASE_URL (PostgreSQL): with SQLite the server runs the engine in-process.');
      process.exitCode = 2;
      return;
    }
    const worker = await startWorker(config);
    console.log(`cellwise worker ${worker.engine.owner} processing tasks${worker.metricsPort !== undefined ? ` (metrics on port ${worker.metricsPort})` : ''}`);
    onStopSignal(() => worker.close());
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
  onStopSignal(() => running.close());
}

/** Shutdown budget: orchestrators (Kubernetes' default grace period) kill at 30 s. */
const SHUTDOWN_DEADLINE_MS = 25_000;

/** On SIGTERM or SIGINT: a graceful close, exit 0; exit 1 if it has not finished within the deadline. */
function onStopSignal(close: () => Promise<void>) {
  const stop = async (signal: string) => {
    console.log(`${signal}: stopping (finishing or handing back held work)`);
    setTimeout(() => {
      console.error(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    try {
      await close();
      process.exit(0);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
