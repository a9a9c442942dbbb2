/**
 * Go 1.19's sort.Sort (pattern-defeating quicksort), reimplemented over a JS array, so that a
 * Range sorted by a target with ties (version, create/mod revision, value) returns equal
 * elements in exactly the order etcd 3.4 (built with Go 1.19) returns them. sort.Sort is not
 * stable; its tie order is a deterministic function of the input order, reproduced here.
 */
type Less<T> = (a: T, b: T) => boolean;

const enum Hint {
  Unknown = 0,
  Increasing = 1,
  Decreasing = 2,
}

function bitsLen(n: number): number {
  return n <= 0 ? 0 : 32 - Math.clz32(n);
}

class Sorter<T> {
  constructor(
    private readonly d: T[],
    private readonly lessFn: Less<T>,
  ) {}

  less(i: number, j: number): boolean {
    return this.lessFn(this.d[i]!, this.d[j]!);
  }

  swap(i: number, j: number): void {
    const d = this.d;
    const t = d[i]!;
    d[i] = d[j]!;
    d[j] = t;
  }

  insertionSort(a: number, b: number): void {
    for (let i = a + 1; i < b; i++) {
      for (let j = i; j > a && this.less(j, j - 1); j--) this.swap(j, j - 1);
    }
  }

  siftDown(lo: number, hi: number, first: number): void {
    let root = lo;
    for (;;) {
      let child = 2 * root + 1;
      if (child >= hi) return;
      if (child + 1 < hi && this.less(first + child, first + child + 1)) child++;
      if (!this.less(first + root, first + child)) return;
      this.swap(first + root, first + child);
      root = child;
    }
  }

  heapSort(a: number, b: number): void {
    const first = a;
    const lo = 0;
    const hi = b - a;
    for (let i = Math.trunc((hi - 1) / 2); i >= 0; i--) this.siftDown(i, hi, first);
    for (let i = hi - 1; i >= 0; i--) {
      this.swap(first, first + i);
      this.siftDown(lo, i, first);
    }
  }

  pdqsort(a: number, b: number, limit: number): void {
    const maxInsertion = 12;
    let wasBalanced = true;
    let wasPartitioned = true;
    for (;;) {
      const length = b - a;
      if (length <= maxInsertion) {
        this.insertionSort(a, b);
        return;
      }
      if (limit === 0) {
        this.heapSort(a, b);
        return;
      }
      if (!wasBalanced) {
        this.breakPatterns(a, b);
        limit--;
      }
      let [pivot, hint] = this.choosePivot(a, b);
      if (hint === Hint.Decreasing) {
        this.reverseRange(a, b);
        pivot = b - 1 - (pivot - a);
        hint = Hint.Increasing;
      }
      if (wasBalanced && wasPartitioned && hint === Hint.Increasing) {
        if (this.partialInsertionSort(a, b)) return;
      }
      if (a > 0 && !this.less(a - 1, pivot)) {
        a = this.partitionEqual(a, b, pivot);
        continue;
      }
      const [mid, alreadyPartitioned] = this.partition(a, b, pivot);
      wasPartitioned = alreadyPartitioned;
      const leftLen = mid - a;
      const rightLen = b - mid;
      const balanceThreshold = Math.trunc(length / 8);
      if (leftLen < rightLen) {
        wasBalanced = leftLen >= balanceThreshold;
        this.pdqsort(a, mid, limit);
        a = mid + 1;
      } else {
        wasBalanced = rightLen >= balanceThreshold;
        this.pdqsort(mid + 1, b, limit);
        b = mid;
      }
    }
  }

  partition(a: number, b: number, pivot: number): [number, boolean] {
    this.swap(a, pivot);
    let i = a + 1;
    let j = b - 1;
    while (i <= j && this.less(i, a)) i++;
    while (i <= j && !this.less(j, a)) j--;
    if (i > j) {
      this.swap(j, a);
      return [j, true];
    }
    this.swap(i, j);
    i++;
    j--;
    for (;;) {
      while (i <= j && this.less(i, a)) i++;
      while (i <= j && !this.less(j, a)) j--;
      if (i > j) break;
      this.swap(i, j);
      i++;
      j--;
    }
    this.swap(j, a);
    return [j, false];
  }

