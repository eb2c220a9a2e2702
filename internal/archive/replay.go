package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/paging"
	"github.com/conveyor/conveyor/internal/scope"
)

// ---- StartReplay ----

// DestinationInput is AWS's ReplayDestination in requests.
type DestinationInput struct {
	Arn        *string  `json:"Arn"`
	FilterArns []string `json:"FilterArns"`
}

// StartReplayInput is AWS's StartReplayRequest.
type StartReplayInput struct {
	ReplayName     *string           `json:"ReplayName"`
	Description    *string           `json:"Description"`
	EventSourceArn *string           `json:"EventSourceArn"`
	EventStartTime *awsapi.Timestamp `json:"EventStartTime"`
	EventEndTime   *awsapi.Timestamp `json:"EventEndTime"`
	Destination    *DestinationInput `json:"Destination"`
}

// StartReplayOutput is AWS's StartReplayResponse.
type StartReplayOutput struct {
	ReplayArn       string           `json:"ReplayArn"`
	State           string           `json:"State"`
	StateReason     string           `json:"StateReason,omitempty"`
	ReplayStartTime awsapi.Timestamp `json:"ReplayStartTime"`
}

// StartReplay records a replay in state STARTING; a replay worker runs it.
func (s *Service) StartReplay(ctx context.Context, in *StartReplayInput) (*StartReplayOutput, error) {
	if err := s.model.Validate("StartReplay", in); err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	cat := s.cfg.Catalog.In(sc)
	asc, archiveName, ok := archiveOfARN(*in.EventSourceArn)
	if !ok || asc != sc {
		return nil, errInvalidParameter("EventSourceArn")
	}
	a, err := s.findArchive(ctx, sc, archiveName)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errReplayArchiveNotFound(archiveName)
	}
	start, end := in.EventStartTime.Time.UTC(), in.EventEndTime.Time.UTC()
	if !start.Before(end) {
		return nil, errTimeOrder()
	}
	// A destination bus that does not exist is not found; one that exists
	// but is not the archive's is refused.
	bus, ok, err := s.busOfARN(ctx, sc, *in.Destination.Arn)
	if ok && err != nil {
		return nil, err
	}
	if !ok || bus != a.Bus {
		return nil, errCrossBusReplay()
	}
	for _, f := range in.Destination.FilterArns {
		ref, ok := cat.ParseResourceARN(f)
		if !ok || ref.Kind != catalog.KindRule || ref.Bus != bus {
			return nil, errFilterNotOnBus(f, bus)
		}
		if _, err := cat.Rule(ctx, bus, ref.Name); errors.Is(err, catalog.ErrNotFound) {
			return nil, errRuleNotFound(ref.Name, bus)
		} else if err != nil {
			return nil, internal("StartReplay", err)
		}
	}
	if n, err := s.active(ctx, sc); err != nil {
		return nil, err
	} else if n >= s.cfg.ReplayLimit {
		return nil, errTooManyReplays()
	}
	r := &Replay{
		Name:            *in.ReplayName,
		ARN:             ReplayARN(sc, *in.ReplayName),
		Description:     deref(in.Description),
		State:           ReplayStarting,
		EventSourceArn:  a.ARN,
		Archive:         s.key(sc, a.Name),
		Bus:             s.cfg.Catalog.BusID(sc, bus),
		Destination:     Destination{Arn: cat.BusARN(bus), FilterArns: in.Destination.FilterArns},
		EventStartTime:  start,
		EventEndTime:    end,
		ReplayStartTime: s.now(),
	}
	_, err = mutate(ctx, s.recs, replayKey(s.key(sc, r.Name)), func(cur *Replay) (*Replay, error) {
		if cur != nil {
			return nil, errReplayExists(r.Name)
		}
		return r, nil
	})
	if err != nil {
		return nil, internal("StartReplay", err)
	}
	return &StartReplayOutput{ReplayArn: r.ARN, State: r.State, ReplayStartTime: awsapi.NewTimestamp(r.ReplayStartTime)}, nil
}

