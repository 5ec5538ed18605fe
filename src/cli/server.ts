import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, publicBaseUrl } from '../config.ts';

const SERVER_ENV = 'Configured by the environment: PORT, HOST, CELLWISE_DATA_DIR, DATABASE_URL, CELLWISE_ADMIN_KEY, OPENAI_API_KEY, ... (see the README).';

/**
 * The verbs that run cellwise itself on this machine: `serve` (the default), `worker` and
 * `places import`. The server modules load only when one of them runs, so the remote verbs and
 * every --help start fast and touch nothing.
 */
export function registerServerCommands(program: Command) {
  program
    .command('serve', { isDefault: true })
    .description('start the API server (the default command)')
    .addHelpText('after', `\n${SERVER_ENV}`)
    .action(async () => {
      const config = loadConfig();
      const { startServer } = await import('../main.ts');
      const running = await startServer(config);
      const base = publicBaseUrl({ ...config, port: running.port });
      console.log(`cellwise listening on ${base} (${running.store.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'})`);
      console.log(`API docs: ${base}/docs`);
      if (running.bootstrap.generatedKey) {
        console.log(`\nAdmin API key for the default workspace (shown once, store it now):\n  ${running.bootstrap.generatedKey}\n`);
      }
      stopOnSignals(() => running.close());
    });

  program
    .command('worker')
    .description('process tasks without serving HTTP (PostgreSQL only: DATABASE_URL; run the server with CELLWISE_WORKERS=none, or keep its in-process engine as well)')
    .addHelpText('after', `\n${SERVER_ENV}`)
    .action(async () => {
      const config = loadConfig();
      if (!config.databaseUrl) {
        console.error('cellwise worker needs DATABASE_URL (PostgreSQL): with SQLite the server runs the engine in-process.');
        process.exitCode = 2;
        return;
      }
      const { startWorker } = await import('../main.ts');
      const worker = await startWorker(config);
      console.log(`cellwise worker ${worker.engine.owner} processing tasks${worker.metricsPort !== undefined ? ` (metrics on port ${worker.metricsPort})` : ''}`);
      stopOnSignals(() => worker.close());
    });

  const places = program.command('places').description('offline places for places_count');
  places
    .command('import')
    .description('index an OpenStreetMap PBF extract, a GeoJSON FeatureCollection of points or a CSV with lat/lng and tag columns into CELLWISE_DATA_DIR/places/places.cwp')
    .argument('<file>', 'the PBF, GeoJSON or CSV file')
    .option('--force', 'replace an existing index')
    .option('--keys <keys>', 'KEY,KEY,... keeps only these tag keys (a smaller index); +KEY,... adds keys to the default list (every iD preset key)')
    .action(async (file: string, opts: { force?: boolean; keys?: string }) => {
      const config = loadConfig();
      const { placesIndexPath } = await import('../providers/places/providers.ts');
      const target = placesIndexPath(config.dataDir);
      if (existsSync(target) && !opts.force) {
        console.error(`${target} exists already; add --force to replace it.`);
        process.exitCode = 1;
        return;
      }
      const { placesCommand } = await import('./places.ts');
      process.exitCode = await placesCommand(['import', file, ...(opts.keys ? ['--keys', opts.keys] : [])], config);
    });
}

/** Shutdown budget: orchestrators (Kubernetes' default grace period) kill at 30 s. */
const SHUTDOWN_DEADLINE_MS = 25_000;

/** On SIGTERM or SIGINT: a graceful close, exit 0; exit 1 if it has not finished within the deadline. */
function stopOnSignals(close: () => Promise<void>) {
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
