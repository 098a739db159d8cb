import { describe, expect, it } from 'vitest';
import { pickServerUrl, toHttpBase, toWebSocketUrl } from '../src/client/server-url.js';

describe('server URLs', () => {
  it('maps http(s) to ws(s) on the /ws path, keeping a base path', () => {
    expect(toWebSocketUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws');
    expect(toWebSocketUrl('https://voice.lan:8443/')).toBe('wss://voice.lan:8443/ws');
    expect(toWebSocketUrl('http://host/imv/')).toBe('ws://host/imv/ws');
    expect(toWebSocketUrl('192.168.1.20:8080')).toBe('ws://192.168.1.20:8080/ws');
    expect(toWebSocketUrl('ws://host:1/ws')).toBe('ws://host:1/ws');
  });

  it('maps a ws URL back to its HTTP base for REST', () => {
    expect(toHttpBase('ws://127.0.0.1:8080/ws')).toBe('http://127.0.0.1:8080');
    expect(toHttpBase('https://voice.lan:8443/')).toBe('https://voice.lan:8443');
  });

  it('rejects other schemes with a message naming the URL', () => {
    expect(() => toWebSocketUrl('ftp://host')).toThrow(
      'server URL "ftp://host" must start with http://, https://, ws:// or wss://',
    );
  });

  it('prefers --server, then IMV_SERVER, then the default', () => {
    expect(pickServerUrl('http://a:1', { IMV_SERVER: 'http://b:2' })).toBe('http://a:1');
    expect(pickServerUrl(undefined, { IMV_SERVER: 'http://b:2' })).toBe('http://b:2');
    expect(pickServerUrl(undefined, {})).toBe('http://127.0.0.1:8080');
    expect(pickServerUrl(undefined, { IMV_SERVER: '' })).toBe('http://127.0.0.1:8080');
  });
});
