/*
 * Process plumbing shared by the benches: children run TypeScript through tsx and talk over IPC,
 * and a process's CPU time comes from /proc, so the server is measured apart from its clients.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS_PER_SECOND = 100;

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Forks a bench/*.ts file; structured-clone IPC so Float64Arrays travel as they are. */
export function forkTs(file: string, args: string[] = []): ChildProcess {
  return fork(here(file), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}

/** The child's next IPC message of `type`; rejects if the child exits first. */
export function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  type: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: T): void => {
      if (msg.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(msg);
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`child exited (${code}) before sending ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** CPU time (user + system, all threads) and RSS of a process, from /proc/<pid>/stat. */
export function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15, rss 24.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssMb: (rssPages * 4096) / 2 ** 20 };
}

/**
 * CPU time (user + system) of this process's children that have exited and been waited for, from
 * the cutime and cstime fields of /proc/self/stat: the CPU a finished child command used.
 */
export function exitedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resolves once the process's CPU time has stopped growing for 200 ms (at most `maxMs`). */
export async function waitIdle(pid: number, maxMs = 5_000): Promise<void> {
  let last = procStat(pid).cpuMs;
  for (let waited = 0, still = 0; waited < maxMs && still < 4; waited += 50) {
    await sleep(50);
    const now = procStat(pid).cpuMs;
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** The 1, 5 and 15 minute load averages, to print beside figures from a shared machine. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}
