import { ProtocolError } from './errors.js';
import {
  decodeFrameHeader,
  FLAG_ENCRYPTED,
  FRAME_HEADER_LEN,
  MAX_FRAME_PAYLOAD_BYTES,
  writeFrameHeader,
  type FrameHeader,
} from './frame.js';

/*
 * End-to-end encryption of audio frames with a room passphrase, so the relay (and its store) only
 * ever sees ciphertext. WebCrypto only (globalThis.crypto.subtle): the same code runs in Node 20 and
 * in the page.
 *
 *   passphrase, room --PBKDF2-SHA-256 (600k, salt = SHA-256(label | room))--> room secret (HKDF key)
 *   room secret --HKDF(info "key-check")--> HMAC key --HMAC("imv key check")--> keyCheck (public)
 *   room secret --HKDF(salt = e2eSalt, info "stream")--> AES-256-GCM key of one talk stream
 *
 * Nonce uniqueness: every talk-start picks a fresh random 128-bit `e2eSalt`, so each stream has its
 * own AES key; within a stream the 96-bit nonce is (label, stream id, sequence) and sequence grows
 * by one per frame. A (key, nonce) pair therefore never repeats, even when stream ids are reused or
 * two members pick the same stream id. The sealer also refuses to seal a sequence twice.
 * The 16-byte header (with FLAG_ENCRYPTED set) is the associated data: a relay that flips a flag,
 * the stream id, sequence or timestamp makes the frame fail to open.
 */

type CryptoKeyLike = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA-256 with 600,000 iterations. ~100 ms in Node. */
export const E2E_PBKDF2_ITERATIONS = 600_000;
/** Bytes of randomness in a stream's `e2eSalt` (base64url, 22 characters). */
export const E2E_SALT_BYTES = 16;
/** AES-GCM tag appended to every sealed payload. */
export const E2E_TAG_BYTES = 16;
/** The largest Opus packet that still fits in a frame once sealed. */
export const MAX_SEALED_OPUS_BYTES = MAX_FRAME_PAYLOAD_BYTES - E2E_TAG_BYTES;
/** base64url of 16 bytes, no padding: the shape of `e2eSalt` and `keyCheck` on the wire. */
export const E2E_TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;

const LABEL = 'imv-e2e-v1';
const KEY_CHECK_MESSAGE = 'imv key check';
/** First 4 bytes of every nonce: ASCII "imv1", so a future scheme cannot share nonces with this one. */
const NONCE_PREFIX = 0x696d7631;

// Pure, so bundles that import only the constants of @imv/protocol/wire (the audio worklets) drop it.
const utf8 = /* @__PURE__ */ new TextEncoder();

/** The passphrase-derived secret of one room; never leaves the client. */
export interface RoomKey {
  readonly room: string;
  /**
   * Public value that every member with the same passphrase computes identically. Compare it with
   * a talker's `keyCheck` to say "wrong passphrase" before audio flows. Brute-forcing it costs the
   * full PBKDF2 per guess, like brute-forcing the audio itself.
   */
  readonly keyCheck: string;
  /** HKDF key material; non-extractable. */
  readonly secret: CryptoKeyLike;
}

/** The AES-GCM key of one talk stream, from the room key and the stream's `e2eSalt`. */
export interface StreamKey {
  readonly e2eSalt: string;
  readonly aesKey: CryptoKeyLike;
  /** Highest sequence sealed with this key, or -1; guards against nonce reuse. */
  lastSealedSequence: number;
}

/** RFC 4648 §5 base64url without padding (btoa/atob exist in Node 20 and browsers). */
export function bytesToBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Inverse of bytesToBase64Url. */
export function base64UrlToBytes(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function hkdfBits(
  secret: CryptoKeyLike,
  salt: Uint8Array,
  info: string,
  bits: number,
): Promise<ArrayBuffer> {
  return crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt, info: utf8.encode(`${LABEL} ${info}`) },
    secret,
    bits,
  );
}

