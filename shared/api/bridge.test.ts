import { describe, expect, it, vi } from 'vitest';
import { LoopbackError, serializeError, type CallResult } from '../errors';
import { createBridge, createClient, listenerName } from './bridge';
import { eventNames, events, methodNames, methods, type EventName, type MethodName } from './contract';
import { EVENT_NAMES, METHOD_NAMES } from './names';

function fakeTransport(answer: (name: MethodName, input: unknown) => CallResult<unknown>) {
  const listeners = new Map<EventName, (payload: unknown) => void>();
  return {
    invoke: vi.fn(async (name: MethodName, input: unknown) => answer(name, input)),
    subscribe: vi.fn((event: EventName, listener: (payload: unknown) => void) => {
      listeners.set(event, listener);
      return () => listeners.delete(event);
    }),
    fire: (event: EventName, payload: unknown) => listeners.get(event)?.(payload),
  };
}

describe('the bridge is built from the contract', () => {
  it('is built from names.ts, which lists each method and event of the contract once', () => {
    // The compiler checks that the keys agree; this checks there are no repeats.
    expect([...METHOD_NAMES].sort()).toEqual(Object.keys(methods).sort());
    expect([...EVENT_NAMES].sort()).toEqual(Object.keys(events).sort());
  });

  it('exposes one function per method, grouped by namespace, and on<Event> per event', () => {
    const bridge = createBridge(fakeTransport(() => ({ ok: true, value: null }))) as unknown as Record<string, Record<string, unknown>>;
    for (const name of methodNames) {
      const [ns, member] = name.split('.') as [string, string];
      expect(typeof bridge[ns]?.[member], name).toBe('function');
    }
    for (const event of eventNames) expect(typeof bridge[listenerName(event)]).toBe('function');
    expect(listenerName('jobProgress')).toBe('onJobProgress');
  });

  it('sends the method name and input over the transport', async () => {
    const transport = fakeTransport(() => ({ ok: true, value: { cancelled: true } }));
    const bridge = createBridge(transport);
    expect(await bridge.jobs.cancel({ jobId: 'j1' })).toEqual({ ok: true, value: { cancelled: true } });
    expect(transport.invoke).toHaveBeenCalledWith('jobs.cancel', { jobId: 'j1' });
  });

  it('the client throws LoopbackError with the code and details from the other side', async () => {
    const error = serializeError(new LoopbackError('NOT_FOUND', 'c.img: no such file', { path: 'c.img' }));
    const client = createClient(createBridge(fakeTransport(() => ({ ok: false, error }))));
    const thrown = await client.host.tools({}).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(LoopbackError);
    expect(thrown).toMatchObject({ code: 'NOT_FOUND', message: 'c.img: no such file', details: { path: 'c.img' } });
  });

  it('delivers events and lets listeners unsubscribe', () => {
    const transport = fakeTransport(() => ({ ok: true, value: null }));
    const client = createClient(createBridge(transport));
    const seen: unknown[] = [];
    const off = client.onJobProgress((p) => seen.push(p));
    transport.fire('jobProgress', { jobId: 'a' });
    off();
    transport.fire('jobProgress', { jobId: 'b' });
    expect(seen).toEqual([{ jobId: 'a' }]);
  });
});
