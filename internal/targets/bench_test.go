package targets

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
)

var benchEvent = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}`)

// BenchmarkHTTPInvoke measures API destination calls to a loopback server
// from 32 concurrent callers (the runner's default in-flight bound).
func BenchmarkHTTPInvoke(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.URL, HTTPMethod: "POST",
		Connection: Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-api-key", APIKeyValue: "k"}}}, nil)
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()
	b.SetParallelism(16)
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		job := &delivery.Job{TargetARN: destARN, Payload: benchEvent}
		for pb.Next() {
			if err := h.Invoke(context.Background(), job); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	// CPU time (client and server, user and system) per request: steadier
	// than ns/op on a machine shared with other work.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
