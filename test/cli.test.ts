import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer } from './fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/**
 * The real binary (bin/cellwise.js) against a real server on a free port: every verb, --json
 * parsed, exit codes, a run with the fake LLM, and SIGINT cancelling a run.
 */
let app: TestApp;
let fake: FakeLlmServer;
let work: string;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 2 });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: 2 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cellwise-cli-'));
});
after(async () => {
  await app.close();
  await fake.close();
  await rm(work, { recursive: true, force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };
const BIN = path.join(import.meta.dirname, '..', 'bin', 'cellwise.js');

function start(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: work,
    env: { ...process.env, CELLWISE_URL: app.baseUrl, CELLWISE_KEY: ADMIN_KEY, NO_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}
const cli = (args: string[], env?: Record<string, string | undefined>) => start(args, env).done;
async function cliJson<T = any>(args: string[], env?: Record<string, string | undefined>): Promise<T> {
  const r = await cli([...args, '--json'], env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

describe('cellwise CLI: help, version and usage errors', () => {
  it('answers --help for every command with its usage and exit 0, with no side effect (serve --help starts nothing)', async () => {
    const dataDir = path.join(work, 'untouched');
    await mkdir(dataDir);
    const commands = [[], ['serve'], ['worker'], ['places', 'import'], ['datasets', 'list'], ['datasets', 'show'], ['import'], ['columns', 'add'], ['run'], ['export'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['tasks', 'list'], ['tasks', 'show'], ['tasks', 'cancel'], ['mcp']];
    const runs = await Promise.all(commands.map((c) => cli([...c, '--help'], { CELLWISE_DATA_DIR: dataDir, PORT: '0' })));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, `${commands[i]!.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: cellwise ${commands[i]!.join(' ')}`.trim()), commands[i]!.join(' '));
      assert.match(r.stdout, /--help/);
    });
    assert.match(runs[5]!.stdout, /--json/, 'remote verbs list the connection flags');
    assert.deepEqual(await readdir(dataDir), [], 'no database was created');
  });

  it('prints the version, and rejects an unknown flag or a bad value with the usage and exit 2', async () => {
    const pkg = JSON.parse(await readFile(path.join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), pkg.version);
    const unknown = await cli(['serve', '--no-such-flag']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--no-such-flag'[\s\S]*Usage: cellwise serve/);
    const badValue = await cli(['run', 'ds_x', '--max-cost', 'lots']);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /--max-cost/);
    const badChoice = await cli(['export', 'ds_x', '--format', 'pdf']);
    assert.equal(badChoice.code, 2);
    const noKey = await cli(['datasets', 'list'], { CELLWISE_KEY: undefined });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /CELLWISE_KEY/);
    const unknownCommand = await cli(['frobnicate']);
    assert.equal(unknownCommand.code, 2);
  });

  it('places import does not replace an existing index without --force', async () => {
    const dataDir = path.join(work, 'places-data');
    await mkdir(path.join(dataDir, 'places'), { recursive: true });
    const index = path.join(dataDir, 'places', 'places.cwp');
    await writeFile(index, 'existing index');
    await writeFile(path.join(work, 'cafes.csv'), 'lat,lng,amenity\n48.85,2.35,cafe\n');
    const r = await cli(['places', 'import', 'cafes.csv'], { CELLWISE_DATA_DIR: dataDir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--force/);
    assert.equal(await readFile(index, 'utf8'), 'existing index');

    const forced = await cli(['places', 'import', 'cafes.csv', '--force', '--keys', 'amenity'], { CELLWISE_DATA_DIR: dataDir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await readFile(index, 'utf8'), 'existing index');
    // --keys reaches the importer: a list that both replaces and adds is its usage error
    const badKeys = await cli(['places', 'import', 'cafes.csv', '--force', '--keys', 'amenity,+shop'], { CELLWISE_DATA_DIR: dataDir });
    assert.equal(badKeys.code, 2, badKeys.stderr);
  });
});

describe('cellwise CLI against a running server', () => {
  it('imports, adds an AI column, runs it to the end, lists, shows and exports (human and --json)', async () => {
    await writeFile(path.join(work, 'people.csv'), `Name,City\n${Array.from({ length: 12 }, (_, i) => `person ${i},city ${i}`).join('\n')}\n`);
    const ds = await cliJson(['import', 'people.csv', '--name', 'people', '--type', 'analysis']);
    assert.match(ds.datasetId, /^ds_/);
    assert.equal(ds.rowCount, 12);

    const column = await cliJson(['columns', 'add', ds.datasetId, '--name', 'Bio', '--type', 'ai_enrich', '--prompt', 'About {{Name}} in {{City}}', '--metadata', '{"temperature":0}']);
    assert.equal(column.taskType, 'ai_enrich');
    assert.equal(column.metadata.prompt, 'About {{Name}} in {{City}}');

    const estimate = await cliJson(['run', ds.datasetId, '--estimate']);
    assert.equal(estimate.cells, 12);
    assert.equal(estimate.llmCalls, 12);

    const run = await cliJson(['run', ds.datasetId, '--columns', 'Bio', '--yes']);
    assert.equal(run.task.status, 'completed');
    assert.deepEqual(run.task.progress, { total: 12, completed: 12, failed: 0, skipped: 0 });
    const rows = await app.get(`/api/v2/datasets/${ds.datasetId}/data?limit=100`);
    assert.ok(rows.body.data.every((r: any[]) => /^fake answer /.test(r[2].value)));

    const list = await cliJson(['datasets', 'list']);
    assert.ok(list.datasets.some((d: any) => d.datasetId === ds.datasetId));
    const human = await cli(['datasets', 'list']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(`${ds.datasetId}\\s+people\\s+analysis`));
    assert.ok(!(human.stdout + human.stderr).includes("\u001b["), 'no colour or progress when stdout is not a terminal');

    const tasks = await cliJson(['tasks', 'list', ds.datasetId]);
    assert.equal(tasks.tasks[0].taskId, run.task.taskId);
    const shown = await cliJson(['tasks', 'show', ds.datasetId, run.task.taskId]);
    assert.equal(shown.status, 'completed');

    const exported = await cliJson(['export', ds.datasetId, '--format', 'csv', '-o', 'out.csv']);
    assert.equal(exported.rowCount, 12);
    const csv = await readFile(path.join(work, 'out.csv'), 'utf8');
    assert.equal(csv.length > 0 && Buffer.byteLength(csv), exported.sizeBytes);
    assert.match(csv, /Name,City,Bio/);
    const humanExport = await cli(['export', ds.datasetId, '--format', 'json']);
    assert.equal(humanExport.code, 0);
    assert.match(humanExport.stdout, /Exported 12 rows to /);
    const jsonFile = JSON.parse(await readFile(path.join(work, humanExport.stdout.match(/to (\S+)/)![1]!), 'utf8'));
    assert.equal(jsonFile.length, 12);
  });

  it('prints the API error code with exit 1 (and as JSON with --json)', async () => {
    const human = await cli(['datasets', 'show', 'ds_missing']);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /DATASET_NOT_FOUND/);
    const json = await cli(['tasks', 'cancel', 'ds_missing', 'task_x', '--json']);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).code, 'DATASET_NOT_FOUND');
    const unreachable = await cli(['datasets', 'list', '--url', 'http://127.0.0.1:1']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /NETWORK_ERROR/);
  });

  it('creates, lists and revokes keys over the API; --key-file works; a read key is refused a write with its code', async () => {
    const created = await cliJson(['keys', 'create', '--name', 'reader', '--scope', 'read']);
    assert.deepEqual(created.scopes, ['read']);
    await writeFile(path.join(work, 'reader.key'), `${created.key}\n`);
    const listed = await cliJson(['datasets', 'list', '--key-file', 'reader.key'], { CELLWISE_KEY: undefined });
    assert.ok(Array.isArray(listed.datasets));
    const refused = await cli(['columns', 'add', 'ds_x', '--name', 'x', '--type', 'raw', '--key-file', 'reader.key', '--json'], { CELLWISE_KEY: undefined });
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.stdout).code, 'ACCESS_DENIED');
    const keys = await cliJson(['keys', 'list']);
    assert.ok(keys.keys.some((k: any) => k.keyId === created.keyId));
    const revoked = await cliJson(['keys', 'revoke', created.keyId]);
    assert.equal(revoked.deleted, true);
    const after = await cli(['datasets', 'list', '--key', created.key]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /UNAUTHORIZED/);
  });

  it('keys create --local writes an admin key straight into the database (no server, no key): the recovery for a lost admin key', async () => {
    const env = {
      CELLWISE_DATA_DIR: app.config.dataDir,
      DATABASE_URL: app.config.databaseUrl,
      CELLWISE_DATABASE_SCHEMA: app.config.databaseSchema,
      CELLWISE_KEY: undefined,
      CELLWISE_URL: 'http://127.0.0.1:1',
    };
    const created = await cliJson(['keys', 'create', '--local', '--scope', 'admin', '--name', 'recovered'], env);
    assert.match(created.key, /\S{20,}/);
    assert.deepEqual(created.scopes, ['admin']);
    const res = await app.get('/api/v2/keys', { key: created.key });
    assert.equal(res.status, 200);
    assert.ok(res.body.keys.some((k: any) => k.keyId === created.keyId && k.name === 'recovered'));
  });
});

