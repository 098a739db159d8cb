/*
 * The contract between the page's audio/network engine (src/engine) and its UI (src/ui,
 * src/messages, index.html, duo.html).
 * The engine implements VoiceClient; the UI only talks to it through this interface.
 * Change it only by agreement: both sides build on it.
 */
import type {
  ErrorCode,
  LiveStream,
  Member,
  MessageStored,
  TalkStarted,
  TalkStopped,
  VoiceMessage,
} from '@imv/protocol';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the microphone could not be opened, for a message that says how to fix it. */
export type MicProblem =
  | 'insecure-context' // page is not HTTPS or localhost: no getUserMedia at all
  | 'denied' // NotAllowedError: the user or a policy said no
  | 'not-found' // NotFoundError: no input device
  | 'busy' // NotReadableError: another app holds the device
  | 'unsupported'; // no AudioWorklet / no Opus encoder (neither WebCodecs nor the WASM fallback)

export interface VoiceClientOptions {
  /** Base URL of the server, e.g. location.origin. The socket goes to `${serverUrl}/ws` (http->ws). */
  serverUrl: string;
  name: string;
  room: string;
  /** Stable id kept in localStorage by the UI, sent in hello. */
  clientId: string;
  /** Highest message id this client has already seen in the room; the join replays what came after. */
  lastSeenMessageId?: number;
  /**
   * Room key (access control, docs/protocol.md "Room keys"), sent in every join and re-join. A join
   * with a key into a new room locks the room with it. The UI also sends it as X-Imv-Room-Key on REST.
   */
  roomKey?: string;
  /**
   * End-to-end passphrase of the room. Never sent anywhere: the engine derives the room key from it
   * once, seals every frame it talks and opens the frames of encrypted streams it hears.
   */
  passphrase?: string;
  /**
   * Talk in 10 ms frames instead of 20 when the server takes them (welcome.frameMs): less delay from
   * mouth to ear, for twice the packets (still under 32 kbit/s). Default false (see settings.ts,
   * PhonePrefs.lowLatency). Listening plays both either way.
   */
  lowLatency?: boolean;
}

/** Why a live encrypted stream plays nothing on this page. */
export type UndecryptableReason = 'no-passphrase' | 'wrong-passphrase';

export interface VoiceClientEvents {
  state: (state: ConnectionState) => void;
  /** After every (re)join: who is here, and the live streams right now. */
  joined: (info: { you: Member; members: Member[]; live: LiveStream[] }) => void;
  presence: (members: Member[]) => void;
  'talk-started': (msg: TalkStarted) => void;
  'talk-stopped': (msg: TalkStopped) => void;
  /** A finished message (also the talker's own ack). `heardLive` is true when this page played it live. */
  'message-stored': (msg: MessageStored & { heardLive: boolean }) => void;
  /** Missed messages replayed on join (oldest first) and answers to loadHistory. */
  history: (messages: VoiceMessage[], more: boolean) => void;
  error: (error: { code: ErrorCode | 'CONNECTION'; message: string }) => void;
  /** Own microphone level while talking, 0..1, about 20 times a second. */
  'mic-level': (level: number) => void;
  /** Level of each live stream being played, 0..1, about 20 times a second. */
  'live-level': (streamId: number, level: number) => void;
  /**
   * This page played the first (`playing` true) or the last (false) sample of a live stream. The
   * last comes after talk-stopped, once the jitter buffer's tail has played.
   */
  'live-playout': (streamId: number, playing: boolean) => void;
  /** Talking ended without the user asking (connection lost, server limit). */
  'talk-ended': (reason: string) => void;
  /** An admin deleted a stored message: drop it from lists and queues. */
  'message-deleted': (msg: { room: string; id: number }) => void;
  /**
   * A live end-to-end encrypted stream this page cannot open (no passphrase, or another passphrase
   * than the talker's, or frames that fail to open). It plays silence, never noise.
   */
  undecryptable: (info: { streamId: number; reason: UndecryptableReason }) => void;
  /**
   * The room's key was set while we are inside (by a member, `setBy`, or the admin) or removed by
   * the admin. The engine already uses the new key for its re-joins.
   */
  'room-key': (info: { room: string; keyed: boolean; key?: string; setBy?: Member }) => void;
  /**
   * The client's node of a cluster went away and it joined another one (docs/cluster.md "Client
   * failover"): REST calls (history downloads) now go to `serverUrl`. Emitted before the state
   * turns 'open' again.
   */
  moved: (info: { serverUrl: string; from: string }) => void;
}

export interface VoiceClient {
  readonly state: ConnectionState;
  /**
   * Origin of the server the client uses now: options.serverUrl until a failover moved it to
   * another node of the cluster (event 'moved'). REST URLs are built on it.
   */
  readonly serverUrl: string;
  readonly audio: {
    /** The one AudioContext (48 kHz). Everything the user hears ends at `output`, then destination. */
    readonly context: AudioContext;
    /** Node every sound passes through before destination: tests tap it, the UI connects message playback to it. */
    readonly output: AudioNode;
    /** False until a user gesture resumed the context (browser autoplay rules). */
    readonly unlocked: boolean;
    /** Call from a user gesture (tap/click/key). Resolves true when sound can play. */
    unlock(): Promise<boolean>;
  };
  connect(): Promise<void>;
  close(): void;
  /** Change room (and replay what was missed there). */
  join(room: string, lastSeenMessageId?: number): void;
  /** Replaces the room key for the next joins (e.g. typed after ROOM_KEY_REQUIRED); call join() to retry. */
  setRoomKey(key: string | undefined): void;
  /** True when the client has an end-to-end passphrase for its room. */
  readonly endToEnd: boolean;
  /**
   * Opens an end-to-end encrypted stored message: `frames` is its `.frames` download (repeated
   * [u16 BE length][frame]); resolves with an Ogg Opus file of the decrypted audio. Rejects with a
   * ProtocolError DECRYPT_FAILED when the client has no passphrase, another passphrase than the
   * talker's, or a frame fails to open (never returns noise).
   */
  decryptMessage(message: VoiceMessage, frames: Uint8Array): Promise<Uint8Array>;
  loadHistory(options: { before?: number; after?: number; limit?: number }): void;
  /** Opens the microphone if needed and starts streaming. Rejects with a MicError. */
  startTalking(): Promise<void>;
  /** Stops streaming; resolves with the stored message once the server acknowledged it. */
  stopTalking(): Promise<VoiceMessage | undefined>;
  readonly talking: boolean;
  /** Whether the next talk uses 10 ms frames (when the server takes them). */
  readonly lowLatency: boolean;
  /** Changes lowLatency from the next talk on. */
  setLowLatency(on: boolean): void;
  /** Mute live playback from others (e.g. while the UI plays back a message) without dropping it. */
  setLiveMuted(muted: boolean): void;
  on<E extends keyof VoiceClientEvents>(event: E, listener: VoiceClientEvents[E]): () => void;
}

export class MicError extends Error {
  override readonly name = 'MicError';
  constructor(
    readonly problem: MicProblem,
    message: string,
  ) {
    super(message);
  }
}
