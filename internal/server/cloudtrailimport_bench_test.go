package server_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/ctlogs"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// processCPU is the process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dirSize is the bytes of the files under dir whose path contains part
// and does not end in skip.
func dirSize(b *testing.B, dir, part, skip string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, part) || skip != "" && strings.HasSuffix(p, skip) {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkImport imports CloudTrail log files of 10,000 records each (eight
// files an iteration, new ones each time), one file at a time, and reports
// records/s, the bytes a record takes in the audit stream and in the
// event-history index (stream-B/rec, index-B/rec: the files on disk
// divided by the records imported; indexdb-B/rec without the index's
// write-ahead log), and the records' own size (json-B/rec).
func BenchmarkImport(b *testing.B) { benchImport(b, 1) }

// BenchmarkImportTwoAtOnce is BenchmarkImport with two files imported at
// once, as `conveyor cloudtrail import` posts them by default: while one
// import waits for the index to take its last records, the other's are
// read and stored.
func BenchmarkImportTwoAtOnce(b *testing.B) { benchImport(b, 2) }

// benchImport imports eight files an iteration, inflight at once; the
// files are made with the clock stopped, before each iteration's imports.
func benchImport(b *testing.B, inflight int) {
	const perFile = 10_000
	in := servertest.Start(b)
	r := rand.New(rand.NewPCG(16, 16))
	start := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	files := make(chan []byte)
	var wg, pending sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			for body := range files {
				req := httptest.NewRequest(http.MethodPost, server.ImportPath, bytes.NewReader(body))
				req.RemoteAddr = "127.0.0.1:5000"
				w := httptest.NewRecorder()
				in.Server.Handler().ServeHTTP(w, req)
				var res server.ImportResult
				if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK {
					b.Errorf("answer %d %s", w.Code, w.Body)
				} else if res.Imported != perFile || res.SkippedCount != 0 {
					b.Errorf("imported %d of %d, %d skipped: %+v", res.Imported, perFile, res.SkippedCount, res.Skipped)
				}
				pending.Done()
			}
		})
	}
	var jsonBytes, records int64
	var cpu time.Duration
	f := 0
	made := make([][]byte, 8)
	for b.Loop() {
		b.StopTimer()
		for j := range made {
			made[j] = ctlogs.File(r, f, perFile, start.Add(time.Duration(f)*5*time.Minute))
			f++
		}
		b.StartTimer()
		cpu0 := processCPU()
		for _, body := range made {
			pending.Add(1)
			files <- body
			records += perFile
			jsonBytes += int64(len(body))
		}
		pending.Wait()
		cpu += processCPU() - cpu0
	}
	close(files)
	wg.Wait()
	if b.Failed() {
		return
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(jsonBytes)/float64(records), "json-B/rec")
	// The process's CPU time an imported record costs (the importer,
	// JetStream, the index): steadier than records/s on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-µs/rec")
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, string(filepath.Separator)+"AUDIT"+string(filepath.Separator), ""))/float64(records), "stream-B/rec")
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, "cloudtrail-index.db", ""))/float64(records), "index-B/rec")
	// The index's write-ahead log is bounded (wal_autocheckpoint) and
	// emptied into the database now and then: the database alone is what
	// a record costs in the long run.
	b.ReportMetric(float64(dirSize(b, in.Config.DataDir, "cloudtrail-index.db", "-wal"))/float64(records), "indexdb-B/rec")
}
