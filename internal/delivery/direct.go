package delivery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Settler learns the outcome of a direct delivery ([Runner.TryDirect]).
type Settler interface {
	// Settled is called once per job, from another goroutine: err is nil
	// when the job needs nothing more from its caller (delivered, stored in
	// the queue for its retries, dead-lettered, or dropped for good with a
	// metric and a log line), non-nil when nothing durable happened to it
	// (the caller must keep the event and route it again).
	Settled(err error)
}

// ErrDirectStopped settles a direct delivery that Close cut short or kept
// from starting.
var ErrDirectStopped = errors.New("delivery: runner closing; direct delivery not made")

// enqueueTimeout bounds storing a job whose direct attempt failed.
const enqueueTimeout = 10 * time.Second

// A job waits at most maxDirectWait for a direct attempt; one that waited
// longer (its target is slow) is stored instead, so that its event is not
// held on the bus behind a slow target. An attempt that takes longer than
// slowDirect pauses direct delivery to the target as a failure does.
const (
	maxDirectWait = time.Second
	slowDirect    = time.Second
)

// directIdle is how long a direct worker waits for a job before it leaves.
const directIdle = 5 * time.Second

// maxDirectPause bounds how long a failing target is skipped by direct
// delivery (its stored jobs' first success ends the pause sooner).
const maxDirectPause = 30 * time.Second

// direct is the direct-delivery state of one target.
type direct struct {
	tm  *targetMetrics
	log *slog.Logger
	// jobs waits for a free worker (an entry may carry a group of jobs,
	// see directJob.more); queued counts the jobs in it, at most
	// Config.DirectQueue; workers counts the goroutines taking jobs from
	// it (at most Config.DirectMaxInFlight).
	jobs    chan directJob
	queued  atomic.Int32
	workers atomic.Int32
	// fails counts consecutive retryable failures (and slow answers);
	// while one is recent (until downUntil, unix nanoseconds) the target is
	// skipped.
	fails     atomic.Int32
	downUntil atomic.Int64
	// running counts the attempts in progress; progress (unix
	// nanoseconds) is when one last ended, or when one started while none
	// ran. Attempts running with no progress for slowDirect mean the
	// target hangs: it is skipped before the first of them times out.
	running  atomic.Int32
	progress atomic.Int64
	// kind is whether the target's jobs go in batches, as last found for
	// its ARN (a target keeps its key when PutTargets gives it another).
	kind atomic.Pointer[batchKind]
}

// batchKind is whether the jobs of a target ARN go in batches.
type batchKind struct {
	arn     string
	batches bool
}

// batches reports whether job's target takes its jobs in batches
// (BatchInvoker.Batches), asked once per target ARN.
func (r *Runner) batches(d *direct, job *Job) bool {
	if r.batcher == nil {
		return false
	}
	if k := d.kind.Load(); k != nil && k.arn == job.TargetARN {
		return k.batches
	}
	k := &batchKind{arn: job.TargetARN, batches: r.batcher.Batches(job)}
	d.kind.Store(k)
	return k.batches
}

func (d *direct) healthy(now time.Time) bool {
	if u := d.downUntil.Load(); u != 0 && now.UnixNano() < u {
		return false
	}
	return d.running.Load() == 0 || now.UnixNano()-d.progress.Load() <= int64(slowDirect)
}

// succeeded ends a pause: the target answers again.
func (d *direct) succeeded() {
	if d.fails.Load() != 0 || d.downUntil.Load() != 0 {
		d.fails.Store(0)
		d.downUntil.Store(0)
	}
}

// failed pauses direct delivery to the target: base after the first
// failure, doubling with each further one, at most limit.
func (d *direct) failed(now time.Time, base, limit time.Duration) {
	n := d.fails.Add(1)
	pause := base
	for i := int32(1); i < n && pause < limit; i++ {
		pause *= 2
	}
	d.downUntil.Store(now.Add(min(pause, limit)).UnixNano())
}

// directFor returns the direct-delivery state of target k, creating it.
func (r *Runner) directFor(k TargetKey) *direct {
	r.directMu.RLock()
	d := r.direct[k]
	r.directMu.RUnlock()
	if d != nil {
		return d
	}
	r.directMu.Lock()
	defer r.directMu.Unlock()
	if d = r.direct[k]; d == nil {
		d = &direct{
			jobs: make(chan directJob, r.cfg.DirectQueue),
			tm:   r.m.forTarget(k.Bus, k.Rule),
			log:  r.log.With("bus", k.Bus, "rule", k.Rule, "target_id", k.ID),
		}
		r.direct[k] = d
	}
	return d
}

