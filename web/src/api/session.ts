/**
 * The signed-in state: the API key lives in sessionStorage only (never in a URL, a log or
 * localStorage), plus why the user was last signed out and whether the server is reachable.
 */
const KEY = 'cellwise.apiKey';

type State = { key: string | null; reason: string | null; unreachable: boolean };
let state: State = { key: readKey(), reason: null, unreachable: false };
const listeners = new Set<() => void>();

function readKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function set(next: Partial<State>) {
  state = { ...state, ...next };
  listeners.forEach((l) => l());
}

export const session = {
  get: () => state,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  },
  signIn(key: string) {
    sessionStorage.setItem(KEY, key);
    set({ key, reason: null });
  },
  /** Back to the sign-in page; `reason` is shown there (a 401's message, or nothing after a sign-out). */
  signOut(reason: string | null = null) {
    sessionStorage.removeItem(KEY);
    set({ key: null, reason });
  },
  setUnreachable(unreachable: boolean) {
    if (state.unreachable !== unreachable) set({ unreachable });
  },
};
