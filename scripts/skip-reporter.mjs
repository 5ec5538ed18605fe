// A node:test reporter that writes one JSON line per skipped test or suite (name, file, reason,
// whether it is a suite): scripts/test.mjs reads them to say what was skipped and why. The spec
// reporter's "skipped" count leaves out a skipped suite (describe with `skip`), whose tests never run.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' || event.data.skip === undefined) continue;
    const { name, file, skip, details } = event.data;
    yield `${JSON.stringify({ name, file, reason: typeof skip === 'string' ? skip : 'no reason given', suite: details?.type === 'suite' })}\n`;
  }
}
