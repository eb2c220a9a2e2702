package catalog_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store/storetest"
)

// openJetStream returns the JetStream of a throwaway embedded store.
func openJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return storetest.Open(t).JetStream()
}
