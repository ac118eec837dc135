/**
 * A positive signal before a check for absence ("no second message", "not retried", "one call"):
 * the queue has nothing left to do now for the jobs a test cares about. After that, whatever
 * those jobs send has been sent, so a missing message is missing, not merely late.
 */
import type { Job, Queue } from 'bullmq';

/**
 * Waits until none of the jobs `mine` picks is waiting, running, waiting out a retry's back-off
 * or delayed to within a minute, twice in a row (jobs delayed further, like tomorrow's reminder,
 * do not count). Throws when the queue is still busy after `timeoutMs`.
 */
export async function queueSettled(queue: Queue, mine: (job: Job) => boolean = () => true, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let idleChecks = 0;
  for (;;) {
    const busy = (await queue.getJobs(['waiting', 'active', 'prioritized', 'waiting-children'])).filter((j) => j && mine(j));
    const soon = Date.now() + 60_000;
    const retrying = (await queue.getJobs(['delayed'])).filter((j) => j && mine(j) && (j.attemptsMade > 0 || j.timestamp + (j.delay ?? 0) <= soon));
    idleChecks = busy.length + retrying.length === 0 ? idleChecks + 1 : 0;
    if (idleChecks >= 2) return;
    if (Date.now() > until) {
      throw new Error(`queue ${queue.name} still busy after ${timeoutMs} ms: ${[...busy, ...retrying].map((j) => j.id).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
