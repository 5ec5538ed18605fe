import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives memory back after a large one-off operation (an import, an export). Such an operation
 * allocates hundreds of megabytes that die at once, and V8 keeps the heap it grew for them long
 * after: the server's resident memory after a 100,000-row upload and five exports measured
 * 300-325 MB, against 218-220 MB with one full collection at the end of each export (same run,
 * alternated). A full collection of that heap takes tens of milliseconds, next to an operation of
 * seconds. Ordinary requests never call this.
 *
 * `gc` is exposed at run time (V8's --expose-gc through v8.setFlagsFromString, read from a new
 * context), so `npm start`, the `cellwise` binary and the tests need no flag. Where that fails,
 * this does nothing.
 */
let collect: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** A full garbage collection, returning the freed heap to the system; false when it is not available. */
export function releaseMemory(): boolean {
  const gc = collector();
  if (!gc) return false;
  gc();
  return true;
}