// directJob is a job waiting for a direct attempt, whom to tell, and since
// when it waits; more are the jobs handed over with it (TryDirectAll), a
// worker takes them together.
type directJob struct {
	job   *Job
	s     Settler
	since time.Time
	more  []directJob
}

// size is how many jobs dj holds.
func (dj *directJob) size() int { return 1 + len(dj.more) }

// TryDirect makes the first attempt at job soon, without storing it, when
// its target is healthy (its last attempts did not fail) and has room: at
// most Config.DirectMaxInFlight direct invocations run per target, at most
// Config.DirectQueue jobs wait for one. It then returns true, and s.Settled
// is called once the job is settled: delivered; or, after a failure, stored
// in the queue with the attempt counted and its retry's time (so the retry
// policy and backoff hold as if the queue had made the attempt),
// dead-lettered, or dropped. It returns false, and never calls s, when the
// caller must store the job in the queue itself.
//
// The caller keeps the event the job came from (unacknowledged on its bus)
// until s is told: a crash in between loses nothing, the event is routed
// again (at least once).
func (r *Runner) TryDirect(job *Job, s Settler) bool {
	if r.cfg.DirectMaxInFlight < 0 {
		return false
	}
	d := r.directFor(job.Key())
	now := r.cfg.Clock.Now()
	return r.offer(d, directJob{job: job, s: s, since: now}, now)
}

// TryDirectAll is TryDirect for each of jobs (jobs[i] settled by
// settlers[i]), setting taken[i] to what TryDirect would return. The jobs
// of a target whose invoker takes batches are handed over in groups of up
// to MaxDirectBatch (and Config.DirectQueue), each taken or refused whole,
// in their order: a worker
// finds a group at once and attempts it as one batch, where jobs offered
// one by one would often be taken by a worker as soon as the first came.
func (r *Runner) TryDirectAll(jobs []*Job, settlers []Settler, taken []bool) {
	clear(taken)
	if r.cfg.DirectMaxInFlight < 0 {
		return
	}
	var grouped []bool // jobs already in a group
	var group []directJob
	var members []int // group's indices in jobs
	now := r.cfg.Clock.Now()
	for i, job := range jobs {
		if grouped != nil && grouped[i] {
			continue
		}
		k := job.Key()
		d := r.directFor(k)
		if !r.batches(d, job) {
			taken[i] = r.offer(d, directJob{job: job, s: settlers[i], since: now}, now)
			continue
		}
		group = append(group[:0], directJob{job: job, s: settlers[i], since: now})
		members = append(members[:0], i)
		for j := i + 1; j < len(jobs) && len(group) < min(MaxDirectBatch, r.cfg.DirectQueue); j++ {
			if (grouped == nil || !grouped[j]) && jobs[j].Key() == k && jobs[j].TargetARN == job.TargetARN {
				if grouped == nil {
					grouped = make([]bool, len(jobs))
				}
				grouped[j] = true
				group = append(group, directJob{job: jobs[j], s: settlers[j], since: now})
				members = append(members, j)
			}
		}
		dj := group[0]
		if len(group) > 1 {
			dj.more = slices.Clone(group[1:])
		}
		if r.offer(d, dj, now) {
			for _, m := range members {
				taken[m] = true
			}
		}
	}
}

// offer hands dj (with the jobs it carries) to d's workers, starting one
// when needed; false when d's target is not healthy or its waiting jobs
// would pass Config.DirectQueue.
func (r *Runner) offer(d *direct, dj directJob, now time.Time) bool {
	if !d.healthy(now) {
		d.tm.deferred.Add(float64(dj.size()))
		return false
	}
	r.directMu.RLock()
	defer r.directMu.RUnlock()
	if r.directClosed {
		return false
	}
	n := int32(dj.size())
	if d.queued.Add(n) > int32(r.cfg.DirectQueue) {
		d.queued.Add(-n)
		d.tm.deferred.Add(float64(n))
		return false
	}
	select {
	case d.jobs <- dj:
	default: // not reached: the channel holds DirectQueue entries
		d.queued.Add(-n)
		d.tm.deferred.Add(float64(n))
		return false
	}
	// A target whose jobs go in batches gets another worker only when
	// those it has are a batch or more behind each: the jobs that wait
	// meanwhile make the next batch.
	if w := d.workers.Load(); w < int32(r.cfg.DirectMaxInFlight) && (!r.batches(d, dj.job) || int(w)*MaxDirectBatch < int(d.queued.Load())) &&
		d.workers.CompareAndSwap(w, w+1) {
		r.directWG.Add(1)
		go r.directWorker(d)
	}
	return true
}