/** Stretches a room passphrase into the room's key (PBKDF2, then HKDF for every subkey). */
export async function deriveRoomKey(passphrase: string, room: string): Promise<RoomKey> {
  if (passphrase.length === 0) throw new TypeError('passphrase must not be empty');
  // The salt binds the key to the room: the same passphrase in two rooms gives unrelated keys,
  // and one precomputed table cannot serve every imv room.
  const salt = new Uint8Array(
    await crypto.subtle.digest('SHA-256', utf8.encode(`${LABEL} room-salt ${room}`)),
  );
  const password = await crypto.subtle.importKey(
    'raw',
    utf8.encode(passphrase.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const stretched = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: E2E_PBKDF2_ITERATIONS },
    password,
    256,
  );
  const secret = await crypto.subtle.importKey('raw', stretched, 'HKDF', false, ['deriveBits']);
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    await hkdfBits(secret, new Uint8Array(0), 'key-check', 256),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', hmacKey, utf8.encode(`${KEY_CHECK_MESSAGE} ${room}`)),
  );
  return { room, keyCheck: bytesToBase64Url(mac.subarray(0, 16)), secret };
}

/** A fresh random `e2eSalt` for a new talk stream (send it in talk-start). */
export function newStreamSalt(): string {
  return bytesToBase64Url(crypto.getRandomValues(new Uint8Array(E2E_SALT_BYTES)));
}

/** The AES-GCM key of the stream whose talk-start carried `e2eSalt`. */
export async function deriveStreamKey(roomKey: RoomKey, e2eSalt: string): Promise<StreamKey> {
  if (!E2E_TOKEN_PATTERN.test(e2eSalt)) {
    throw ProtocolError.badMessage(
      `e2eSalt must be ${E2E_SALT_BYTES} bytes in base64url (22 characters)`,
    );
  }
  const raw = await hkdfBits(roomKey.secret, base64UrlToBytes(e2eSalt), 'stream', 256);
  const aesKey = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  return { e2eSalt, aesKey, lastSealedSequence: -1 };
}

function nonceFor(header: FrameHeader): Uint8Array {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, NONCE_PREFIX);
  view.setUint32(4, header.streamId >>> 0);
  view.setUint32(8, header.sequence >>> 0);
  return nonce;
}

/** Encrypts one Opus packet into a whole frame (header with FLAG_ENCRYPTED + ciphertext + tag). */
export async function sealFrame(
  key: StreamKey,
  header: FrameHeader,
  opusPacket: Uint8Array,
): Promise<Uint8Array> {
  if (opusPacket.byteLength > MAX_SEALED_OPUS_BYTES) {
    throw ProtocolError.frameTooLarge(FRAME_HEADER_LEN + opusPacket.byteLength + E2E_TAG_BYTES);
  }
  if (header.sequence <= key.lastSealedSequence) {
    throw new RangeError(
      `sealFrame: sequence ${header.sequence} is not above ${key.lastSealedSequence}; reusing it would reuse an AES-GCM nonce`,
    );
  }
  key.lastSealedSequence = header.sequence;
  const headerBytes = new Uint8Array(FRAME_HEADER_LEN);
  writeFrameHeader(headerBytes, { ...header, flags: header.flags | FLAG_ENCRYPTED });
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: 'AES-GCM',
        iv: nonceFor(header),
        additionalData: headerBytes,
        tagLength: E2E_TAG_BYTES * 8,
      },
      key.aesKey,
      opusPacket,
    ),
  );
  const frame = new Uint8Array(FRAME_HEADER_LEN + sealed.byteLength);
  frame.set(headerBytes, 0);
  frame.set(sealed, FRAME_HEADER_LEN);
  return frame;
}

/**
 * Decrypts a sealed frame back to its Opus packet. Throws ProtocolError DECRYPT_FAILED when the key
 * is wrong (wrong passphrase or salt) or any header or payload byte was changed.
 */
export async function openFrame(key: StreamKey, frameBytes: Uint8Array): Promise<Uint8Array> {
  const header = decodeFrameHeader(frameBytes);
  if ((header.flags & FLAG_ENCRYPTED) === 0)
    throw ProtocolError.decryptFailed(header.streamId, 'the frame is not encrypted');
  if (frameBytes.byteLength < FRAME_HEADER_LEN + E2E_TAG_BYTES) {
    throw ProtocolError.decryptFailed(
      header.streamId,
      'the payload is shorter than the AES-GCM tag',
    );
  }
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: nonceFor(header),
        additionalData: frameBytes.subarray(0, FRAME_HEADER_LEN),
        tagLength: E2E_TAG_BYTES * 8,
      },
      key.aesKey,
      frameBytes.subarray(FRAME_HEADER_LEN),
    );
    return new Uint8Array(plain);
  } catch (err) {
    throw ProtocolError.decryptFailed(
      header.streamId,
      'wrong passphrase, or the frame was altered',
      err,
    );
  }
}
