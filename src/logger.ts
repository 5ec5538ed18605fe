import pino from 'pino';
import { currentRequestId } from './request-context.ts';

/**
 * Structured JSON logs (pino), one line per event on stderr:
 * {"level":"info","time":"...","pid":..,"hostname":"..","requestId":"req_..","message":"...",...fields}.
 * A line logged while serving a request carries that request's id.
 */
export type Logger = Record<'debug' | 'info' | 'warn' | 'error', (message: string, fields?: Record<string, unknown>) => void> & {
  /** A logger whose every line also carries `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
};
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** `destination`: where lines go (tests collect them); default stderr, written synchronously so nothing is lost on exit. */
export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ fd: 2, sync: true })): Logger {
  const root = pino(
    {
      level,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    destination,
  );
  return wrap(root);
}

function wrap(p: pino.Logger): Logger {
  const at = (l: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => (fields ? p[l](fields, message) : p[l](message));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (bindings) => wrap(p.child(bindings)) };
}
