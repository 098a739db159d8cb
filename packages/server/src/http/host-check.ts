import type { FastifyInstance } from 'fastify';
import type { AllowedHosts } from './allowed-hosts.js';

/** The refusal's text, shared by REST and the WebSocket upgrade. */
export function hostNotAllowedMessage(host: string | undefined): string {
  return (
    `this server does not answer to host ${host === undefined ? '(none)' : JSON.stringify(host)}: ` +
    'open it by its address or one of its names, or start it with --public-host <name>'
  );
}

/**
 * Registered first, so every route (pages, REST, downloads, onboarding) of both listeners refuses a
 * request for a host name the server does not know with 421 HOST_NOT_ALLOWED (see allowed-hosts.ts).
 */
export function registerHostCheck(app: FastifyInstance, allowed: AllowedHosts): void {
  app.addHook('onRequest', (request, reply, done) => {
    const host = request.headers.host;
    if (allowed.allows(host)) {
      done();
      return;
    }
    request.log.warn(
      { code: 'HOST_NOT_ALLOWED', host, address: request.ip, url: request.url },
      'request refused: unknown host name (DNS rebinding?)',
    );
    void reply
      .code(421)
      .send({ code: 'HOST_NOT_ALLOWED', message: hostNotAllowedMessage(host), statusCode: 421 });
  });
}
