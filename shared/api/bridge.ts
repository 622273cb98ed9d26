/**
 * Builds `window.loopback` from the contract, over any transport: Electron's IPC in the preload,
 * a WebSocket in the web harness. Neither lists the methods again — both call createBridge.
 *
 * The bridge answers with the CallResult envelope rather than throwing, because Electron's
 * contextBridge keeps only the message of a thrown Error; `createClient` turns envelopes back
 * into thrown LoopbackErrors on the renderer's side.
 */
import { deserializeError, type CallResult } from '../errors';
import type { EventName, EventPayload, MethodInput, MethodName, MethodResult } from './contract';
// The names only, not contract.ts's values: those would run zod and every schema in the window
// (the preload, the harness's page, the renderer's client) before its first paint, and none of
// them validates — the services do. names.ts says how the names stay in step with the contract.
import { EVENT_NAMES, METHOD_NAMES } from './names';

const methodNames: readonly MethodName[] = METHOD_NAMES;
const eventNames: readonly EventName[] = EVENT_NAMES;

export interface Transport {
  invoke(name: MethodName, input: unknown): Promise<CallResult<unknown>>;
  /** Returns a function that removes the listener. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

type Namespace<K> = K extends `${infer N}.${string}` ? N : never;
type MemberOf<K, N extends string> = K extends `${N}.${infer M}` ? M : never;
type ListenerName<E extends string> = `on${Capitalize<E>}`;

type Events<Self> = {
  [E in EventName as ListenerName<E>]: (listener: (payload: EventPayload<E>) => void) => () => void;
} & Self;

/** What window.loopback is: `loopback.host.tools({})` → Promise<CallResult<HostToolsReport>>. */
export type LoopbackBridge = Events<{
  [N in Namespace<MethodName>]: {
    [K in MethodName as MemberOf<K, N>]: (input: MethodInput<K>) => Promise<CallResult<MethodResult<K>>>;
  };
}>;

/** The same shape, throwing LoopbackError instead of answering with an envelope. */
export type LoopbackClient = Events<{
  [N in Namespace<MethodName>]: {
    [K in MethodName as MemberOf<K, N>]: (input: MethodInput<K>) => Promise<MethodResult<K>>;
  };
}>;

export function listenerName(event: EventName): string {
  return `on${event.charAt(0).toUpperCase()}${event.slice(1)}`;
}

function splitName(name: MethodName): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

function build<T>(callFor: (name: MethodName) => (input: unknown) => Promise<unknown>, subscribe: Transport['subscribe']): T {
  const api: Record<string, unknown> = {};
  for (const name of methodNames) {
    const [ns, member] = splitName(name);
    const group = (api[ns] ??= {}) as Record<string, unknown>;
    group[member] = callFor(name);
  }
  for (const event of eventNames) {
    api[listenerName(event)] = (listener: (payload: unknown) => void) => subscribe(event, listener);
  }
  return api as T;
}

export function createBridge(transport: Transport): LoopbackBridge {
  return build<LoopbackBridge>(
    (name) => (input) => transport.invoke(name, input ?? {}),
    (event, listener) => transport.subscribe(event, listener),
  );
}

export function createClient(bridge: LoopbackBridge): LoopbackClient {
  const raw = bridge as unknown as Record<string, Record<string, (input: unknown) => Promise<CallResult<unknown>>>>;
  return build<LoopbackClient>(
    (name) => {
      const [ns, member] = splitName(name);
      return async (input) => {
        const fn = raw[ns]?.[member];
        if (!fn) throw new Error(`window.loopback has no ${name}: the preload and the contract disagree`);
        const result = await fn(input ?? {});
        if (!result.ok) throw deserializeError(result.error);
        return result.value;
      };
    },
    (event, listener) => (bridge as unknown as Record<string, (l: (p: unknown) => void) => () => void>)[listenerName(event)]!(listener),
  );
}
