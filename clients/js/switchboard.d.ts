// Types of switchboard.js (PROTOCOL.md v2, switchboard.json).

export type State = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface SwitchboardOptions {
  /** WebSocket URL; default ws(s)://<this page's host>/ws. */
  url?: string;
  /** User id for servers run with --auth none (sent as ?user=). */
  user?: string;
  /** A token, or a function returning one (or a promise of one), called before every connection and before exp to refresh. Sent as the `auth` first message. */
  token?: string | (() => string | Promise<string>);
  /** Reconnect after a lost connection (never after a refusal). Default true. */
  reconnect?: boolean;
  /** Backoff cap of the first retry, ms (default 500); doubles per attempt up to maxDelay (default 10000). */
  minDelay?: number;
  maxDelay?: number;
  /** ms before an unanswered request fails with "timeout" (default 10000). */
  requestTimeout?: number;
  /** ms between app-level pings while open; 0: off (default 20000). */
  heartbeat?: number;
  /** Chats waiting for their ack, offline or in flight, at most (default 100). */
  maxQueue?: number;
  /** A WebSocket constructor: the global one by default; `ws` on Node < 22. */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket;
  /** "auto" (default): WebSocket, falling back to Server-Sent Events (PROTOCOL.md §12) when it cannot connect; "sse": the event stream at once; "websocket": never the fallback. */
  transport?: "auto" | "websocket" | "sse";
  /** The fetch the SSE fallback uses: the global one by default. */
  fetch?: typeof fetch;
}

export interface Status {
  state: State;
  /** With state "open": the transport in use. */
  transport?: "websocket" | "sse";
  code?: number;
  reason?: string;
  /** HTTP status of a refused handshake (seen on Node only). */
  status?: number;
  attempt?: number;
  /** ms until the next attempt (state "reconnecting"). */
  retryIn?: number;
  /** true when the server refused the client (4000, 4001, 4009, HTTP 400/401/403/404): it will not retry. */
  refused?: boolean;
  /** In words, why the connection ended. */
  why?: string;
}

export interface Position { epoch: string; offset: number }
export interface Joined { type: "joined"; room: string; epoch?: string; offset?: number; recovered: boolean }
export interface Rejoined { room: string; recovered?: boolean; epoch?: string; offset?: number; error?: SwitchboardError }
export interface Ack { type: "ack"; id: string; offset?: number }

export interface Connected { type: "connected"; user_id: string; conn_id: string; rooms: string[]; timestamp: string }
export interface Chat { type: "chat"; room: string; sender: string; content: string; offset: number; timestamp: string }
export interface Private { type: "private"; sender: string; to: string; content: string; timestamp: string }
export interface Broadcast { type: "broadcast"; sender: string; content: string; timestamp: string }
export interface System { type: "system"; content: string; room?: string; timestamp: string }
export interface UserJoined { type: "user_joined"; room: string; user_id: string; members: string[]; timestamp: string }
export interface UserLeft { type: "user_left"; room: string; user_id: string; timestamp: string }
export interface Left { type: "left"; room: string; reason: string }
export interface Ephemeral { type: "event"; room: string; sender: string; event: string; content: string; timestamp: string }
export interface ErrorFrame { type: "error"; code: string; message?: string; id?: string; room?: string }
export interface Members { type: "members"; room: string; members: string[] }
export interface Online { type: "online"; users: string[]; total: number }

export interface EventMap {
  connected: Connected;
  joined: Joined;
  chat: Chat;
  private: Private;
  broadcast: Broadcast;
  system: System;
  user_joined: UserJoined;
  user_left: UserLeft;
  left: Left;
  event: Ephemeral;
  error: ErrorFrame;
  gap: ErrorFrame;
  rejoined: Rejoined;
  refresh_failed: { error: Error };
  status: Status;
  close: { code: number; reason: string; wasClean: boolean };
  message: { type: string; [field: string]: unknown };
}

export class SwitchboardError extends Error {
  /** The protocol's error code ("forbidden", "not_member" …) or the client's ("timeout", "disconnected", "closed", "queue_full", "not_connected"). */
  code: string;
  id?: string;
  room?: string;
  constructor(code: string, message?: string, extra?: object);
}

export class Switchboard extends EventTarget {
  constructor(opts?: SwitchboardOptions);
  readonly opts: Required<SwitchboardOptions>;
  state: State;
  userId: string;
  connId: string;
  existingRooms: string[];
  lastClose: { code: number; reason: string } | null;
  /** The transport in use, or the next attempt's ("auto" moves to "sse" after a WebSocket that could not connect). */
  transport: "websocket" | "sse";
  /** Chats waiting for their ack. */
  readonly queued: number;

  on<K extends keyof EventMap>(type: K, fn: (detail: EventMap[K]) => void): () => void;
  on(type: string, fn: (detail: any) => void): () => void;
  connect(): this;
  close(code?: number, reason?: string): void;
  position(room: string): Position | undefined;

  join(room: string, from?: { since?: number; epoch?: string }): Promise<Joined | { queued: true }>;
  leave(room: string): Promise<Ack | { queued: true }>;
  chat(room: string, content: string, opts?: { timeout?: number }): Promise<Ack>;
  sendPrivate(to: string, content: string): Promise<Ack>;
  broadcast(content: string): Promise<Ack>;
  event(room: string, event: string, content?: string): Promise<Ack>;
  rpc(method: string, data?: unknown): Promise<unknown>;
  members(room: string): Promise<string[]>;
  online(): Promise<{ users: string[]; total: number }>;
  ping(): Promise<{ type: "pong" }>;
  request(msg: { type: string; [field: string]: unknown }, expect?: string | null): Promise<any>;
}

export const CLOSE_CODES: Readonly<Record<number, string>>;

/** The SSE stream URL of a WebSocket URL: ws(s)://host/ws[/user] → http(s)://host/sse[/user]. */
export function sseURL(wsURL: string): string;

/** PROTOCOL.md §12 behind the part of the WebSocket interface the client uses. */
export class EventStreamSocket {
  constructor(url: string, opts?: { token?: string; fetch?: typeof fetch });
  readonly url: string;
  /** HTTP status of a refused stream, else 0. */
  status: number;
  /** The stream's session, from its connected event. */
  session: string;
  onopen: ((e: object) => void) | null;
  onmessage: ((e: { data: string }) => void) | null;
  onerror: ((e: { message: string }) => void) | null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export const REFUSED_CODES: readonly number[];
export function describeClose(code: number, reason?: string): string;
export function backoff(attempt: number, minDelay: number, maxDelay: number, random?: () => number): number;
export function tokenExpiry(token: string): number;
