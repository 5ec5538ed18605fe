import { CellError, type Executor } from '../executor.ts';
import { aiEnrich } from './ai-enrich.ts';
import { classification } from './classification.ts';

const notImplemented = (taskType: string): Executor => ({
  execute: () => Promise.reject(new CellError('NOT_IMPLEMENTED', `Task type ${taskType} is not implemented yet`)),
});

/** The executor of each computed task type. */
export const EXECUTORS: Record<string, Executor> = {
  ai_enrich: aiEnrich,
  classification,
  doc_extraction: notImplemented('doc_extraction'),
  web_enrich: notImplemented('web_enrich'),
  places_count: notImplemented('places_count'),
};
