/**
 * Where a client goes when its node of a cluster goes away: one origin per other node listed in
 * `welcome.nodes`. Of a node's URLs it takes the one with the same scheme and host as `current`
 * (the client reached this node that way, so it can likely reach its peers the same way), else the
 * first of the same scheme, else the first. A client that is not on a loopback address skips
 * loopback URLs (a node's 127.0.0.1 is not reachable from a phone). Unparsable URLs are skipped.
 */
export function failoverOrigins(
  current: string,
  nodes: readonly { readonly urls: readonly string[] }[],
): string[] {
  let here: URL;
  try {
    here = new URL(current);
  } catch {
    return [];
  }
  const origins: string[] = [];
  for (const node of nodes) {
    const parsed = node.urls.flatMap((u) => {
      try {
        return [new URL(u)];
      } catch {
        return [];
      }
    });
    const reachable = parsed.filter((u) => !isLoopback(u));
    const urls = isLoopback(here) || reachable.length === 0 ? parsed : reachable;
    const pick =
      urls.find((u) => u.protocol === here.protocol && u.hostname === here.hostname) ??
      urls.find((u) => u.protocol === here.protocol) ??
      urls[0];
    if (pick !== undefined) origins.push(pick.origin);
  }
  return origins;
}

function isLoopback(url: URL): boolean {
  return /^(localhost|127(\.\d+){3}|\[::1\])$/i.test(url.hostname);
}
