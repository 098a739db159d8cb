/**
 * Runs slow jobs (room-key scrypt hashes) at most `concurrency` at a time, fairly between clients:
 * each client has its own FIFO, and a free slot goes to the next client in turn (round robin), not
 * to the oldest job. A client flooding guesses therefore delays another client's job by at most
 * one turn per client with work waiting, however many jobs it queued.
 */
export class FairQueue {
  /** Jobs started so far (one per turn); tests count turns with it. */
  started = 0;
  private running = 0;
  /** Clients with waiting jobs, in turn order; a Map keeps insertion order. */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(readonly concurrency: number) {}

  /** Jobs waiting for a slot (not counting running ones). */
  get pending(): number {
    let count = 0;
    for (const jobs of this.waiting.values()) count += jobs.length;
    return count;
  }

  /** Jobs `client` has waiting. */
  pendingOf(client: string): number {
    return this.waiting.get(client)?.length ?? 0;
  }

  async run<T>(client: string, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => {
        const jobs = this.waiting.get(client);
        if (jobs === undefined) this.waiting.set(client, [resolve]);
        else jobs.push(resolve);
      });
    } else {
      this.running++;
    }
    this.started++;
    try {
      return await work();
    } finally {
      this.next();
    }
  }

  /** Hands the finished job's slot to the next client in turn, or frees it. */
  private next(): void {
    const entry = this.waiting.entries().next();
    if (entry.done === true) {
      this.running--;
      return;
    }
    const [client, jobs] = entry.value;
    const job = jobs.shift()!;
    // To the back of the line: the other clients go first.
    this.waiting.delete(client);
    if (jobs.length > 0) this.waiting.set(client, jobs);
    job();
  }
}
