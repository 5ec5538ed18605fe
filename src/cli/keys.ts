import { Option, type Command } from 'commander';
import { unwrap } from '../../clients/typescript/index.ts';
import { loadClientConfig, loadConfig } from '../config.ts';
import { createOutput } from './output.ts';
import { connect, withConnection, type ConnectionOptions } from './remote.ts';

const SCOPES = ['read', 'write', 'admin'];

/**
 * `cellwise keys create|list|revoke` through the API (an admin key), and `keys create --local`:
 * straight into the database of CELLWISE_DATA_DIR / DATABASE_URL with no server and no key, the
 * recovery for a lost admin key.
 */
export function registerKeyCommands(program: Command) {
  const keys = program.command('keys').description('create, list and revoke API keys');

  withConnection(
    keys
      .command('create')
      .description('create an API key (printed once); --local writes it straight into the database, no server or key needed')
      .option('--name <name>', 'a name to recognise the key by', 'cli')
      .addOption(new Option('--scope <scope...>', 'scopes (repeatable)').choices(SCOPES).default(['read', 'write']))
      .option('--local', 'no server: write into the database of CELLWISE_DATA_DIR or DATABASE_URL (recovery for a lost admin key)'),
  ).action(async (opts: ConnectionOptions & { name: string; scope: ('read' | 'write' | 'admin')[]; local?: boolean }) => {
    const scopes = [...new Set(opts.scope)];
    if (opts.local) {
      const out = createOutput({ json: Boolean(opts.json), noColor: loadClientConfig().noColor });
      const config = loadConfig();
      const { openStore } = await import('../store/store.ts');
      const { createKeyService } = await import('../features/keys/keys.service.ts');
      const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema });
      try {
        const created = await createKeyService({ store }).createLocal({ name: opts.name, scopes });
        return out.result(created, () => printKey(out, created));
      } finally {
        await store.close();
      }
    }
    const { client, out } = await connect(opts);
    const created = unwrap(await client.api.POST('/api/v2/keys', { body: { name: opts.name, scopes } }));
    out.result(created, () => printKey(out, created));
  });

  withConnection(keys.command('list').description('the keys of the workspace (never the secrets)')).action(async (opts: ConnectionOptions) => {
    const { client, out } = await connect(opts);
    const list = unwrap(await client.api.GET('/api/v2/keys'));
    out.result(list, () => out.table(['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'LAST USED'], list.keys.map((k) => [k.keyId, k.name, `${k.prefix}...`, k.scopes.join(','), k.createdAt, k.lastUsedAt ?? '-'])));
  });

  withConnection(keys.command('revoke').description('revoke a key').argument('<keyId>', 'key id (key_...)')).action(async (keyId: string, opts: ConnectionOptions) => {
    const { client, out } = await connect(opts);
    const revoked = unwrap(await client.api.DELETE('/api/v2/keys/{keyId}', { params: { path: { keyId } } }));
    out.result(revoked, () => out.line(`Revoked ${keyId}`));
  });
}

function printKey(out: ReturnType<typeof createOutput>, k: { keyId: string; key: string; scopes: string[] }) {
  out.line(`Created ${k.keyId} (${k.scopes.join(', ')}). The key, shown once; store it now:`);
  out.line(`  ${out.bold(k.key)}`);
}
