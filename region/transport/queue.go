package transport

import (
	"context"
	"errors"
	"sync"
	"time"
)

// item is one queued frame and its release time, the earliest time it may be
// written. Release times never decrease along a queue (see push), so the
// writer holds the head frame until it is due and writes the frames due by
// then together.
type item struct {
	frame []byte
	due   time.Time // zero: at once
}

// queue is the bounded FIFO between Send and the goroutine that writes one
// peer's frames. A frame counts against the limits from push until the writer
// releases it, so the limits cover the batch being written as well as the
// frames waiting. No lock is held while frames are written.
type queue struct {
	maxLen, maxBytes int
	wake             chan struct{} // one token: frames were pushed

	mu      sync.Mutex
	items   []item    // waiting, not yet taken by the writer
	last    time.Time // the latest release time pushed; zero if none was delayed
	frames  int       // pushed and not yet released
	bytes   int
	closed  bool
	room    chan struct{} // closed, then replaced, when room is freed for a waiter
	waiting bool          // someone holds room
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{
		maxLen:   maxLen,
		maxBytes: maxBytes,
		wake:     make(chan struct{}, 1),
		room:     make(chan struct{}),
	}
}

// push appends frame, to be written no earlier than due (zero: at once) nor
// before the frame pushed before it: its release time is the later of due
// and the previous frame's, so that frames with varying delays (jitter) keep
// their order. A frame is always admitted to an empty queue, whatever its
// size. When the queue is full push returns ErrQueueFull and a channel that
// is closed when room is freed or the queue is closed.
func (q *queue) push(frame []byte, due time.Time) (<-chan struct{}, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, ErrClosed
	case q.frames > 0 && (q.frames >= q.maxLen || q.bytes+len(frame) > q.maxBytes):
		q.waiting = true
		return q.room, ErrQueueFull
	}
	if due.Before(q.last) {
		due = q.last
	} else {
		q.last = due
	}
	q.items = append(q.items, item{frame: frame, due: due})
	q.frames++
	q.bytes += len(frame)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil, nil
}

// take waits until frames are waiting and returns all of them, reusing
// spare's array for the frames pushed next. It returns nil once ctx is done.
func (q *queue) take(ctx context.Context, spare []item) []item {
	for {
		q.mu.Lock()
		if len(q.items) > 0 && ctx.Err() == nil {
			batch := q.items
			q.items = spare[:0]
			q.mu.Unlock()
			return batch
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// release frees the room of frames the writer has written or dropped.
func (q *queue) release(frames, bytes int) {
	if frames == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.frames -= frames
	q.bytes -= bytes
	q.signal()
}

// dropWaiting removes and releases the frames not yet taken by the writer
// and returns how many there were.
func (q *queue) dropWaiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	for i, it := range q.items {
		q.bytes -= len(it.frame)
		q.items[i] = item{}
	}
	q.frames -= n
	q.items = q.items[:0]
	q.signal()
	return n
}

// signal wakes the callers waiting for room. q.mu must be held.
func (q *queue) signal() {
	if q.waiting {
		close(q.room)
		q.room = make(chan struct{})
		q.waiting = false
	}
}

// idle reports whether no frame is waiting to be taken.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0
}

// len returns the number of frames pushed and not yet released.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.frames
}

// close makes push return ErrClosed and wakes the callers waiting for room.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.waiting = true
	q.signal()
}

// releaser batches releases so that the writer does not take the queue's
// lock for every small frame, while still freeing room as it goes so that
// producers and the writer overlap.
type releaser struct {
	q             *queue
	frames, bytes int
}

func (r *releaser) add(bytes int) {
	r.frames++
	r.bytes += bytes
	if r.frames >= 256 || r.bytes >= 1<<20 {
		r.flush()
	}
}

func (r *releaser) flush() {
	r.q.release(r.frames, r.bytes)
	r.frames, r.bytes = 0, 0
}

// sendWait pushes with push until it succeeds, fails with anything but
// ErrQueueFull, or ctx is done.
func sendWait(ctx context.Context, push func() (<-chan struct{}, error)) error {
	for {
		room, err := push()
		if !errors.Is(err, ErrQueueFull) {
			return err
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notDue reports whether a frame released at due must be held still.
func notDue(due time.Time) bool {
	return !due.IsZero() && time.Until(due) > 0
}

// sleepUntil waits until due, reporting false if ctx is done first. A zero
// or past due returns at once. timer must be stopped or expired.
func sleepUntil(ctx context.Context, timer *time.Timer, due time.Time) bool {
	if due.IsZero() {
		return ctx.Err() == nil
	}
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		timer.Stop()
		return false
	}
}

// newStoppedTimer returns a timer for sleepUntil.
func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
