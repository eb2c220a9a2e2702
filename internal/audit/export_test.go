package audit

import (
	"fmt"
	"testing"

	"github.com/conveyor/conveyor/internal/waitfor"
)

// HoldIntents makes the journal's intents wait as if a batch were being
// stored; release waits until n calls wait, then lets them go, the first
// leading: their intents are stored as one message.
func (j *Journal) HoldIntents() (release func(t testing.TB, n int)) {
	j.wmu.Lock()
	j.leading = true
	j.wmu.Unlock()
	return func(t testing.TB, n int) {
		t.Helper()
		waitfor.True(t, fmt.Sprintf("%d intents waiting", n), func() bool {
			j.wmu.Lock()
			defer j.wmu.Unlock()
			return len(j.pending) >= n
		})
		j.wmu.Lock()
		j.pending[0].done <- intentStored{lead: true}
		j.wmu.Unlock()
	}
}