  partitionEqual(a: number, b: number, pivot: number): number {
    this.swap(a, pivot);
    let i = a + 1;
    let j = b - 1;
    for (;;) {
      while (i <= j && !this.less(a, i)) i++;
      while (i <= j && this.less(a, j)) j--;
      if (i > j) break;
      this.swap(i, j);
      i++;
      j--;
    }
    return i;
  }

  partialInsertionSort(a: number, b: number): boolean {
    const maxSteps = 5;
    const shortestShifting = 50;
    let i = a + 1;
    for (let step = 0; step < maxSteps; step++) {
      while (i < b && !this.less(i, i - 1)) i++;
      if (i === b) return true;
      if (b - a < shortestShifting) return false;
      this.swap(i, i - 1);
      if (i - a >= 2) {
        for (let j = i - 1; j >= 1; j--) {
          if (!this.less(j, j - 1)) break;
          this.swap(j, j - 1);
        }
      }
      if (b - i >= 2) {
        for (let j = i + 1; j < b; j++) {
          if (!this.less(j, j - 1)) break;
          this.swap(j, j - 1);
        }
      }
    }
    return false;
  }

  breakPatterns(a: number, b: number): void {
    const length = b - a;
    if (length >= 8) {
      // Go 1.19's xorshift (shifts 13, 17, 5 on a uint64 seeded with the length).
      let r = BigInt(length);
      const mask64 = (1n << 64n) - 1n;
      const next = (): bigint => {
        r ^= (r << 13n) & mask64;
        r ^= r >> 17n;
        r ^= (r << 5n) & mask64;
        return r;
      };
      const modulus = BigInt(2 ** bitsLen(length));
      const base = a + Math.trunc(length / 4) * 2;
      for (let idx = base - 1; idx <= base + 1; idx++) {
        let other = Number(next() & (modulus - 1n));
        if (other >= length) other -= length;
        this.swap(idx, a + other);
      }
    }
  }

  choosePivot(a: number, b: number): [number, Hint] {
    const shortestNinther = 50;
    const maxSwaps = 4 * 3;
    const l = b - a;
    const swaps = { n: 0 };
    const q = Math.trunc(l / 4);
    let i = a + q * 1;
    let j = a + q * 2;
    let k = a + q * 3;
    if (l >= 8) {
      if (l >= shortestNinther) {
        i = this.medianAdjacent(i, swaps);
        j = this.medianAdjacent(j, swaps);
        k = this.medianAdjacent(k, swaps);
      }
      j = this.median(i, j, k, swaps);
    }
    if (swaps.n === 0) return [j, Hint.Increasing];
    if (swaps.n === maxSwaps) return [j, Hint.Decreasing];
    return [j, Hint.Unknown];
  }

  order2(a: number, b: number, swaps: { n: number }): [number, number] {
    if (this.less(b, a)) {
      swaps.n++;
      return [b, a];
    }
    return [a, b];
  }

  median(a: number, b: number, c: number, swaps: { n: number }): number {
    [a, b] = this.order2(a, b, swaps);
    [b, c] = this.order2(b, c, swaps);
    [a, b] = this.order2(a, b, swaps);
    void a;
    void c;
    return b;
  }

  medianAdjacent(a: number, swaps: { n: number }): number {
    return this.median(a - 1, a, a + 1, swaps);
  }

  reverseRange(a: number, b: number): void {
    let i = a;
    let j = b - 1;
    while (i < j) {
      this.swap(i, j);
      i++;
      j--;
    }
  }
}

/** In place, as Go's sort.Sort(data) with Less(i, j) = less(data[i], data[j]). */
export function goSort<T>(data: T[], less: Less<T>): void {
  const n = data.length;
  if (n <= 1) return;
  new Sorter(data, less).pdqsort(0, n, bitsLen(n));
}

/** In place, as Go's sort.Sort(sort.Reverse(data)). */
export function goSortReverse<T>(data: T[], less: Less<T>): void {
  goSort(data, (a, b) => less(b, a));
}