// active counts the replays of scope sc that are STARTING or RUNNING (the
// ones AWS's limit of concurrent replays counts). Two StartReplay calls at
// the same moment may both see one place left.
func (s *Service) active(ctx context.Context, sc scope.Scope) (int, error) {
	all, err := list(ctx, s.recs, "replay", func(r *Replay) string { return r.Name })
	if err != nil {
		return 0, internal("StartReplay", err)
	}
	n := 0
	for _, r := range all {
		if (r.State == ReplayStarting || r.State == ReplayRunning) && inScope(r.ARN, sc) {
			n++
		}
	}
	return n, nil
}

// ---- DescribeReplay ----

// DescribeReplayInput is AWS's DescribeReplayRequest.
type DescribeReplayInput struct {
	ReplayName *string `json:"ReplayName"`
}

// DescribeReplayOutput is AWS's DescribeReplayResponse.
type DescribeReplayOutput struct {
	ReplayName            string            `json:"ReplayName"`
	ReplayArn             string            `json:"ReplayArn"`
	Description           string            `json:"Description,omitempty"`
	State                 string            `json:"State"`
	StateReason           string            `json:"StateReason,omitempty"`
	EventSourceArn        string            `json:"EventSourceArn"`
	Destination           Destination       `json:"Destination"`
	EventStartTime        awsapi.Timestamp  `json:"EventStartTime"`
	EventEndTime          awsapi.Timestamp  `json:"EventEndTime"`
	EventLastReplayedTime *awsapi.Timestamp `json:"EventLastReplayedTime,omitempty"`
	ReplayStartTime       awsapi.Timestamp  `json:"ReplayStartTime"`
	ReplayEndTime         *awsapi.Timestamp `json:"ReplayEndTime,omitempty"`
}

func optTime(t time.Time) *awsapi.Timestamp {
	if t.IsZero() {
		return nil
	}
	return awsapi.TimestampPtr(t)
}

// DescribeReplay describes a replay and its progress.
func (s *Service) DescribeReplay(ctx context.Context, in *DescribeReplayInput) (*DescribeReplayOutput, error) {
	if err := s.model.Validate("DescribeReplay", in); err != nil {
		return nil, err
	}
	r := new(Replay)
	rev, err := s.recs.get(ctx, replayKey(s.key(s.scopeOf(ctx), *in.ReplayName)), r)
	if err != nil {
		return nil, internal("DescribeReplay", err)
	}
	if rev == 0 {
		return nil, errReplayNotFound(*in.ReplayName)
	}
	return &DescribeReplayOutput{ReplayName: r.Name, ReplayArn: r.ARN, Description: r.Description, State: r.State,
		StateReason: r.StateReason, EventSourceArn: r.EventSourceArn, Destination: r.Destination,
		EventStartTime: awsapi.NewTimestamp(r.EventStartTime), EventEndTime: awsapi.NewTimestamp(r.EventEndTime),
		EventLastReplayedTime: optTime(r.EventLastReplayedTime), ReplayStartTime: awsapi.NewTimestamp(r.ReplayStartTime),
		ReplayEndTime: optTime(r.ReplayEndTime)}, nil
}

// ---- ListReplays ----

// ListReplaysInput is AWS's ListReplaysRequest.
type ListReplaysInput struct {
	NamePrefix     *string `json:"NamePrefix"`
	State          *string `json:"State"`
	EventSourceArn *string `json:"EventSourceArn"`
	NextToken      *string `json:"NextToken"`
	Limit          *int    `json:"Limit"`
}

// ReplayItem is AWS's Replay shape (an item of ListReplays).
type ReplayItem struct {
	ReplayName            string            `json:"ReplayName"`
	EventSourceArn        string            `json:"EventSourceArn"`
	State                 string            `json:"State"`
	StateReason           string            `json:"StateReason,omitempty"`
	EventStartTime        awsapi.Timestamp  `json:"EventStartTime"`
	EventEndTime          awsapi.Timestamp  `json:"EventEndTime"`
	EventLastReplayedTime *awsapi.Timestamp `json:"EventLastReplayedTime,omitempty"`
	ReplayStartTime       awsapi.Timestamp  `json:"ReplayStartTime"`
	ReplayEndTime         *awsapi.Timestamp `json:"ReplayEndTime,omitempty"`
}

// ListReplaysOutput is AWS's ListReplaysResponse.
type ListReplaysOutput struct {
	Replays   []ReplayItem `json:"Replays"`
	NextToken *string      `json:"NextToken,omitempty"`
}

