package function

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// maxLine is the longest output line logged as one record; longer lines are
// cut into pieces of this size.
const maxLine = 64 << 10

// lineLog is an io.Writer that logs what a function writes, one record per
// line, and remembers the last non-empty line (for the error message of a
// failed invocation).
type lineLog struct {
	ctx    context.Context
	log    *slog.Logger
	stream string

	mu   sync.Mutex
	buf  []byte
	last string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLine - len(l.buf)
			if len(p) < room {
				l.buf = append(l.buf, p...)
				break
			}
			l.buf = append(l.buf, p[:room]...)
			p = p[room:]
			l.emit()
			continue
		}
		l.buf = append(l.buf, p[:i]...)
		p = p[i+1:]
		l.emit()
	}
	return n, nil
}

func (l *lineLog) emit() {
	line := strings.TrimRight(string(l.buf), "\r")
	l.buf = l.buf[:0]
	if strings.TrimSpace(line) != "" {
		l.last = line
	}
	l.log.LogAttrs(l.ctx, slog.LevelInfo, "function output", slog.String("stream", l.stream), slog.String("line", line))
}

// flush logs a last line that did not end in a newline, and returns the
// last non-empty line written.
func (l *lineLog) flush() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit()
	}
	return l.last
}
