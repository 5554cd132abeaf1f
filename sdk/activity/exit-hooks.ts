/** The process's exit and signals, as a running instance hooks them so that its records outlive the process. */
import type { Delivery } from '../delivery/delivery.js';
import type { DeliveryStats } from '../delivery/delivery-stats.js';

/** What the hooks need of the instance. */
export interface Instance {
  stats(): DeliveryStats;
  flush(): Promise<void>;
  shutdown(): Promise<unknown>;
}

export interface ExitHooks {
  /** Removes the beforeExit and signal hooks: at the start of a shutdown. */
  removeSignals(): void;
  /** Removes the exit hook: once a shutdown has put everything on disk. */
  removeExit(): void;
}

/**
 * beforeExit: the loop is empty but records may be buffered or unsent: send them. exit: only synchronous work
 * runs, so whatever is still in memory goes to the spool, and `report` says what was not delivered.
 * SIGTERM/SIGINT: flush within the deadline, then, if nobody else handles the signal, die of it as the
 * process would have without us.
 */
export function installExitHooks(instance: Instance, delivery: Pick<Delivery, 'spoolNow'> | null, report: () => unknown): ExitHooks {
  const onBeforeExit = () => {
    // Records in the spool but not sent yet are safe (the next start sends them) but late: send them now.
    // Not while the receiver is down, or an undeliverable spool would keep the process from ever exiting.
    const stats = instance.stats();
    if ((stats.queued > 0 || stats.spooledBatches > 0) && !stats.receiverDown) void instance.flush();
  };
  const onExit = () => {
    delivery?.spoolNow();
    report();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const alone = process.listenerCount(signal) === 1;
    void instance.shutdown().finally(() => {
      if (alone) process.kill(process.pid, signal);
    });
  };
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    removeSignals() {
      process.off('beforeExit', onBeforeExit);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
    removeExit() {
      process.off('exit', onExit);
    },
  };
}