// ListReplays lists replays by name, filtered by name prefix, state and
// archive.
func (s *Service) ListReplays(ctx context.Context, in *ListReplaysInput) (*ListReplaysOutput, error) {
	if err := s.model.Validate("ListReplays", in); err != nil {
		return nil, err
	}
	if err := oneFilter("ListReplays", in.NamePrefix, in.EventSourceArn, in.State); err != nil {
		return nil, err
	}
	query := paging.Query("ListReplays", deref(in.NamePrefix), deref(in.EventSourceArn), deref(in.State))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	all, err := list(ctx, s.recs, "replay", func(r *Replay) string { return r.Name })
	if err != nil {
		return nil, internal("ListReplays", err)
	}
	sc := s.scopeOf(ctx)
	var keep []*Replay
	for _, r := range all {
		if inScope(r.ARN, sc) && strings.HasPrefix(r.Name, deref(in.NamePrefix)) && (in.EventSourceArn == nil || *in.EventSourceArn == r.EventSourceArn) &&
			(in.State == nil || *in.State == r.State) && r.Name > after {
			keep = append(keep, r)
		}
	}
	pg, next := paging.Page(keep, func(r *Replay) string { return r.Name }, in.Limit, query, after)
	out := &ListReplaysOutput{Replays: make([]ReplayItem, 0, len(pg)), NextToken: next}
	for _, r := range pg {
		out.Replays = append(out.Replays, ReplayItem{ReplayName: r.Name, EventSourceArn: r.EventSourceArn, State: r.State,
			StateReason: r.StateReason, EventStartTime: awsapi.NewTimestamp(r.EventStartTime), EventEndTime: awsapi.NewTimestamp(r.EventEndTime),
			EventLastReplayedTime: optTime(r.EventLastReplayedTime), ReplayStartTime: awsapi.NewTimestamp(r.ReplayStartTime),
			ReplayEndTime: optTime(r.ReplayEndTime)})
	}
	return out, nil
}

// ---- CancelReplay ----

// CancelReplayInput is AWS's CancelReplayRequest.
type CancelReplayInput struct {
	ReplayName *string `json:"ReplayName"`
}

// CancelReplayOutput is AWS's CancelReplayResponse.
type CancelReplayOutput struct {
	ReplayArn   string `json:"ReplayArn"`
	State       string `json:"State"`
	StateReason string `json:"StateReason,omitempty"`
}

// CancelReplay asks a starting or running replay to stop: it goes to
// CANCELLING, then its worker ends it CANCELLED.
func (s *Service) CancelReplay(ctx context.Context, in *CancelReplayInput) (*CancelReplayOutput, error) {
	if err := s.model.Validate("CancelReplay", in); err != nil {
		return nil, err
	}
	r, err := mutate(ctx, s.recs, replayKey(s.key(s.scopeOf(ctx), *in.ReplayName)), func(cur *Replay) (*Replay, error) {
		switch {
		case cur == nil:
			return nil, errReplayNotFound(*in.ReplayName)
		case cur.State != ReplayStarting && cur.State != ReplayRunning:
			return nil, errNotCancellable(cur.Name, cur.State)
		}
		cur.State = ReplayCancelling
		return cur, nil
	})
	if err != nil {
		return nil, internal("CancelReplay", err)
	}
	return &CancelReplayOutput{ReplayArn: r.ARN, State: r.State}, nil
}

// ---- the replay worker ----

// Start runs this process's replay worker, which hands replayed events to
// router, until Close.
func (s *Service) Start(router Router) error {
	if router == nil {
		return errors.New("archive: Start needs a router")
	}
	s.router = router
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.recs.kv.Watch(ctx, "replay.*", jetstream.IgnoreDeletes())
	if err != nil {
		cancel()
		return fmt.Errorf("archive: watch replays: %w", err)
	}
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Stop() //nolint:errcheck // nothing to do about a failed unsubscribe
		// Replays whose runner stopped renewing its lease are looked for
		// twice per lease.
		tick := time.NewTicker(s.cfg.ReplayLease / 2)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.takeOver(ctx)
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				var r Replay
				if json.Unmarshal(e.Value(), &r) != nil {
					continue
				}
				s.consider(ctx, &r)
			}
		}
	}()
	return nil
}

