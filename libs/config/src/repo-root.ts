import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout's root (where nx.json is), found upward from `from`: the same from sources and from dist/. */
export function repoRoot(from = __dirname): string {
  return existsSync(join(from, 'nx.json')) || dirname(from) === from ? from : repoRoot(dirname(from));
}
