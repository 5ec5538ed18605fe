import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { valueConfidence, valueSpan } from './ai-enrich.ts';

const spanText = (text: string) => {
  const s = valueSpan(text);
  return s && text.slice(s.start, s.end);
};

describe('valueSpan: where the answer is written in {value, confidence}', () => {
  it('finds a string inside its quotes, other values as written, only at the top level', () => {
    assert.equal(spanText('{"value":"Paris","confidence":0.9}'), 'Paris');
    assert.equal(spanText('{ "confidence": 0.9, "value" : {"a":"x\\"y","value":1} }'), '{"a":"x\\"y","value":1}');
    assert.equal(spanText('{"value":42}'), '42');
    assert.equal(spanText('{"value": [1, 2] ,"confidence":1}'), '[1, 2]');
    assert.equal(spanText('{"x":{"value":"no"},"value":"yes"}'), 'yes');
    assert.equal(spanText('{"note":"\\"value\\": 3","value":"ok"}'), 'ok');
    assert.equal(valueSpan('{"confidence":1}'), undefined);
  });
});

describe('valueConfidence', () => {
  const text = '{"value":"maybe so","confidence":0.9}';
  it('is the geometric mean over the tokens spelling the value, not the JSON around it', () => {
    const tokens = [
      { token: '{"value":"', logprob: Math.log(0.01) },
      { token: 'maybe', logprob: Math.log(0.5) },
      { token: ' so', logprob: Math.log(0.8) },
      { token: '","confidence":0.9}', logprob: Math.log(0.01) },
    ];
    assert.equal(valueConfidence(text, tokens), Math.round(Math.sqrt(0.4) * 1e4) / 1e4);
  });
  it('gives up (undefined: the stated rating is used) when the tokens do not spell the text', () => {
    assert.equal(valueConfidence(text, [{ token: 'maybe so', logprob: 0 }]), undefined);
  });
});
