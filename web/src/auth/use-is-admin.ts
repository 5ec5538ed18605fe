import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';

/** Admin keys may list keys; the answer to GET /keys tells whether this key is one (no extra route). */
export function useIsAdmin(): boolean {
  const q = useQuery({
    queryKey: ['is-admin'],
    queryFn: async () => (await api.GET('/api/v2/keys', {})).response.ok,
    staleTime: Infinity,
    retry: false,
  });
  return q.data === true;
}
