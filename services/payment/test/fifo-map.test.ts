import { FifoMap } from '../src/ledger/fifo-map';

describe('FifoMap', () => {
  it('hands out the oldest entry still present, skipping deleted and replaced ones', () => {
    const map = new FifoMap<{ n: number }>();
    const a = { n: 1 };
    map.set('a', a);
    map.set('b', { n: 2 });
    map.set('c', { n: 3 });
    map.delete('b');
    map.set('a', { n: 4 });
    expect(map.size).toBe(2);
    expect(map.oldest()).toEqual(['c', { n: 3 }]);
    expect(map.shift()).toEqual(['c', { n: 3 }]);
    expect(map.shift()).toEqual(['a', { n: 4 }]);
    expect(map.shift()).toBeUndefined();
    expect(map.size).toBe(0);
    expect(map.get('a')).toBeUndefined();
  });

  it('keeps its order through compaction, as a queue of 10,000 entries 3 at a time', () => {
    const map = new FifoMap<number>();
    const shifted: number[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      map.set(`k${i}`, i);
      if (map.size > 3) shifted.push(map.shift()![1]);
    }
    expect(shifted).toEqual(Array.from({ length: 9_997 }, (_, i) => i));
    expect([map.shift(), map.shift(), map.shift()].map((e) => e?.[1])).toEqual([
      9_997, 9_998, 9_999,
    ]);
  });
});
