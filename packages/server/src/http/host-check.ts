import type { FastifyInstance } from 'fastify';
import type { AllowedHosts } from './allowed-hosts.js';
import { HttpError } from './errors.js';

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
    const refusal = HttpError.hostNotAllowed(host);
    void reply.code(refusal.statusCode).send(refusal.body);
  });
}
