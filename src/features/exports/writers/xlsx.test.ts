import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xlsxValue } from './xlsx.ts';

describe('XLSX cell values', () => {
  it('keeps numbers and booleans, writes objects as JSON and formula-like text as text, null empty', () => {
    assert.deepEqual([xlsxValue(null), xlsxValue(undefined), xlsxValue(-2.5), xlsxValue(0), xlsxValue(false), xlsxValue(true)], [null, null, -2.5, 0, false, true]);
    assert.deepEqual([xlsxValue('=SUM(A1:A2)'), xlsxValue({ a: [1] }), xlsxValue([]), xlsxValue('')], ['=SUM(A1:A2)', '{"a":[1]}', '[]', '']);
  });

  it('cuts text at Excel\'s 32,767 characters, never inside a surrogate pair', () => {
    const max = 'x'.repeat(32_767);
    assert.equal(xlsxValue(max), max);
    assert.equal(xlsxValue(`${max}y`), max);
    const pairAtCut = `${'x'.repeat(32_766)}😀tail`;
    assert.equal(xlsxValue(pairAtCut), 'x'.repeat(32_766));
    const pairBefore = `${'x'.repeat(32_765)}😀tail`;
    assert.equal(xlsxValue(pairBefore), `${'x'.repeat(32_765)}😀`);
    assert.equal(xlsxValue({ long: 'z'.repeat(40_000) })!.toString().length, 32_767);
  });
});
