/**
 * The deadlines of the queries in flight to one upstream, with ONE timer for all of them.
 *
 * A `setTimeout` per forwarded query costs a Timeout object, a closure and a place in Node's timer
 * lists, all cleared again a millisecond later when the answer comes. Here a query takes a slot
 * (a small integer, reused) and its deadline goes into a binary min-heap held in typed arrays; the
 * single timer is armed for the earliest deadline. Answered queries leave the heap at once
 * (`cancel`, O(log n)), so the timer usually fires for nothing and re-arms for the new earliest:
 * with one timeout length per upstream that is about one wake-up per timeout period, not one timer
 * per query.
 *
 * Bounded: at most `capacity` slots. The arrays start small and double up to it, so an idle
 * upstream costs a few hundred bytes.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class DeadlineQueue {
  /** heap[i] = the slot at heap position i; a min-heap on deadlineOf[slot]. */
  private heap: Int32Array;
  /** deadlineOf[slot] in performance.now() milliseconds. */
  private deadlineOf: Float64Array;
  /** positionOf[slot] = its index in heap, or -1 when the slot is free. */
  private positionOf: Int32Array;
  /** Free slots, a stack: freeSlots[0 .. freeCount). */
  private freeSlots: Int32Array;
  private freeCount = 0;
  /** Slots handed out so far (the arrays' used length); below it, free slots are on the stack. */
  private highWater = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for (Infinity: none). */
  private armedFor = Number.POSITIVE_INFINITY;

  /**
   * @param capacity slots at most: add() returns -1 beyond it.
   * @param onExpire called once per slot whose deadline passed; the slot is already free again.
   */
  constructor(
    readonly capacity: number,
    private readonly onExpire: (slot: number) => void,
    initialSize = 64,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    const size = Math.min(capacity, Math.max(1, initialSize));
    this.heap = new Int32Array(size);
    this.deadlineOf = new Float64Array(size);
    this.positionOf = new Int32Array(size).fill(-1);
    this.freeSlots = new Int32Array(size);
  }

  /** Deadlines pending. */
  get size(): number {
    return this.count;
  }

  /** The slots' arrays as allocated now (≤ capacity): what the queue's memory is proportional to. */
  get allocated(): number {
    return this.heap.length;
  }

  /** The earliest pending deadline, or Infinity. */
  get earliest(): number {
    return this.count === 0 ? Number.POSITIVE_INFINITY : this.deadlineOf[this.heap[0]!]!;
  }

  /** Takes a slot that expires at `deadline` (performance.now() ms); -1 when all `capacity` slots are taken. */
  add(deadline: number): number {
    let slot: number;
    if (this.freeCount > 0) slot = this.freeSlots[--this.freeCount]!;
    else if (this.highWater < this.heap.length || this.grow()) slot = this.highWater++;
    else return -1;
    this.deadlineOf[slot] = deadline;
    const position = this.count++;
    this.heap[position] = slot;
    this.positionOf[slot] = position;
    this.siftUp(position);
    if (deadline < this.armedFor) this.arm(deadline);
    else if (this.count === 1) this.timer?.ref();
    return slot;
  }

  /** Frees the slot before its deadline (the answer came). False if it was not pending. */
  cancel(slot: number): boolean {
    if (slot < 0 || slot >= this.highWater) return false;
    const position = this.positionOf[slot]!;
    if (position < 0) return false;
    this.removeAt(position);
    // The timer stays armed (re-arming per answer would cost what this class saves); with nothing
    // pending it must not keep the process alive.
    if (this.count === 0) this.timer?.unref();
    return true;
  }

  /** The deadline of a pending slot, or NaN. */
  deadline(slot: number): number {
    return slot >= 0 && slot < this.highWater && this.positionOf[slot]! >= 0 ? this.deadlineOf[slot]! : Number.NaN;
  }

  /**
   * Frees and reports (onExpire) every slot whose deadline is at or before `now`, earliest first,
   * then re-arms the timer for the next one. The timer calls it; tests may too.
   */
  expire(now: number): void {
    while (this.count > 0) {
      const slot = this.heap[0]!;
      if (this.deadlineOf[slot]! > now) break;
      this.removeAt(0);
      this.onExpire(slot);
    }
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.count > 0) this.arm(this.earliest);
    else this.timer?.unref();
  }

  /** Stops the timer and frees every slot without reporting them. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.count; i++) this.positionOf[this.heap[i]!] = -1;
    this.count = 0;
    this.freeCount = 0;
    this.highWater = 0;
  }

  private arm(deadline: number): void {
    this.armedFor = deadline;
    // Node's timers count whole milliseconds from the loop's clock: a timer may fire up to 1 ms
    // "early" by performance.now(); expire() then finds nothing due and re-arms.
    // Beyond setTimeout's 32-bit limit the timer fires at the limit, and re-arms.
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(1, Math.ceil(deadline - performance.now())));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(onTimer, delay, this);
  }

  private grow(): boolean {
    const size = this.heap.length;
    if (size >= this.capacity) return false;
    const next = Math.min(this.capacity, size * 2);
    const heap = new Int32Array(next);
    heap.set(this.heap);
    const deadlineOf = new Float64Array(next);
    deadlineOf.set(this.deadlineOf);
    const positionOf = new Int32Array(next).fill(-1);
    positionOf.set(this.positionOf);
    const freeSlots = new Int32Array(next);
    freeSlots.set(this.freeSlots);
    this.heap = heap;
    this.deadlineOf = deadlineOf;
    this.positionOf = positionOf;
    this.freeSlots = freeSlots;
    return true;
  }

  private removeAt(position: number): void {
    const slot = this.heap[position]!;
    this.positionOf[slot] = -1;
    this.freeSlots[this.freeCount++] = slot;
    const last = --this.count;
    if (position === last) return;
    const moved = this.heap[last]!;
    this.heap[position] = moved;
    this.positionOf[moved] = position;
    // The moved slot may belong above or below its new place.
    if (position > 0 && this.deadlineOf[moved]! < this.deadlineOf[this.heap[(position - 1) >> 1]!]!) this.siftUp(position);
    else this.siftDown(position);
  }

  private siftUp(position: number): void {
    const { heap, deadlineOf, positionOf } = this;
    const slot = heap[position]!;
    const deadline = deadlineOf[slot]!;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      const parentSlot = heap[parent]!;
      if (deadlineOf[parentSlot]! <= deadline) break;
      heap[position] = parentSlot;
      positionOf[parentSlot] = position;
      position = parent;
    }
    heap[position] = slot;
    positionOf[slot] = position;
  }

  private siftDown(position: number): void {
    const { heap, deadlineOf, positionOf, count } = this;
    const slot = heap[position]!;
    const deadline = deadlineOf[slot]!;
    for (;;) {
      let child = 2 * position + 1;
      if (child >= count) break;
      if (child + 1 < count && deadlineOf[heap[child + 1]!]! < deadlineOf[heap[child]!]!) child++;
      const childSlot = heap[child]!;
      if (deadlineOf[childSlot]! >= deadline) break;
      heap[position] = childSlot;
      positionOf[childSlot] = position;
      position = child;
    }
    heap[position] = slot;
    positionOf[slot] = position;
  }
}

function onTimer(queue: DeadlineQueue): void {
  queue['timer'] = undefined;
  queue.expire(performance.now());
}
