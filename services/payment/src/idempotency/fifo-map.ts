/**
 * A Map that also hands out its oldest entry in amortised O(1). A plain Map cannot be used
 * as a queue: after deleting from the front, finding the first entry again steps over every
 * deleted slot until V8 compacts the table, which made each eviction of a full in-memory
 * ledger cost tens of microseconds. Entries deleted or replaced out of order are skipped
 * when they reach the front.
 */
export class FifoMap<V> {
  private readonly entries = new Map<string, V>();
  private order: Array<[string, V]> = [];
  private head = 0;

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Adds or replaces `key`; either way it becomes the newest entry. */
  set(key: string, value: V): void {
    this.entries.set(key, value);
    this.order.push([key, value]);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The oldest entry still present. */
  oldest(): [key: string, value: V] | undefined {
    while (this.head < this.order.length) {
      const entry = this.order[this.head]!;
      if (this.entries.get(entry[0]) === entry[1]) return entry;
      this.advance();
    }
    return undefined;
  }

  /** Removes and returns the oldest entry still present. */
  shift(): [key: string, value: V] | undefined {
    const entry = this.oldest();
    if (entry) {
      this.entries.delete(entry[0]);
      this.advance();
    }
    return entry;
  }

  private advance(): void {
    this.head += 1;
    // Now and then drop the consumed front, so the array does not grow without bound.
    if (this.head >= 1_024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
