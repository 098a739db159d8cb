import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams, SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

/*
 * Two network namespaces joined by a veth pair: two hosts on one private link that exists only
 * inside them, so tests can run real multicast (mDNS) and LAN clients without touching the
 * machine's network. Needs root / CAP_NET_ADMIN and iproute2.
 */

const run = promisify(execFile);

/** One end of the link. */
export interface LinkEnd {
  ns: string;
  iface: string;
  address: string;
}

export interface NamespacePair {
  a: LinkEnd;
  b: LinkEnd;
  /** Deletes both namespaces (and with them the veth pair); safe to call twice. */
  remove(): Promise<void>;
}

export interface NamespacePairOptions {
  /** A short tag (0-2 letters) that keeps this test's names apart from other tests' (`imv-<tag>a-<pid>`). */
  tag: string;
  /** The /24 of the link, e.g. '10.77.0': end a is .1, end b is .2. */
  subnet: string;
  /**
   * Multicast on and a default route through the link, as on a home LAN with a router: mDNS
   * (224.0.0.251) leaves by the default route. Default true.
   */
  lan?: boolean;
}

/** Runs `ip …args`. */
export async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** Runs a command inside namespace `ns` to completion and returns its output. */
export function execIn(
  ns: string,
  command: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, ...command], options);
}

/** Starts a command inside namespace `ns`. */
export function spawnIn(
  ns: string,
  command: string[],
  options: SpawnOptions = {},
): ChildProcessWithoutNullStreams {
  return spawn('ip', ['netns', 'exec', ns, ...command], { ...options, stdio: 'pipe' });
}

/** Creates the two namespaces and the link between them; throws a clear error without root. */
export async function createNamespacePair(options: NamespacePairOptions): Promise<NamespacePair> {
  const suffix = String(process.pid);
  const end = (side: 'a' | 'b', host: number): LinkEnd => ({
    ns: `imv-${options.tag}${side}-${suffix}`,
    iface: `imv${options.tag}${side}${suffix}`,
    address: `${options.subnet}.${host}`,
  });
  const a = end('a', 1);
  const b = end('b', 2);
  const remove = async (): Promise<void> => {
    // Deleting a namespace also deletes the veth end inside it, and so the pair.
    for (const { ns } of [a, b]) await ip('netns', 'delete', ns).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', a.ns);
    await ip('netns', 'add', b.ns);
  } catch (err) {
    await remove();
    throw new Error(
      `cannot create network namespaces (${String(err)}): this test needs root or CAP_NET_ADMIN and iproute2 (apt-get install -y iproute2)`,
      { cause: err },
    );
  }
  try {
    await ip('link', 'add', a.iface, 'type', 'veth', 'peer', 'name', b.iface);
    for (const { ns, iface, address } of [a, b]) {
      await ip('link', 'set', iface, 'netns', ns);
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface);
      if (options.lan === false) {
        await ip('-n', ns, 'link', 'set', iface, 'up');
      } else {
        await ip('-n', ns, 'link', 'set', iface, 'up', 'multicast', 'on');
      }
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      if (options.lan !== false) await ip('-n', ns, 'route', 'add', 'default', 'dev', iface);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { a, b, remove };
}
