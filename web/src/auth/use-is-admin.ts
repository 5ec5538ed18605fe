import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

/** Whether the signed-in key has the admin scope (GET /me), to show the admin pages. */
export function useIsAdmin(): boolean {
  const q = useQuery({ queryKey: ['me'], queryFn: () => unwrap(api.GET('/api/v2/me', {})), staleTime: Infinity });
  return q.data?.scopes.includes('admin') ?? false;
}
