import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** A way to play an Ogg Opus file through the system's audio output. */
export interface Player {
  /** What is shown to the user, e.g. "pw-play". */
  label: string;
  /** The shell-free command for one file; `pipeTo` feeds its stdout into a second command. */
  command(file: string): { argv: string[]; pipeTo?: string[] };
}

/** Looks for an executable on PATH, the way a shell would. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Players tried in order; the first whose programs are all on PATH wins. */
const CANDIDATES: { label: string; needs: string[]; command: Player['command'] }[] = [
  { label: 'pw-play', needs: ['pw-play'], command: (f) => ({ argv: ['pw-play', f] }) },
  { label: 'paplay', needs: ['paplay'], command: (f) => ({ argv: ['paplay', f] }) },
  {
    label: 'ffplay',
    needs: ['ffplay'],
    command: (f) => ({ argv: ['ffplay', '-nodisp', '-autoexit', '-loglevel', 'error', f] }),
  },
  {
    label: 'mpv',
    needs: ['mpv'],
    command: (f) => ({ argv: ['mpv', '--no-video', '--really-quiet', f] }),
  },
  {
    label: 'opusdec | aplay',
    needs: ['opusdec', 'aplay'],
    command: (f) => ({
      argv: ['opusdec', '--quiet', '--force-wav', f, '-'],
      pipeTo: ['aplay', '-q'],
    }),
  },
];

/**
 * The player to use: IMV_PLAYER (a command that gets the file appended, e.g. "mpv --really-quiet")
 * when set, else the first system player found. Undefined when there is none.
 */
export function findPlayer(env: NodeJS.ProcessEnv = process.env): Player | undefined {
  const custom = env.IMV_PLAYER?.trim();
  if (custom !== undefined && custom !== '') {
    const argv = custom.split(/\s+/);
    return { label: argv[0]!, command: (f) => ({ argv: [...argv, f] }) };
  }
  const found = CANDIDATES.find((c) => c.needs.every((n) => findOnPath(n, env.PATH) !== undefined));
  return found !== undefined ? { label: found.label, command: found.command } : undefined;
}

/** The names searched for, for the "no player" message. */
export const PLAYER_NAMES = CANDIDATES.map((c) => c.label);

/** Plays one file and resolves when the player exits; rejects with the player's failure. */
export function playFile(player: Player, file: string): Promise<void> {
  const { argv, pipeTo } = player.command(file);
  return new Promise((resolve, reject) => {
    const first = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', pipeTo ? 'pipe' : 'ignore', 'inherit'],
    });
    const second =
      pipeTo !== undefined
        ? spawn(pipeTo[0]!, pipeTo.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] })
        : undefined;
    if (second !== undefined && first.stdout !== null && second.stdin !== null)
      first.stdout.pipe(second.stdin);
    const last = second ?? first;
    first.on('error', (err) =>
      reject(new Error(`${player.label} failed to start: ${err.message}`)),
    );
    second?.on('error', (err) =>
      reject(new Error(`${player.label} failed to start: ${err.message}`)),
    );
    last.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${player.label} exited with ${signal ?? `code ${code}`}`));
    });
  });
}
