import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createCellwiseClient } from '../../clients/typescript/index.ts';
import { createMcpServer } from './tools.ts';

/**
 * `cellwise mcp`: MCP over stdio for a local client (Claude Desktop, Cursor ...), talking HTTP to
 * a running cellwise. stdout belongs to the protocol: nothing else may print there.
 */
export async function runStdioMcp({ url, key, version }: { url: string; key: string; version: string }): Promise<void> {
  const server = createMcpServer({ client: createCellwiseClient({ baseUrl: url, key }), localFiles: true, version });
  await server.connect(new StdioServerTransport());
  await new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
}
