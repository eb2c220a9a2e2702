package inbound

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor/conveyor/internal/event"
)

// checkStored fails unless every event is a valid envelope with a source
// and detail-type and the id it was reported with.
func checkStored(t *testing.T, body []byte, events []stored) {
	t.Helper()
	for _, ev := range events {
		if !json.Valid(ev.data) {
			t.Fatalf("body %q made invalid JSON %q", body, ev.data)
		}
		e, err := event.Parse(ev.data)
		if err != nil || e.ID != ev.id || e.Source == "" || e.DetailType == "" || !event.ValidDetail(string(e.Detail)) {
			t.Fatalf("body %q made event %q (%v)", body, ev.data, err)
		}
		if len(ev.data) > MaxEventSize {
			t.Fatalf("body %q made an event of %d bytes", body, len(ev.data))
		}
	}
}

// FuzzEvents: any body is either refused with a ValidationException or
// becomes one valid event.
func FuzzEvents(f *testing.F) {
	f.Add([]byte(`{"source":"s","detail-type":"t","detail":{"a":[1,{"b":null}]},"time":"2026-01-02T03:04:05Z","resources":["r"]}`))
	f.Add([]byte(`{"source":"aws.ec2","detail-type":"x","id":"","account":"1","region":"r","detail":null}`))
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, _, aerr := h.events("default", body)
		if aerr != nil {
			if events != nil || (aerr.Code != "ValidationException" && aerr.Code != errTooLarge.Code) || aerr.Message == "" {
				t.Fatalf("body %q: %d events, error %+v", body, len(events), aerr)
			}
			return
		}
		if len(events) != 1 {
			t.Fatalf("body %q: %d events", body, len(events))
		}
		checkStored(t, body, events)
	})
}

// FuzzS3Events: any body is refused with a ValidationException, or each
// record becomes a valid aws.s3 event or is ignored.
func FuzzS3Events(f *testing.F) {
	files, _ := filepath.Glob("testdata/s3/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, ignored, aerr := h.s3Events("default", body)
		if aerr != nil {
			if events != nil || (aerr.Code != "ValidationException" && aerr.Code != errTooLarge.Code) || aerr.Message == "" {
				t.Fatalf("body %q: %d events, error %+v", body, len(events), aerr)
			}
			return
		}
		if ignored < 0 {
			t.Fatalf("ignored %d", ignored)
		}
		checkStored(t, body, events)
		for _, ev := range events {
			e, _ := event.Parse(ev.data)
			if e.Source != "aws.s3" || len(e.Resources) != 1 {
				t.Fatalf("body %q made %q", body, ev.data)
			}
		}
	})
}
