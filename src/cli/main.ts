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
    console.log(`cellwise worker ${worker.engine.owner} processing tasks`);
    const stop = async () => {
      await worker.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
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
