package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor/conveyor/internal/delivery"
)

func TestLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1,
  "b": [1, 2]}`, `{"a":1,"b":[1,2]}`},
		{`"already a string"`, `"already a string"`},
		{"plain text\nwith a newline", `"plain text\nwith a newline"`},
		{``, `""`},
	}
	for _, c := range cases {
		if got := string(Line([]byte(c.in))); got != c.want+"\n" {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want+"\n")
		}
	}
}

// syncBuffer is a bytes.Buffer that fails the test if written concurrently.
type syncBuffer struct {
	busy sync.Mutex
	buf  bytes.Buffer
	t    *testing.T
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	if !b.busy.TryLock() {
		b.t.Error("concurrent write")
		return 0, errors.New("concurrent")
	}
	defer b.busy.Unlock()
	return b.buf.Write(p)
}

func TestLogTargets(t *testing.T) {
	dir := t.TempDir()
	out := &syncBuffer{t: t}
	l := NewLog(out, nil, dir)
	defer l.Close()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, arn := range []string{StdoutARN, "arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/orders:*"} {
				if err := l.Invoke(context.Background(), &delivery.Job{TargetARN: arn, Payload: fmt.Appendf(nil, `{"n": %d}`, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	file, err := os.ReadFile(filepath.Join(dir, "aws", "events", "orders.log"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"stdout": out.buf.String(), "file": string(file)} {
		lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
		if len(lines) != n {
			t.Errorf("%s: %d lines, want %d", name, len(lines), n)
		}
		for _, line := range lines {
			var i int
			if _, err := fmt.Sscanf(line, `{"n":%d}`, &i); err != nil {
				t.Errorf("%s: line %q: %v", name, line, err)
			}
		}
	}
}

func TestLogErrors(t *testing.T) {
	l := NewLog(nil, nil, "")
	err := l.Invoke(context.Background(), &delivery.Job{TargetARN: "arn:aws:logs:us-east-1:000000000000:log-group:g", Payload: []byte("{}")})
	var e *delivery.Error
	if !errors.As(err, &e) || e.Code != delivery.CodeInvalidParameter || e.Retry {
		t.Errorf("log group without a directory: %v", err)
	}
	if err := l.Invoke(context.Background(), &delivery.Job{TargetARN: StdoutARN, Payload: []byte("{}")}); err != nil {
		t.Errorf("stdout target with a nil writer: %v", err)
	}
}
