import type { Hono } from 'hono';
import { createCellwiseClient } from '../../clients/typescript/index.ts';
import type { AppEnv } from '../http/env.ts';
import type { KeyService } from '../features/keys/keys.service.ts';

/** The MCP SDK, loaded by the first /mcp request: a server that is never asked over MCP does not carry it (about 15 MB). */
let sdk: Promise<[typeof import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), typeof import('./tools.ts')]> | undefined;
const loadSdk = () => (sdk ??= Promise.all([import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), import('./tools.ts')]));

/**
 * `/mcp`: MCP over Streamable HTTP, stateless (a server and transport per request, as the SDK
 * recommends when nothing is kept between calls). The Bearer key is checked here like the API's;
 * each tool call then goes through the app itself (in-process, no socket) with that same key, so
 * scopes, workspaces, validation and error codes are exactly the API's.
 */
export function registerMcpRoute(app: Hono<AppEnv>, { keys, version }: { keys: KeyService; version: string }) {
  app.all('/mcp', async (c) => {
    const header = c.req.header('authorization');
    await keys.authenticate(header); // UNAUTHORIZED in the API's shape when missing or unknown
    const key = /^Bearer\s+(\S+)/i.exec(header!)![1]!;
    const client = createCellwiseClient({ baseUrl: new URL(c.req.url).origin, key, fetch: (input, init) => Promise.resolve(app.fetch(new Request(input, init))) });
    const [{ WebStandardStreamableHTTPServerTransport }, { createMcpServer }] = await loadSdk();
    const server = createMcpServer({ client, localFiles: false, version });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    const res = await transport.handleRequest(c.req.raw);
    // A JSON answer is complete here; a streamed one (progress) closes the server when it ends.
    if (!res.body || res.headers.get('content-type')?.includes('application/json')) await server.close();
    else transport.onclose = () => void server.close();
    return res;
  });
}
