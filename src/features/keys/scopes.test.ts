import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Scope } from '../../store/workspaces.ts';
import { hasScope } from './keys.service.ts';

describe('scopes', () => {
  it('instance implies admin implies write implies read, and nothing implies instance but instance', () => {
    const needed: Scope[] = ['read', 'write', 'admin', 'instance'];
    const table: [granted: Scope[], allowed: Scope[]][] = [
      [[], []],
      [['read'], ['read']],
      [['write'], ['read', 'write']],
      [['read', 'write'], ['read', 'write']],
      [['admin'], ['read', 'write', 'admin']],
      [['instance'], ['read', 'write', 'admin', 'instance']],
      [['read', 'admin'], ['read', 'write', 'admin']],
    ];
    for (const [granted, allowed] of table) assert.deepEqual(needed.filter((n) => hasScope(granted, n)), allowed, `granted ${granted.join(',') || 'nothing'}`);
  });
});
