import { readFileSync } from 'node:fs';

/** The package's version (`cellwise --version`, the MCP server's version). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
