package audit_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/cpuparts"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// The call-path benchmarks report, besides ns/op (which includes waiting
// for JetStream), the CPU time of the calling goroutine's thread
// (path-cpu-ns/op: what the call's path computes) and of the whole process
// (cpu-ns/op: also JetStream storing the intent and the record, the index
// applying the record, the journal deleting the intent).

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

func cpuNanos(who int) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchAudit is an audit trail on a store of its own, closed when b ends.
func benchAudit(b *testing.B) *audit.Audit {
	st := storetest.Open(b)
	a, err := audit.New(b.Context(), audit.Options{Config: cfg, Store: st,
		IndexPath: filepath.Join(b.TempDir(), "index.db"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// benchCallPath runs the audit trail's part of call c (the intent check
// before the handler, the commit after it) b.N times; answer gives the
// call its outcome in between, as the handler and the server do.
func benchCallPath(b *testing.B, c *awsapi.Call, answer func(*awsapi.Call)) {
	a := benchAudit(b)
	ctx := context.Background()
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	thread, process := cpuNanos(rusageThread), cpuNanos(syscall.RUSAGE_SELF)
	ids := make([]string, 0, 1<<16)
	for i := range cap(ids) {
		ids = append(ids, fmt.Sprintf("8c2fd9a6-6f4e-4b1c-9d3a-%012x", i))
	}
	for i := 0; b.Loop(); i++ {
		// Each call its own: its record is stored, not deduplicated.
		c.Caller.RequestID = ids[i%len(ids)]
		c.Output, c.Response = nil, nil
		if err := a.Journal().Intend(ctx, c); err != nil {
			b.Fatal(err)
		}
		answer(c)
		a.Recorder().Commit(ctx, c)
	}
	b.ReportMetric(float64(cpuNanos(rusageThread)-thread)/float64(b.N), "path-cpu-ns/op")
	b.ReportMetric(float64(cpuNanos(syscall.RUSAGE_SELF)-process)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPutEventsCallPath is what the audit trail costs a PutEvents call
// with data events off (the default).
func BenchmarkPutEventsCallPath(b *testing.B) {
	benchCallPath(b, &awsapi.Call{Service: "events", Operation: "PutEvents", Request: []byte(`{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`),
		Caller: awsapi.Caller{AccessKeyID: "AKID", RequestID: "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d"},
		Start:  time.Now()}, func(c *awsapi.Call) { c.Output, c.Response = putEventsOutput, putEventsAnswer })
}

var (
	putEventsOutput = map[string]any{"Entries": []map[string]string{{"EventId": "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d"}}, "FailedEntryCount": 0}
	putEventsAnswer = []byte(`{"Entries":[{"EventId":"8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d"}],"FailedEntryCount":0}`)
	putRuleOutput   = map[string]any{"RuleArn": "arn:aws:events:us-east-1:123456789012:rule/orders"}
	putRuleAnswer   = []byte(`{"RuleArn":"arn:aws:events:us-east-1:123456789012:rule/orders"}`)
)

// BenchmarkPutRuleCallPath is what the audit trail costs a management call
// that changes something: its intent is stored before it runs, and its
// record after (each a JetStream round trip), before it answers.
func BenchmarkPutRuleCallPath(b *testing.B) {
	benchCallPath(b, putRuleCall(), answerPutRule)
}

// callProfile is where BenchmarkPutRuleCallPathParallel writes its CPU
// profile, whose samples of the calls' goroutines carry the label
// part=call (go tool pprof -tagfocus=part=call).
var callProfile = flag.String("callprofile", "", "write BenchmarkPutRuleCallPathParallel's CPU profile to this file")

// BenchmarkPutRuleCallPathParallel runs PutRule's audit path on eight
// goroutines at once, as a server with several clients does, and reports
// the CPU time the calls' own goroutines take (goroutine-cpu-ns/op: the
// samples of a CPU profile labelled with them, per call). That is what the
// call's path computes for the audit trail, publishing included, without
// the time its thread spends asleep while the goroutine waits for
// JetStream: a waiting goroutine gives its thread to others, where
// BenchmarkPutRuleCallPath's locked thread sleeps and wakes in the kernel
// at each round trip. cpu-ns/op is the whole process, JetStream included.
// The metric needs the benchmark's own CPU profile: under go test
// -cpuprofile it is not reported.
func BenchmarkPutRuleCallPathParallel(b *testing.B) {
	a := benchAudit(b)
	var next atomic.Int64
	// The calls' request IDs, made before (the server makes one for every
	// call, audit trail or not); each call its own, so that its record is
	// stored, not deduplicated.
	ids := make([]string, 1<<18)
	for i := range ids {
		ids[i] = fmt.Sprintf("8c2fd9a6-6f4e-4b1c-9d3a-%012x", i)
	}
	b.ResetTimer()
	var prof bytes.Buffer
	profiling := pprof.StartCPUProfile(&prof) == nil
	process := cpuNanos(syscall.RUSAGE_SELF)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		ctx := pprof.WithLabels(context.Background(), pprof.Labels("part", "call"))
		pprof.SetGoroutineLabels(ctx)
		c := putRuleCall()
		for pb.Next() {
			c.Caller.RequestID = ids[next.Add(1)%int64(len(ids))]
			c.Output, c.Response, c.Intent = nil, nil, nil
			if err := a.Journal().Intend(ctx, c); err != nil {
				b.Error(err)
				return
			}
			answerPutRule(c)
			a.Recorder().Commit(ctx, c)
		}
	})
	b.ReportMetric(float64(cpuNanos(syscall.RUSAGE_SELF)-process)/float64(b.N), "cpu-ns/op")
	if profiling {
		pprof.StopCPUProfile()
		if *callProfile != "" {
			if err := os.WriteFile(*callProfile, prof.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		parts, err := cpuparts.ByLabel(prof.Bytes(), "part")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(parts["call"].Nanoseconds())/float64(b.N), "goroutine-cpu-ns/op")
	}
}

// putRuleCall is the PutRule call the call-path benchmarks record.
func putRuleCall() *awsapi.Call {
	return &awsapi.Call{Service: "events", Operation: "PutRule",
		Request: []byte(`{"Name":"orders","EventPattern":"{\"source\":[\"com.example.orders\"],\"detail-type\":[\"Order Placed\"]}","State":"ENABLED","Description":"Orders"}`),
		Caller:  awsapi.Caller{AccessKeyID: "AKID", RequestID: "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d", SourceIP: "127.0.0.1", UserAgent: "aws-cli/2.15.30"},
		Start:   time.Now()}
}

// answerPutRule gives a PutRule call its handler's output and its answer,
// as the server makes it before the record (see awsapi.Call.Response).
func answerPutRule(c *awsapi.Call) {
	c.Output, c.Response = putRuleOutput, putRuleAnswer
}

// BenchmarkJetStreamRoundTrip is the floor under the call-path benchmarks:
// one bare JetStream publish of a record-sized message, waited for, as the
// call's path does twice (the intent, the record). Its path-cpu-ns/op is
// mostly the locked thread going to sleep and being woken (futex), which
// an ordinary goroutine does not pay for in full.
func BenchmarkJetStreamRoundTrip(b *testing.B) {
	st := storetest.Open(b)
	js := st.JetStream()
	if _, err := js.CreateOrUpdateStream(b.Context(), jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor.>"}}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 700)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	thread := cpuNanos(rusageThread)
	for b.Loop() {
		msg := nats.NewMsg("floor.x")
		msg.Data = data
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNanos(rusageThread)-thread)/float64(b.N), "path-cpu-ns/op")
}
