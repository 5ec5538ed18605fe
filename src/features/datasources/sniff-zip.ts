import type { FileHandle } from 'node:fs/promises';

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** A central directory past this size is not an office document worth opening. */
const MAX_CENTRAL_DIRECTORY = 4 * 1024 * 1024;

export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * Entry names of a zip archive, from its central directory (found through the end record in the
 * file's tail), so that an OOXML part stored anywhere in the archive is seen without inflating
 * anything. A truncated or ZIP64 archive falls back to the local headers within `head`.
 */
export async function zipEntryNames(handle: FileHandle, size: number, head: Buffer): Promise<string[]> {
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = tailStart === 0 && head.length === size ? head : await readAt(handle, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) return localNames(head);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || cdSize > MAX_CENTRAL_DIRECTORY || cdOffset + cdSize > size) return localNames(head);
  const directory = cdOffset >= tailStart ? tail.subarray(cdOffset - tailStart, cdOffset - tailStart + cdSize) : await readAt(handle, cdOffset, cdSize);
  const names: string[] = [];
  for (let at = 0; at + 46 <= directory.length && directory.readUInt32LE(at) === CENTRAL_HEADER; ) {
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    names.push(directory.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names.length ? names : localNames(head);
}

/** Names of the entries whose local headers lie wholly within `bytes`. */
function localNames(bytes: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 30 <= bytes.length && bytes.readUInt32LE(at) === LOCAL_HEADER; ) {
    const flags = bytes.readUInt16LE(at + 6);
    const compressedSize = bytes.readUInt32LE(at + 18);
    const nameLength = bytes.readUInt16LE(at + 26);
    const extraLength = bytes.readUInt16LE(at + 28);
    if (at + 30 + nameLength > bytes.length) break;
    names.push(bytes.toString('utf8', at + 30, at + 30 + nameLength));
    // With a data descriptor (flag bit 3) the size is only known after the data: stop here.
    if (flags & 0x08) break;
    at += 30 + nameLength + extraLength + compressedSize;
  }
  return names;
}
