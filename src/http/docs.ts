import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Hono } from 'hono';

const require = createRequire(import.meta.url);
const ASSETS: Record<string, string> = { 'swagger-ui.css': 'text/css', 'swagger-ui-bundle.js': 'text/javascript', 'swagger-ui-standalone-preset.js': 'text/javascript' };

/** /docs: Swagger UI served from the installed package, so the docs work offline. */
export function registerDocs(app: Hono<never>) {
  const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  app.get('/docs', (c) =>
    c.html(`<!doctype html><html><head><meta charset="utf-8"><title>cellwise API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script><script>
window.ui = SwaggerUIBundle({ url: '/api/v2/openapi.json', dom_id: '#ui', persistAuthorization: true });
</script></body></html>`),
  );
  // The trailing-slash form people type (and some proxies add) reaches the same page.
  app.get('/docs/', (c) => c.redirect('/docs', 301));
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) return c.notFound();
    return c.body(await readFile(path.join(dir, file)), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}