// directWorker attempts the target's waiting jobs. It stays a while when
// there are none (a new goroutine would grow its stack again for the first
// job), and leaves when idle for directIdle or when the runner closes.
func (r *Runner) directWorker(d *direct) {
	defer r.directWG.Done()
	idle := time.NewTimer(directIdle)
	defer idle.Stop()
	// The worker's own child of invCtx: an attempt's timeout context
	// registers with it, not with invCtx, which every worker would
	// contend for.
	ctx, cancel := context.WithCancel(r.invCtx)
	defer cancel()
	var batch []directJob
	for {
		select {
		case dj := <-d.jobs:
			batch = r.take(ctx, d, dj, batch)
			continue
		default:
		}
		idle.Reset(directIdle)
		select {
		case dj := <-d.jobs:
			batch = r.take(ctx, d, dj, batch)
			continue
		case <-idle.C:
		case <-r.directDone:
			// Closing: settle what waits (takeDirect refuses it), then go.
			for {
				select {
				case dj := <-d.jobs:
					batch = r.take(ctx, d, dj, batch)
					continue
				default:
				}
				break
			}
		}
		d.workers.Add(-1)
		// A job sent after the check above and before the count went
		// down may have started no worker: take it on.
		if len(d.jobs) == 0 {
			return
		}
		if n := d.workers.Load(); n >= int32(r.cfg.DirectMaxInFlight) || !d.workers.CompareAndSwap(n, n+1) {
			return
		}
	}
}

// MaxDirectBatch is the most jobs of one target that TryDirectAll hands
// over in one group (a PutEvents call's), and how many a direct worker
// gathers before it hands them to a [BatchInvoker]: groups stay whole, so
// a batch holds fewer than twice as many.
const MaxDirectBatch = 10

// take settles dj, taken from the target's waiting jobs, with the jobs it
// carries and, when the invoker takes the target's jobs in batches, those
// waiting with it (until the batch holds MaxDirectBatch). batch is scratch
// space, returned for the next call.
func (r *Runner) take(ctx context.Context, d *direct, dj directJob, batch []directJob) []directJob {
	d.queued.Add(-int32(dj.size()))
	if !r.batches(d, dj.job) {
		r.takeAlone(ctx, d, dj)
		return batch
	}
	batch = append(append(batch[:0], dj), dj.more...)
	var alone *directJob
more:
	for len(batch) < MaxDirectBatch {
		select {
		case next := <-d.jobs:
			d.queued.Add(-int32(next.size()))
			if !r.batches(d, next.job) {
				// The target changed kind meanwhile (its ARN was replaced).
				alone = &next
				break more
			}
			batch = append(append(batch, next), next.more...)
		default:
			break more
		}
	}
	for i := range batch {
		batch[i].more = nil
	}
	r.takeDirectBatch(ctx, d, batch)
	clear(batch)
	if alone != nil {
		r.takeAlone(ctx, d, *alone)
	}
	return batch
}

// takeAlone settles dj and the jobs it carries one at a time.
func (r *Runner) takeAlone(ctx context.Context, d *direct, dj directJob) {
	more := dj.more
	dj.more = nil
	dj.s.Settled(r.takeDirect(ctx, d, dj))
	for _, m := range more {
		m.s.Settled(r.takeDirect(ctx, d, m))
	}
}

// takeDirect settles a job taken from the target's waiting jobs: attempted,
// or stored without an attempt when it waited too long or the target
// failed meanwhile.
func (r *Runner) takeDirect(ctx context.Context, d *direct, dj directJob) error {
	if r.directStop.Load() {
		// Closing: jobs not started yet are left to their events.
		return ErrDirectStopped
	}
	now := r.cfg.Clock.Now()
	if !d.healthy(now) || now.Sub(dj.since) > maxDirectWait {
		return r.deferJob(d, dj.job)
	}
	return r.attemptDirect(ctx, d, dj.job, now)
}

