import { describe, expect, it } from 'vitest';
import { failoverOrigins } from '../src/failover.js';

const nodeB = {
  urls: [
    'http://127.0.0.1:8081',
    'http://192.168.1.21:8081',
    'https://127.0.0.1:8444',
    'https://192.168.1.21:8444',
  ],
};

describe('failoverOrigins', () => {
  it('picks the URL with the same scheme and host as the current node', () => {
    expect(failoverOrigins('http://127.0.0.1:8080', [nodeB])).toEqual(['http://127.0.0.1:8081']);
    expect(failoverOrigins('https://192.168.1.21:8443/', [nodeB])).toEqual([
      'https://192.168.1.21:8444',
    ]);
  });

  it('skips loopback URLs for a client that is not on loopback', () => {
    expect(failoverOrigins('http://192.168.1.20:8080', [nodeB])).toEqual([
      'http://192.168.1.21:8081',
    ]);
    expect(failoverOrigins('https://voice.lan', [nodeB])).toEqual(['https://192.168.1.21:8444']);
  });

  it('falls back to the first URL of another scheme, one origin per node, skipping bad URLs', () => {
    expect(
      failoverOrigins('http://10.0.0.1:8080', [
        { urls: ['not a url', 'https://10.0.0.2:8443/x'] },
        { urls: [] },
        { urls: ['http://10.0.0.3:8080'] },
      ]),
    ).toEqual(['https://10.0.0.2:8443', 'http://10.0.0.3:8080']);
    expect(failoverOrigins('not a url', [nodeB])).toEqual([]);
  });
});
