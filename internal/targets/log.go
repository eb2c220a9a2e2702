package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/conveyor/conveyor/internal/delivery"
)

// Log writes each event as one JSON line: to standard output or error, or
// appended to a file per CloudWatch Logs group under a directory.
type Log struct {
	stdout, stderr io.Writer
	dir            string

	mu      sync.Mutex // guards files, and serializes writes to stdout/stderr
	files   map[string]*lockedFile
	closed  bool
	stdoutM sync.Mutex
	stderrM sync.Mutex
}

type lockedFile struct {
	mu sync.Mutex
	f  *os.File
}

// NewLog returns the log adapter. stdout and stderr receive the lines of
// StdoutARN and StderrARN targets (nil discards); dir holds the log-group
// files ("" refuses log-group targets).
func NewLog(stdout, stderr io.Writer, dir string) *Log {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return &Log{stdout: stdout, stderr: stderr, dir: dir, files: map[string]*lockedFile{}}
}

// Line returns payload as one JSON line: compacted when it is JSON, as a
// JSON string otherwise (an Input template may produce plain text).
func Line(payload []byte) []byte {
	var b bytes.Buffer
	if json.Valid(payload) {
		_ = json.Compact(&b, payload)
	} else {
		s, _ := json.Marshal(string(payload))
		b.Write(s)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Invoke writes the job's payload as one line to the target's log.
func (l *Log) Invoke(_ context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "%v", err)
	}
	line := Line(job.Payload)
	switch a.Kind {
	case KindStdout:
		return write(&l.stdoutM, l.stdout, line)
	case KindStderr:
		return write(&l.stderrM, l.stderr, line)
	case KindLogGroup:
		f, err := l.file(a.Name)
		if err != nil {
			return err
		}
		return write(&f.mu, f.f, line)
	}
	return delivery.Errorf(delivery.CodeInvalidParameter, false, "target %s is not a log target", job.TargetARN)
}

func write(mu *sync.Mutex, w io.Writer, line []byte) error {
	mu.Lock()
	defer mu.Unlock()
	if _, err := w.Write(line); err != nil {
		return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Err: err, Message: fmt.Sprintf("write log line: %v", err)}
	}
	return nil
}

// Path is the file the lines of log group name go to.
func (l *Log) Path(name string) string {
	return filepath.Join(l.dir, filepath.FromSlash(strings.Trim(name, "/"))) + ".log"
}

func (l *Log) file(name string) (*lockedFile, error) {
	if l.dir == "" {
		return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "log group targets are not configured (no log directory)")
	}
	if err := checkLogGroup(name); err != nil {
		return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "%v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, delivery.Errorf(delivery.CodeClientError, true, "log adapter closed")
	}
	if f, ok := l.files[name]; ok {
		return f, nil
	}
	path := l.Path(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, &delivery.Error{Code: delivery.CodeClientError, Retry: true, Err: err, Message: fmt.Sprintf("log group %s: %v", name, err)}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &delivery.Error{Code: delivery.CodeClientError, Retry: true, Err: err, Message: fmt.Sprintf("log group %s: %v", name, err)}
	}
	lf := &lockedFile{f: f}
	l.files[name] = lf
	return lf, nil
}

// Close closes the log-group files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var errs []error
	for name, f := range l.files {
		f.mu.Lock()
		errs = append(errs, f.f.Close())
		f.mu.Unlock()
		delete(l.files, name)
	}
	return errors.Join(errs...)
}
