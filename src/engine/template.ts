/** `{{Column Name}}` or `{{col_id}}` inside a prompt; whitespace inside the braces is ignored. */
const REFERENCE = /\{\{\s*([^{}]+?)\s*\}\}/g;

export function templateReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((m) => m[1]!);
}

/** Replaces each reference using `resolve`; a reference resolve returns undefined for is left as is. */
export function renderTemplate(text: string, resolve: (ref: string) => string | undefined): string {
  return text.replace(REFERENCE, (whole, ref: string) => resolve(ref) ?? whole);
}
