/**
 * A small JSON-RPC 2.0 client over one WebSocket: numbered requests, a timeout per call, and
 * errors that say what went wrong (node unreachable, index not enabled, the node's own error).
 * The explorer's pages read the hub index (`hubindex_*`) and the `modelhub_*` methods through
 * it; only the try-it form loads `@polkadot/api`.
 */

/** An error answered by the node (`code`, `message`, `data` as in JSON-RPC), or raised locally. */
export class RpcError extends Error {
  /**
   * @param {string} message what went wrong, for people
   * @param {{ code?: number, data?: unknown, method?: string, kind?: string }} [details]
   *   `kind` is `unreachable`, `timeout`, `indexDisabled` or `node`
   */
  constructor(message, { code, data, method, kind = 'node' } = {}) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
    this.method = method;
    this.kind = kind;
  }
}

/** JSON-RPC's "method not found": the node was started without the method's module. */
const METHOD_NOT_FOUND = -32601;

/**
 * A client for the node at `url` (`ws://` or `wss://`). It connects on the first call and again
 * after the socket closes; calls made while connecting wait for the connection.
 *
 * @param {string} url
 * @param {{ timeoutMs?: number }} [options] the default time a call may take (15 s)
 */
export function createClient(url, { timeoutMs = 15_000 } = {}) {
  let socket = null;
  let opened = null;
  let nextId = 1;
  const pending = new Map();

  function failAll(error) {
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    pending.clear();
  }

  function open() {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (error) {
        opened = null;
        reject(new RpcError(`cannot connect to ${url}: ${error.message}`, { kind: 'unreachable' }));
        return;
      }
      socket = ws;
      ws.onopen = () => resolve(ws);
      ws.onmessage = (event) => receive(event.data);
      ws.onclose = () => {
        const error = new RpcError(`cannot reach the node at ${url}`, { kind: 'unreachable' });
        socket = null;
        opened = null;
        reject(error);
        failAll(error);
      };
      ws.onerror = () => {};
    });
    return opened;
  }

  function receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.error) {
      const { code, message: text2, data } = message.error;
      if (code === METHOD_NOT_FOUND && call.method.startsWith('hubindex_')) {
        call.reject(new RpcError(
          `the node at ${url} does not serve the hub index (${call.method}): start it with --hub-index`,
          { code, data, method: call.method, kind: 'indexDisabled' },
        ));
      } else {
        call.reject(new RpcError(`${call.method}: ${text2}`, { code, data, method: call.method }));
      }
    } else {
      call.resolve(message.result);
    }
  }

  /**
   * Calls `method` with positional `params`; resolves with the result, rejects with an
   * `RpcError`.
   *
   * @param {string} method
   * @param {unknown[]} [params]
   * @param {{ timeoutMs?: number }} [options]
   */
  async function call(method, params = [], options = {}) {
    const ws = await open();
    const id = nextId++;
    const limit = options.timeoutMs ?? timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new RpcError(`${method}: no answer from ${url} within ${limit / 1000} s`, { method, kind: 'timeout' }));
      }, limit);
      pending.set(id, { resolve, reject, timer, method });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Closes the socket; pending calls fail. */
  function close() {
    if (socket) socket.close();
  }

  return { url, call, close };
}

/**
 * The node URL the page was opened for: `?rpc=ws://…` in the page's query string, else the
 * local dev node.
 */
export function nodeUrl() {
  const fromQuery = new URLSearchParams(window.location.search).get('rpc');
  return fromQuery || 'ws://127.0.0.1:9944';
}
