import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Empty, ErrorState, Loading } from './states';

type Props<T> = {
  query: UseQueryResult<T>;
  /** What is loading, for the spinner's label ("Loading datasets…"). */
  loading?: string;
  /** When the answer has nothing to show: `empty` is shown instead of `children`. */
  isEmpty?: (data: T) => boolean;
  empty?: { title: string; body?: ReactNode };
  children: (data: T) => ReactNode;
};

/**
 * A query's states in one place: loading, an error with its message, code and a retry, empty,
 * then the content. A page whose data is kept while the next page loads (keepPreviousData) keeps
 * showing it.
 */
export function QueryView<T>({ query, loading, isEmpty, empty, children }: Props<T>) {
  if (query.isPending) return <Loading label={loading} />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  if (isEmpty?.(query.data) && empty) return <Empty title={empty.title}>{empty.body}</Empty>;
  return <>{children(query.data)}</>;
}
