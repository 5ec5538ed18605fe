import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import type { KeyService } from './keys.service.ts';

const Scope = z.enum(['read', 'write', 'admin', 'instance']).openapi({ description: 'read < write < admin (one workspace) < instance (also creates workspaces; only an instance key may grant it)' });
export const CreateKeyInput = z.strictObject({ name: z.string().trim().min(1).max(200), scopes: z.array(Scope).min(1).max(3) }).openapi('CreateKeyInput');
export const CreateWorkspaceInput = z.strictObject({ name: z.string().trim().min(1).max(200) }).openapi('CreateWorkspaceInput');
const ApiKey = z.object({ keyId: z.string(), name: z.string(), prefix: z.string(), scopes: z.array(Scope), createdAt: z.string(), lastUsedAt: z.string().nullable() }).openapi('ApiKey');

export const Me = z.object({ keyId: z.string(), workspaceId: z.string(), scopes: z.array(Scope) }).openapi('Me');

export function registerKeyRoutes(app: App, keys: KeyService) {
  app.openapi(
    // Any valid key may ask: the web app checks a key at sign-in and shows admin pages to admin keys.
    createRoute({ operationId: 'getMe', method: 'get', path: '/api/v2/me', tags: ['Keys'], summary: 'The calling key: its id, workspace and scopes', responses: { 200: json(Me, 'The key'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { keyId, workspaceId, scopes } = c.get('auth');
      return c.json({ keyId, workspaceId, scopes }, 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'createWorkspace', method: 'post', path: '/api/v2/workspaces', tags: ['Workspaces'], summary: 'Create a workspace; answers its first admin key, shown once', request: { body: jsonBody(CreateWorkspaceInput) }, responses: { 201: json(z.object({ workspaceId: z.string(), name: z.string(), key: z.string() }), 'The workspace'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await keys.createWorkspace(c.req.valid('json').name), 201),
  );
  app.openapi(
    createRoute({ operationId: 'createKey', method: 'post', path: '/api/v2/keys', tags: ['Keys'], summary: 'Create an API key in the caller\'s workspace; the key is shown once', request: { body: jsonBody(CreateKeyInput) }, responses: { 201: json(z.object({ keyId: z.string(), key: z.string(), name: z.string(), scopes: z.array(Scope), createdAt: z.string() }), 'The key'), ...ERROR_RESPONSES } }),
    async (c) => {
      const input = c.req.valid('json');
      return c.json(await keys.create(c.get('auth'), { name: input.name, scopes: [...new Set(input.scopes)] }), 201);
    },
  );
  app.openapi(
    createRoute({ operationId: 'listKeys', method: 'get', path: '/api/v2/keys', tags: ['Keys'], summary: 'List the workspace\'s keys (never the secrets)', responses: { 200: json(z.object({ keys: z.array(ApiKey) }), 'Keys'), ...ERROR_RESPONSES } }),
    async (c) => c.json({ keys: await keys.list(c.get('auth')) }, 200),
  );
  app.openapi(
    createRoute({ operationId: 'revokeKey', method: 'delete', path: '/api/v2/keys/{keyId}', tags: ['Keys'], summary: 'Revoke a key', request: { params: z.object({ keyId: z.string() }) }, responses: { 200: json(z.object({ keyId: z.string(), deleted: z.literal(true) }), 'Revoked'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await keys.remove(c.get('auth'), c.req.valid('param').keyId), 200),
  );
}
