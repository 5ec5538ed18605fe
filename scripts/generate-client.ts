// `npm run client:generate`: writes clients/typescript/schema.ts from the live OpenAPI document
// with openapi-typescript. test/typed-client.test.ts regenerates it the same way and fails when
// the committed file differs (a route changed without regenerating).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { liveOpenApiDocument } from './openapi-document.ts';

export const SCHEMA_FILE = path.join(import.meta.dirname, '..', 'clients', 'typescript', 'schema.ts');
const HEADER = '// Generated from the live OpenAPI document by `npm run client:generate` (openapi-typescript). Do not edit.\n\n';

export async function generateClientSchema(): Promise<string> {
  // defaultNonNullable off: a field with a default is optional in a request body (skip, expiresIn...).
  const ast = await openapiTS((await liveOpenApiDocument()) as unknown as OpenAPI3, { defaultNonNullable: false });
  return HEADER + astToString(ast);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_FILE, await generateClientSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
