import { endpointLabel, RequestBudget } from './rpc-endpoint';
import { readWsMessage } from '../chain-follower';

describe('RequestBudget', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  /** Asks for `n` requests at once; `done()` tells how many were let through so far. */
  function ask(budget: RequestBudget, n: number): { done: () => number } {
    let done = 0;
    for (let i = 0; i < n; i++) void budget.take().then(() => (done += 1));
    return { done: () => done };
  }

  it('lets half a second of requests through at once, then exactly the rate', async () => {
    const asked = ask(new RequestBudget(20), 100);
    await jest.advanceTimersByTimeAsync(0);
    expect(asked.done()).toBe(10);
    await jest.advanceTimersByTimeAsync(1000);
    expect(asked.done()).toBe(30);
    await jest.advanceTimersByTimeAsync(2000);
    expect(asked.done()).toBe(70);
  });

  it('holds every request after a 429 for the time asked, then refills from empty', async () => {
    const budget = new RequestBudget(10);
    budget.hold(2000);
    const asked = ask(budget, 5);
    await jest.advanceTimersByTimeAsync(1900);
    expect(asked.done()).toBe(0);
    await jest.advanceTimersByTimeAsync(300);
    expect(asked.done()).toBe(2);
  });

  it('has no limit at 0', async () => {
    const asked = ask(new RequestBudget(0), 1000);
    await jest.advanceTimersByTimeAsync(0);
    expect(asked.done()).toBe(1000);
  });
});

describe('endpointLabel', () => {
  it('keeps host and path, never credentials or query (API keys)', () => {
    expect(endpointLabel('https://user:secret@rpc.example.com/cosmos?apikey=abc')).toBe('rpc.example.com/cosmos');
    expect(endpointLabel('http://127.0.0.1:26657')).toBe('127.0.0.1:26657');
    expect(endpointLabel('not a url')).toBe('invalid-url');
  });
});

/** Messages exactly as CometBFT's websocket writes them (rpc/core/events.go). */
describe('readWsMessage', () => {
  it('tells the subscription confirmed from an event, and reads the header height', () => {
    expect(readWsMessage('{"jsonrpc":"2.0","id":1,"result":{}}')).toEqual({ kind: 'subscribed' });
    const header = { jsonrpc: '2.0', id: 1, result: { query: "tm.event='NewBlockHeader'", data: { type: 'tendermint/event/NewBlockHeader', value: { header: { height: '1234' } } } } };
    expect(readWsMessage(JSON.stringify(header))).toEqual({ kind: 'event', height: 1234 });
  });

  it('recognises a refused and a cancelled subscription (0.34 and 0.38 spellings)', () => {
    expect(readWsMessage('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error","data":"max_subscriptions_per_client 5 reached"}}')).toMatchObject({
      kind: 'refused',
      reason: 'max_subscriptions',
    });
    for (const spelled of ['canceled', 'cancelled']) {
      expect(
        readWsMessage(`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Server error","data":"subscription was ${spelled} (reason: slow client)"}}`),
      ).toMatchObject({ kind: 'refused', reason: 'cancelled' });
    }
    expect(readWsMessage('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error","data":"failed to parse query"}}')).toMatchObject({ kind: 'refused', reason: 'other' });
    expect(readWsMessage('not json')).toEqual({ kind: 'other' });
  });
});
