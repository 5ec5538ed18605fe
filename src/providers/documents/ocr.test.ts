import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCanvas } from '@napi-rs/canvas';
import { imageSize } from './ocr.ts';

describe('imageSize', () => {
  const canvas = createCanvas(321, 123);
  canvas.getContext('2d').fillRect(0, 0, 10, 10);

  it('reads the size of a PNG and of a JPEG from their headers', () => {
    assert.deepEqual(imageSize(canvas.toBuffer('image/png'), 'png'), { width: 321, height: 123 });
    assert.deepEqual(imageSize(canvas.toBuffer('image/jpeg'), 'jpeg'), { width: 321, height: 123 });
  });

  it('finds no size in a file that only starts like an image', () => {
    assert.equal(imageSize(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), 'png'), undefined);
    assert.equal(imageSize(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.alloc(40, 0x41)]), 'jpeg'), undefined);
    assert.equal(imageSize(canvas.toBuffer('image/jpeg').subarray(0, 30), 'jpeg'), undefined);
  });
});
