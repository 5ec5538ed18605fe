import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Auth } from '../features/keys/keys.service.ts';

export type AppEnv = { Variables: { auth: Auth } };
export type App = OpenAPIHono<AppEnv>;
