import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imv</title></head>
<body><h1>imv server is running</h1>
<p>The web client is not built. Run <code>npm run build</code> in the repository, then reload this page.</p>
</body></html>
`;

/**
 * Serves the built web client from webRoot: `/` → index.html, `/duo` → duo.html, `/doctor` →
 * doctor.html (the audio doctor), assets by path.
 */
export async function registerWebRoutes(app: FastifyInstance, webRoot: string): Promise<void> {
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT_HTML));
    return;
  }
  await app.register(fastifyStatic, {
    root: webRoot,
    index: 'index.html',
    wildcard: true,
    // Our own Cache-Control below (the plugin's default would override it).
    cacheControl: false,
    setHeaders: (res, filePath) => {
      const file = path.basename(filePath);
      // The service worker and the pages are checked on every load, so a new build is picked up at
      // once (a cached sw.js would keep the old shell); hashed files under assets/ never change.
      if (file === 'sw.js' || file.endsWith('.html') || file === 'manifest.webmanifest') {
        res.setHeader('cache-control', 'no-cache');
      } else if (filePath.includes(`${path.sep}assets${path.sep}`)) {
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      } else {
        res.setHeader('cache-control', 'public, max-age=0');
      }
    },
  });
  if (existsSync(path.join(webRoot, 'duo.html'))) {
    app.get('/duo', (_request, reply) => reply.sendFile('duo.html'));
  }
  if (existsSync(path.join(webRoot, 'doctor.html'))) {
    app.get('/doctor', (_request, reply) => reply.sendFile('doctor.html'));
  }
}