// consider claims replay r when it waits for a runner or its runner's lease
// has run out, and ends a cancelled replay that nobody runs.
func (s *Service) consider(ctx context.Context, r *Replay) {
	switch {
	case r.State == ReplayStarting || r.State == ReplayRunning && s.stale(r):
		s.claim(ctx, s.recordKey(r.ARN, r.Name))
	case r.State == ReplayCancelling && (r.Runner == "" || s.stale(r)):
		s.finish(ctx, s.recordKey(r.ARN, r.Name), r.Runner, ReplayCancelled, "", time.Time{})
	}
}

func (s *Service) stale(r *Replay) bool {
	return r.Runner != s.id && s.now().Sub(r.Heartbeat) > s.cfg.ReplayLease
}

// takeOver looks for replays whose runner is gone.
func (s *Service) takeOver(ctx context.Context) {
	all, err := list(ctx, s.recs, "replay", func(r *Replay) string { return r.Name })
	if err != nil {
		s.log.Warn("listing replays", "err", err)
		return
	}
	for _, r := range all {
		if r.State == ReplayRunning || r.State == ReplayCancelling {
			s.consider(ctx, r)
		}
	}
}

// Close stops the worker and the lists' view of the bucket; a replay the
// worker was running stays RUNNING (another process, or this one restarted,
// takes it over after the lease).
func (s *Service) Close() {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
		s.cancel = nil
	}
	s.recs.view.Close()
}

// claim makes this process the runner of the replay with key name (see key) (STARTING, or RUNNING
// with a stale lease) and runs it; a process that claimed it first runs it
// instead.
func (s *Service) claim(ctx context.Context, name string) {
	won := false
	r, err := mutate(ctx, s.recs, replayKey(name), func(cur *Replay) (*Replay, error) {
		won = false
		if cur == nil || !(cur.State == ReplayStarting || cur.State == ReplayRunning && s.stale(cur)) {
			return nil, errKeep
		}
		if cur.Runner != "" {
			s.log.Warn("taking over a replay whose runner stopped", "replay", name, "runner", cur.Runner, "heartbeat", cur.Heartbeat)
		}
		cur.State, cur.Runner, cur.Heartbeat = ReplayRunning, s.id, s.now()
		won = true
		return cur, nil
	})
	if err != nil {
		s.log.Error("claiming a replay", "replay", name, "err", err)
		return
	}
	if !won {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(ctx, r)
	}()
}

// finish ends a replay in state if runner still runs it (a cancelled
// replay ends CANCELLED whatever state is asked).
func (s *Service) finish(ctx context.Context, name, runner, state, reason string, last time.Time) {
	_, err := mutate(ctx, s.recs, replayKey(name), func(cur *Replay) (*Replay, error) {
		if cur == nil || cur.Finished() || cur.Runner != runner {
			return nil, errKeep
		}
		if cur.State == ReplayCancelling {
			state, reason = ReplayCancelled, ""
		}
		cur.State, cur.StateReason = state, reason
		if last.After(cur.EventLastReplayedTime) {
			cur.EventLastReplayedTime = last
		}
		cur.ReplayEndTime = s.now()
		return cur, nil
	})
	if err != nil {
		s.log.Error("ending a replay", "replay", name, "state", state, "err", err)
	}
}

var (
	errCancelled = errors.New("archive: replay cancelled")
	errLost      = errors.New("archive: replay taken over by another runner")
)

// progress renews the lease and records how far the replay got; it
// returns errCancelled when the replay was cancelled and errLost when
// another process took it over.
func (s *Service) progress(ctx context.Context, r *Replay) error {
	var stop error
	_, err := mutate(ctx, s.recs, replayKey(s.recordKey(r.ARN, r.Name)), func(cur *Replay) (*Replay, error) {
		stop = nil
		switch {
		case cur == nil || cur.Runner != s.id:
			stop = errLost
			return nil, errKeep
		case cur.State == ReplayCancelling:
			stop = errCancelled
			return nil, errKeep
		}
		cur.Heartbeat, cur.Position, cur.EndSeq = s.now(), r.Position, r.EndSeq
		if r.EventLastReplayedTime.After(cur.EventLastReplayedTime) {
			cur.EventLastReplayedTime = r.EventLastReplayedTime
		}
		return cur, nil
	})
	if err != nil {
		return err
	}
	return stop
}

