/**
 * A Map that also hands out its oldest entry in amortised O(1). A plain Map cannot be used
 * as a queue: after deleting from the front, finding the first entry again steps over every
 * deleted slot until V8 compacts the table, which made each eviction of a full in-memory
 * ledger cost tens of microseconds. Entries deleted or replaced out of order are skipped
 * when they reach the front.
 */
export class FifoMap<V> {
  private readonly entries = new Map<string, V>();
  // Insertion order as two parallel arrays: no allocation per entry. Slots before `head`
  // are consumed and cleared, so they hold nothing alive.
  private keys: Array<string | undefined> = [];
  private values: Array<V | undefined> = [];
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
    this.keys.push(key);
    this.values.push(value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The oldest entry still present. */
  oldest(): [key: string, value: V] | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head]!;
      const value = this.values[this.head]!;
      if (this.entries.get(key) === value) return [key, value];
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
    this.keys[this.head] = undefined;
    this.values[this.head] = undefined;
    this.head += 1;
    // Now and then drop the consumed front, so the arrays do not grow without bound.
    if (this.head >= 1_024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}