describe('cellwise run and Ctrl-C', () => {
  let slow: FakeLlmServer;
  let slowApp: TestApp;
  before(async () => {
    slow = await startFakeOpenAI({ latencyMs: 150 });
    slowApp = await startTestApp({ openaiBaseUrl: slow.baseUrl, llmConcurrency: 1 });
  });
  after(async () => {
    await slowApp.close();
    await slow.close();
  });

  it('SIGINT cancels the running task (no terminal to ask), exits 130 and keeps finished cells', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ Name: `n${i}` }));
    const ds = (await slowApp.post('/api/v2/datasets', { name: 'slow', type: 'analysis', rows, columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] })).body;
    const { child, done } = start(['run', ds.datasetId, '--yes'], { CELLWISE_URL: slowApp.baseUrl });
    // Wait on the outcome: the task is processing and a cell is written.
    const deadline = Date.now() + 20_000;
    let taskId: string | undefined;
    for (;;) {
      const t = (await slowApp.get(`/api/v2/datasets/${ds.datasetId}/tasks`)).body.tasks[0];
      if (t && t.status === 'processing' && t.progress.completed >= 1) {
        taskId = t.taskId;
        break;
      }
      assert.ok(Date.now() < deadline, 'the run started');
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, new RegExp(`Cancelled ${taskId}`));
    const task = await waitForTask(slowApp, ds.datasetId, taskId!);
    assert.equal(task.status, 'cancelled');
    assert.ok(task.progress.completed >= 1 && task.progress.completed < 40);
  });

  // util-linux `script` gives the CLI a real terminal (a pty): the progress bar is drawn, and
  // Ctrl-C (the ^C byte typed on the terminal) asks before cancelling.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it('on a terminal draws the progress bar, and Ctrl-C asks: "n" carries on, "y" cancels', { skip: hasScript ? false : 'util-linux script is not installed' }, async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ Name: `t${i}` }));
    const ds = (await slowApp.post('/api/v2/datasets', { name: 'tty', type: 'analysis', rows, columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] })).body;
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} run ${ds.datasetId} --yes`;
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: work, env: { ...process.env, CELLWISE_URL: slowApp.baseUrl, CELLWISE_KEY: ADMIN_KEY, NO_COLOR: '', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let stage = 0;
    const progressAfter = (from: number) => /\] (\d+)\/40/g.exec(out.slice(from));
    let resumedAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (stage === 0 && /\] [1-9]\d*\/40/.test(out)) {
        stage = 1;
        child.stdin.write('\x03');
      } else if (stage === 1 && /Cancel task task_\w+\? \[y\/N\]/.test(out)) {
        stage = 2;
        resumedAt = out.length;
        child.stdin.write('n\r');
      } else if (stage === 2 && progressAfter(resumedAt)) {
        stage = 3;
        child.stdin.write('\x03');
      } else if (stage === 3 && (out.slice(resumedAt).match(/Cancel task task_\w+\? \[y\/N\]/g) ?? []).length === 1) {
        stage = 4;
        child.stdin.write('y\r');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stage, 4, out);
    assert.equal(code, 130, out);
    assert.match(out, /Estimate: 40 cells/);
    assert.ok(out.includes('\u001b[2K'), 'the progress line is redrawn in place');
    assert.match(out, /task_\w+ \[#*-*\] \d+\/40 +[\d.]+ cells\/s +ETA \S+ +\$\d+\.\d{4}/, 'a live progress line with cells/s, ETA and cost');
    const taskId = /Cancelled (task_\w+)/.exec(out)![1]!;
    assert.equal((await waitForTask(slowApp, ds.datasetId, taskId)).status, 'cancelled');
  });
});
