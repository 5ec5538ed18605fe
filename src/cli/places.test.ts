import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../config.ts';
import { readIndexFile } from '../providers/places/index-file.ts';
import { placesIndexPath } from '../providers/places/providers.ts';
import { osmPbf } from '../../test/fixtures/osm-pbf-writer.ts';
import { placesCommand } from './places.ts';

test('cellwise places import FILE writes the index into the data dir; a bad file exits 1 with the reason', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-cli-'));
  try {
    const config = loadConfig({}, { dataDir: path.join(dir, 'data') });
    await writeFile(path.join(dir, 'p.csv'), 'lat,lng,amenity,name\n1,2,cafe,A\n3,4,bar,B\n');
    const lines: string[] = [];
    assert.equal(await placesCommand(['import', path.join(dir, 'p.csv')], config, (l) => lines.push(l)), 0);
    assert.match(lines[0]!, /Indexed 2 places/);
    assert.equal((await readIndexFile(placesIndexPath(config.dataDir))).header.points, 2);
    await writeFile(path.join(dir, 'bad.csv'), 'a,b\n1,2\n');
    lines.length = 0;
    assert.equal(await placesCommand(['import', path.join(dir, 'bad.csv')], config, (l) => lines.push(l)), 1);
    assert.match(lines[0]!, /no coordinate columns/);
    assert.equal(await placesCommand(['import'], config, () => undefined), 2);
    assert.equal(await placesCommand(['import', path.join(dir, 'p.csv'), '--keys'], config, () => undefined), 2);
    assert.equal(await placesCommand(['import', path.join(dir, 'p.csv'), '--keys', 'amenity,+shop'], config, () => undefined), 2, 'adding and replacing at once');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cellwise places import FILE --keys: only those keys, or +KEY added to the presets\' keys', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-cli-'));
  try {
    const config = loadConfig({}, { dataDir: path.join(dir, 'data') });
    await writeFile(path.join(dir, 'x.osm.pbf'), osmPbf([{ id: 1, lat: 1, lng: 1, tags: { amenity: 'cafe' } }, { id: 2, lat: 1, lng: 1, tags: { natural: 'peak' } }, { id: 3, lat: 1, lng: 1, tags: { cuisine: 'pizza' } }]));
    const lines: string[] = [];
    assert.equal(await placesCommand(['import', path.join(dir, 'x.osm.pbf'), '--keys', 'amenity'], config, (l) => lines.push(l)), 0);
    assert.match(lines[0]!, /Indexed 1 places .*1 points\/nodes, 0 ways, 0 relations/);
    assert.deepEqual((await readIndexFile(placesIndexPath(config.dataDir))).header.keys, ['amenity']);
    assert.equal(await placesCommand(['import', path.join(dir, 'x.osm.pbf'), '--keys=+cuisine'], config, () => undefined), 0);
    const header = (await readIndexFile(placesIndexPath(config.dataDir))).header;
    assert.equal(header.points, 3);
    assert.ok(header.keys?.includes('natural') && header.keys.includes('cuisine'));
    assert.equal(await placesCommand(['import', path.join(dir, 'x.osm.pbf')], config, () => undefined), 0);
    assert.equal((await readIndexFile(placesIndexPath(config.dataDir))).header.points, 2, 'by default: the presets\' primary keys (natural yes, cuisine no)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
