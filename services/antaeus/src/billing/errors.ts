import type { BillingRun } from './model';

/** A run is active on this database and the caller did not ask to join it. */
export class BillingRunActive extends Error {
  constructor(readonly active: BillingRun) {
    super(`billing run ${active.id} is still running`);
    this.name = 'BillingRunActive';
  }
}

/** Billing is shutting down in this process, so it starts or waits for no run. */
export class BillingShuttingDown extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BillingShuttingDown';
  }
}
