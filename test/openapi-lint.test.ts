import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lintLiveDocument } from '../scripts/openapi-lint.ts';

describe('the OpenAPI document under Redocly lint', () => {
  it('has 0 errors and 0 warnings (every operation has an operationId; the document has a license)', async () => {
    const { errors, warnings, output } = await lintLiveDocument();
    assert.equal(errors + warnings, 0, output);
  });
});
