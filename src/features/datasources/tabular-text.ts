import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { fileError } from './tabular-common.ts';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

const READ_CHUNK = 64 * 1024;

/** Only a byte-order mark can tell UTF-16 apart; anything without one must be UTF-8. */
export function encodingOf(bytes: Uint8Array): TextEncodingName {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/**
 * Index of the first byte that cannot start or continue a UTF-8 sequence, or -1. A sequence cut
 * off by the end of `bytes` counts as invalid only when `final`, since more bytes may follow.
 * Used to name the bad byte: TextDecoder only says that one exists.
 */
export function invalidUtf8At(bytes: Uint8Array, final = true): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else return i;
    // The second byte's range excludes overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return final ? i : -1;
      const c = bytes[i + k]!;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** How many trailing bytes of `bytes` begin a sequence that is not complete yet. */
function pendingTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Streams a text file as decoded strings, dropping a BOM and decoding UTF-16 when a BOM says so.
 * Undecodable bytes fail loudly with their byte offset and line: silently substituting U+FFFD would
 * store corrupted cells the user might never notice.
 */
export async function* readText(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK });
  let decoder: TextDecoder | undefined;
  let encoding: TextEncodingName = 'utf-8';
  let offset = 0;
  let previous: Uint8Array = new Uint8Array(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!decoder) {
        encoding = encodingOf(chunk);
        decoder = new TextDecoder(encoding, { fatal: true });
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw await decodeError(path, encoding, previous, chunk, offset, false);
      }
      offset += chunk.length;
      previous = chunk;
      if (text) yield text;
    }
    if (decoder) {
      let tail: string;
      try {
        tail = decoder.decode();
      } catch {
        throw await decodeError(path, encoding, previous, new Uint8Array(0), offset, true);
      }
      if (tail) yield tail;
    }
  } finally {
    stream.destroy();
  }
}

async function decodeError(path: string, encoding: TextEncodingName, previous: Uint8Array, chunk: Uint8Array, chunkStart: number, final: boolean) {
  if (encoding !== 'utf-8') {
    return fileError(`the file is not valid ${encoding.toUpperCase()} near byte offset ${chunkStart}; save it as UTF-8 and upload it again`, { byteOffset: chunkStart });
  }
  // The decoder may be holding the start of a sequence from the previous chunk: rescan from there.
  const carried = pendingTail(previous);
  const bytes = Buffer.concat([previous.subarray(previous.length - carried), chunk]);
  const at = invalidUtf8At(bytes, final);
  const byteOffset = chunkStart - carried + Math.max(at, 0);
  const line = await lineAt(path, byteOffset);
  return fileError(`the file must be UTF-8: byte offset ${byteOffset} (line ${line}) is not valid UTF-8; save the file as UTF-8 and upload it again`, { byteOffset, line });
}

/** 1-based line holding `byteOffset`; only runs on the error path, so a second read is fine. */
async function lineAt(path: string, byteOffset: number): Promise<number> {
  let line = 1;
  if (byteOffset === 0) return line;
  const stream = createReadStream(path, { start: 0, end: byteOffset - 1, highWaterMark: READ_CHUNK });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) line++;
  }
  return line;
}