// run replays r and records how it ended.
func (s *Service) run(ctx context.Context, r *Replay) {
	err := s.replay(ctx, r)
	switch {
	case ctx.Err() != nil, errors.Is(err, errLost):
		return // shutting down, or someone else runs it now
	case errors.Is(err, errCancelled):
		s.finish(ctx, s.recordKey(r.ARN, r.Name), s.id, ReplayCancelled, "", r.EventLastReplayedTime)
	case err != nil:
		s.log.Error("replay failed", "replay", r.ARN, "archive", r.EventSourceArn, "err", err)
		s.finish(ctx, s.recordKey(r.ARN, r.Name), s.id, ReplayFailed, err.Error(), r.EventLastReplayedTime)
	default:
		s.finish(ctx, s.recordKey(r.ARN, r.Name), s.id, ReplayCompleted, "", r.EventLastReplayedTime)
	}
}

// waitForEnd holds replay r, RUNNING, until its EventEndTime has passed
// (AWS takes an EventEndTime in the future), so that the events its window
// still gets are archived before it reads the archive. It renews the lease
// meanwhile and returns errCancelled as soon as the replay is cancelled.
func (s *Service) waitForEnd(ctx context.Context, r *Replay) error {
	for {
		left := r.EventEndTime.Sub(s.now())
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(min(left, time.Second)):
		}
		if err := s.progress(ctx, r); err != nil {
			return err
		}
	}
}

// replay hands the router the archive's events, from r.Position on up to
// r.EndSeq (the last one stored when the replay began), whose time is in
// [EventStartTime, EventEndTime), in the order they were archived.
func (s *Service) replay(ctx context.Context, r *Replay) error {
	var rules []string
	for _, f := range r.Destination.FilterArns {
		if _, ref, ok := catalog.ParseResourceARN(f); ok {
			rules = append(rules, ref.Name)
		}
	}
	st, err := s.js.Stream(ctx, StreamName(r.Archive))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, name, _ := archiveOfARN(r.EventSourceArn)
		//lint:ignore ST1005 AWS's sentence, shown as the replay's StateReason
		return fmt.Errorf("Archive %s does not exist.", name)
	}
	if err != nil {
		return err
	}
	if r.EndSeq == 0 {
		if err := s.waitForEnd(ctx, r); err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs == 0 {
			return nil
		}
		r.EndSeq = info.State.LastSeq
	}
	if r.Position >= r.EndSeq {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if r.Position > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: r.Position + 1}
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	// The stream's messages before first are gone (its retention): a fetch
	// asks for no more than are left up to EndSeq, so that the last one
	// ends when they came instead of waiting out its second.
	first := st.CachedInfo().State.FirstSeq
	batch := make([][]byte, 0, s.cfg.ReplayBatch)
	for {
		from := max(r.Position, first-min(first, 1))
		if from >= r.EndSeq {
			return nil
		}
		want := int(min(uint64(s.cfg.ReplayBatch), r.EndSeq-from))
		msgs, err := cons.Fetch(want, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		n, done := 0, false
		var pos uint64
		var batchLast time.Time
		for m := range msgs.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			seq := md.Sequence.Stream
			if seq > r.EndSeq {
				done = true
				continue
			}
			pos = seq
			if seq == r.EndSeq {
				done = true
			}
			e, err := event.Parse(m.Data())
			if err != nil || e.Time.Before(r.EventStartTime) || !e.Time.Before(r.EventEndTime) || e.ReplayName != "" {
				continue
			}
			e.ReplayName = r.Name
			batch = append(batch, e.AppendJSON(make([]byte, 0, e.Size())))
			if e.Time.After(batchLast) {
				batchLast = e.Time
			}
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if s.cfg.ReplayPause > 0 { // tests slow replays down to cancel them
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(s.cfg.ReplayPause):
			}
		}
		// Stop before routing the batch if the replay was cancelled.
		if err := s.progress(ctx, r); err != nil {
			return err
		}
		if len(batch) > 0 {
			if _, err := s.router.RouteReplayed(ctx, r.Bus, batch, rules); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if pos > 0 {
			r.Position = pos
		}
		if batchLast.After(r.EventLastReplayedTime) {
			r.EventLastReplayedTime = batchLast
		}
		if err := s.progress(ctx, r); err != nil {
			return err
		}
		if done || n == 0 {
			return nil
		}
	}
}
