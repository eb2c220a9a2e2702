package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// The import endpoint answers only the loopback interface and checks its
// input.
func TestImportEndpointGuards(t *testing.T) {
	in := servertest.Start(t)
	tests := []struct {
		remote, query, body string
		status              int
		code                string
	}{
		{"192.0.2.10:5000", "", `{"Records":[]}`, http.StatusForbidden, "AccessDeniedException"},
		{"[2001:db8::1]:5000", "", `{"Records":[]}`, http.StatusForbidden, "AccessDeniedException"},
		{"127.0.0.1:5000", "?toBus=maybe", `{"Records":[]}`, http.StatusBadRequest, "ValidationException"},
		{"127.0.0.1:5000", "", `[]`, http.StatusBadRequest, "ValidationException"},
		{"[::1]:5000", "?toBus=true", `{"Records":[]}`, http.StatusOK, ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, server.ImportPath+tc.query, strings.NewReader(tc.body))
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		in.Server.Handler().ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.code) {
			t.Errorf("%s %s %s: %d %s", tc.remote, tc.query, tc.body, w.Code, w.Body)
		}
	}
}

// filler reads n bytes of 'a' without holding them.
type filler struct{ n int64 }

func (f *filler) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.n)]
	for i := range p {
		p[i] = 'a'
	}
	f.n -= int64(len(p))
	return len(p), nil
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// postImport posts body to the import endpoint (without a Content-Length,
// as the command streams files) and returns the answer and how much of the
// body the server read.
func postImport(t *testing.T, in *servertest.Instance, body io.Reader) (*httptest.ResponseRecorder, int64) {
	t.Helper()
	c := &counter{r: body}
	r := httptest.NewRequest(http.MethodPost, server.ImportPath, c)
	r.ContentLength = -1
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	in.Server.Handler().ServeHTTP(w, r)
	return w, c.n
}

// An oversized record ends the import with RequestEntityTooLargeException
// after about its bound is read: the server does not buffer it whole.
func TestImportRecordTooLarge(t *testing.T) {
	in := servertest.Start(t)
	const size = 32 << 20
	body := io.MultiReader(strings.NewReader(`{"Records":[{"eventID":"`), &filler{n: size}, strings.NewReader(`"}]}`))
	w, read := postImport(t, in, body)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), `"__type":"RequestEntityTooLargeException"`) ||
		!strings.Contains(w.Body.String(), "Record 0 is larger than the limit of 1048576 bytes.") {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	if read > 2<<20 {
		t.Fatalf("the server read %d bytes of a %d-byte record before refusing it", read, size)
	}

	// Any other value of the file is bounded too.
	body = io.MultiReader(strings.NewReader(`{"Other":"`), &filler{n: size}, strings.NewReader(`","Records":[]}`))
	w, read = postImport(t, in, body)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "RequestEntityTooLargeException") || read > 2<<20 {
		t.Fatalf("a large member: answer %d %s after %d bytes", w.Code, w.Body, read)
	}
}

// A file over Config.MaxImportBytes is refused with
// RequestEntityTooLargeException, streamed or announced.
func TestImportBodyTooLarge(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.MaxImportBytes = 64 << 10 })
	records := strings.Repeat(`{"eventID":"x"},`, 8<<10)
	body := `{"Records":[` + records + `{"eventID":"x"}]}`
	w, read := postImport(t, in, strings.NewReader(body))
	want := "Request body is larger than the limit of 65536 bytes."
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "RequestEntityTooLargeException") ||
		!strings.Contains(w.Body.String(), want) || read > 128<<10 {
		t.Fatalf("streamed: answer %d %s after %d bytes", w.Code, w.Body, read)
	}
	r := httptest.NewRequest(http.MethodPost, server.ImportPath, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:5000"
	rec := httptest.NewRecorder()
	in.Server.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("with Content-Length: answer %d %s", rec.Code, rec.Body)
	}
}

// The answer counts every skipped record and describes the first hundred.
func TestImportSkipsBounded(t *testing.T) {
	in := servertest.Start(t)
	body := `{"Records":[` + strings.Repeat(`{"eventID":"x"},`, 149) + `{"eventID":"x"}]}`
	w, _ := postImport(t, in, strings.NewReader(body))
	var res server.ImportResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	if res.SkippedCount != 150 || len(res.Skipped) != 100 || res.Skipped[99].Index != 99 {
		t.Fatalf("SkippedCount %d, %d reasons", res.SkippedCount, len(res.Skipped))
	}
}

// Imports at once of files that share records (as `conveyor cloudtrail
// import` posts two files at a time, and CloudTrail may deliver a record in
// two files) store each record once: one import stores it, the other finds
// it present, whichever comes first; LookupEvents lists it once.
func TestImportsAtOnce(t *testing.T) {
	in := servertest.Start(t)
	ct := cloudtrail.NewFromConfig(in.AWSConfig())
	const rounds, perFile, shared = 6, 600, 300
	now := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for round := range rounds {
		name := fmt.Sprintf("Round%dCall", round)
		// Files a and b share the records a's second half and b's first
		// half: ids perFile-shared … perFile-1.
		file := func(from int) string {
			var b strings.Builder
			b.WriteString(`{"Records":[`)
			for i := from; i < from+perFile; i++ {
				if i > from {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"eventVersion":"1.08","eventTime":%q,"eventSource":"iam.amazonaws.com","eventName":%q,`+
					`"awsRegion":"us-east-1","eventID":"%08d-0000-4000-8000-%012d","eventType":"AwsApiCall","managementEvent":true,`+
					`"readOnly":false,"recipientAccountId":"123456789012"}`,
					now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), name, round, i)
			}
			b.WriteString(`]}`)
			return b.String()
		}
		files := []string{file(0), file(perFile - shared)}
		results := make([]server.ImportResult, len(files))
		var wg sync.WaitGroup
		for i, f := range files {
			wg.Go(func() {
				w, _ := postImport(t, in, strings.NewReader(f))
				if err := json.Unmarshal(w.Body.Bytes(), &results[i]); err != nil || w.Code != http.StatusOK {
					t.Errorf("round %d file %d: answer %d %s", round, i, w.Code, w.Body)
				}
			})
		}
		wg.Wait()
		a, b := results[0], results[1]
		if unique := 2*perFile - shared; a.Imported+b.Imported != unique || a.Present+b.Present != shared {
			t.Errorf("round %d: imported %d+%d, present %d+%d; want %d imported and %d present in all", round,
				a.Imported, b.Imported, a.Present, b.Present, unique, shared)
		}
		ids := map[string]int{}
		var next *string
		for {
			out, err := ct.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{NextToken: next, MaxResults: aws.Int32(50),
				LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				ids[aws.ToString(e.EventId)]++
			}
			if next = out.NextToken; next == nil {
				break
			}
		}
		twice := 0
		for _, n := range ids {
			if n > 1 {
				twice++
			}
		}
		if len(ids) != 2*perFile-shared || twice > 0 {
			t.Errorf("round %d: the history lists %d records, %d of them more than once; want %d, each once", round, len(ids), twice, 2*perFile-shared)
		}
	}
}
