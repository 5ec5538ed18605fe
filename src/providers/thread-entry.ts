/**
 * The code a worker thread is started with (`new Worker(code, { eval: true })`) to run the module
 * `name` that sits beside `moduleUrl`. Compiled (dist/, .js), it is imported as is. From the
 * TypeScript sources, Node 20 does not apply the parent's module hooks (tsx's --import) inside
 * worker threads, so the thread registers tsx itself first.
 *
 * `preload` (absolute URLs) are imported before tsx is registered: through tsx's loader large
 * JavaScript bundles load many times slower; once in the module cache, the worker's imports reuse them.
 */
export function threadEntry(moduleUrl: string, name: string, preload: string[] = []): string {
  const compiled = moduleUrl.endsWith('.js');
  const entry = JSON.stringify(new URL(`./${name}.${compiled ? 'js' : 'ts'}`, moduleUrl).href);
  const first = `Promise.all(${JSON.stringify(preload)}.map((m) => import(m)))`;
  if (compiled) return `${first}.then(() => import(${entry}))`;
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `${first}.then(() => import(${tsx})).then(({ register }) => { register(); return import(${entry}); })`;
}