// deferJob stores a job of d's target for its first attempt, counted as
// deferred.
func (r *Runner) deferJob(d *direct, job *Job) error {
	d.tm.deferred.Inc()
	return r.storeJob(job)
}

// storeJob stores a job in the queue for its (next) attempt.
func (r *Runner) storeJob(job *Job) error {
	ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
	defer cancel()
	return r.q.Enqueue(ctx, job)
}

// takeDirectBatch is takeDirect for jobs of one target taken together, each
// settled on its own; those attempted are attempted together.
func (r *Runner) takeDirectBatch(ctx context.Context, d *direct, djs []directJob) {
	if r.directStop.Load() {
		for _, dj := range djs {
			dj.s.Settled(ErrDirectStopped)
		}
		return
	}
	now := r.cfg.Clock.Now()
	healthy := d.healthy(now)
	jobs := make([]*Job, 0, len(djs))
	settlers := make([]Settler, 0, len(djs))
	for _, dj := range djs {
		if !healthy || now.Sub(dj.since) > maxDirectWait {
			dj.s.Settled(r.deferJob(d, dj.job))
			continue
		}
		dj.job.Attempt = 1
		jobs, settlers = append(jobs, dj.job), append(settlers, dj.s)
	}
	if len(jobs) == 0 {
		return
	}
	d.tm.attempts.Add(float64(len(jobs)))
	r.beginDirect(d, now)
	errs := make([]error, len(jobs))
	ictx, cancel := context.WithTimeout(ctx, r.cfg.InvokeTimeout)
	r.batcher.InvokeBatch(ictx, jobs, errs)
	cancel()
	end := r.endDirect(d)
	for i, job := range jobs {
		settlers[i].Settled(r.afterDirect(d, job, now, end, errs[i]))
	}
}

// beginDirect and endDirect frame direct attempts to d's target (see
// direct.running); endDirect returns the time they ended.
func (r *Runner) beginDirect(d *direct, start time.Time) {
	if d.running.Add(1) == 1 {
		d.progress.Store(start.UnixNano())
	}
}

func (r *Runner) endDirect(d *direct) time.Time {
	now := r.cfg.Clock.Now()
	d.progress.Store(now.UnixNano())
	d.running.Add(-1)
	return now
}

func (r *Runner) attemptDirect(ctx context.Context, d *direct, job *Job, start time.Time) error {
	job.Attempt = 1
	d.tm.attempts.Inc()
	r.beginDirect(d, start)
	ictx, cancel := context.WithTimeout(ctx, r.cfg.InvokeTimeout)
	err := r.cfg.Invoker.Invoke(ictx, job)
	cancel()
	return r.afterDirect(d, job, start, r.endDirect(d), err)
}

// afterDirect settles job after its direct attempt, begun at start and
// ended at now, ended with err: delivered; or stored for its retry,
// dead-lettered or dropped, as its failure calls for.
func (r *Runner) afterDirect(d *direct, job *Job, start, now time.Time, err error) error {
	if err == nil {
		r.delivered(d.tm, job, now)
		if now.Sub(start) > slowDirect {
			d.failed(now, r.cfg.BackoffBase, min(r.cfg.BackoffMax, maxDirectPause))
		} else {
			d.succeeded()
		}
		return nil
	}
	if r.invCtx.Err() != nil {
		return ErrDirectStopped
	}
	v := r.judge(job, err, now)
	if !v.retry {
		return r.fail(d.tm, d.log, job, err, v.code, v.exhausted)
	}
	d.failed(now, r.cfg.BackoffBase, min(r.cfg.BackoffMax, maxDirectPause))
	r.report(job, OutcomeRetrying, v.code, err)
	d.log.Info("delivery: attempt failed; will retry", "event_id", job.EventID, "target_arn", job.TargetARN,
		"attempt", job.Attempt, "retry_in", v.delay, "error_code", v.code, "err", err)
	job.PriorAttempts = job.Attempt
	job.RetryAt = now.Add(v.delay)
	return r.storeJob(job)
}
