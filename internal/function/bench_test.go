package function_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/conveyor/conveyor/internal/function"
)

// BenchmarkLocalInvoke measures one run of a local function that reads its
// event and exits: the cost of starting a process per event.
func BenchmarkLocalInvoke(b *testing.B) {
	f, err := function.New(function.Config{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Functions: []function.Spec{{Name: "cat", Command: []string{"/bin/cat"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	j := job("cat", `{"version":"0","id":"1","detail-type":"t","source":"s","account":"000000000000","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"a":1}}`)
	ctx := context.Background()
	for b.Loop() {
		if err := f.Invoke(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
}
