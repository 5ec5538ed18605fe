import { fetcherContract } from './fetcher.contract.ts';
import { createHttpFetcher } from './http-fetcher.ts';

fetcherContract('http', () => createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: 1_000, maxBytes: 1_000_000 }));
