// The `cellwise` entry (bin/cellwise.js and npm start load this file): the verbs are in program.ts.
import { main } from './program.ts';

await main(process.argv.slice(2));
