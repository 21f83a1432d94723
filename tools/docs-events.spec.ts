import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { EVENT_NAMES } from '@unstuck/contracts';
import { ASYNCAPI_PATH, renderAsyncApi } from './docs-events';

describe('docs/asyncapi.yaml', () => {
  it('is up to date with libs/contracts (run `npm run docs:events` when this fails)', () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(renderAsyncApi());
  });

  it('documents a channel with a JSON Schema payload for every event', () => {
    const doc = parse(renderAsyncApi());
    for (const name of EVENT_NAMES) {
      const channel = Object.values(doc.channels).find((c: any) => c.address.startsWith(`unstuck.${name}.v`));
      expect(channel).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toHaveLength(EVENT_NAMES.length);
  });
});
