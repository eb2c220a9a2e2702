package awsapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type fuzzTarget struct {
	Id               string  `json:"Id"`
	Arn              *string `json:"Arn"`
	InputTransformer *struct {
		InputPathsMap map[string]string `json:"InputPathsMap"`
		InputTemplate string            `json:"InputTemplate"`
	} `json:"InputTransformer"`
	RetryPolicy *struct {
		MaximumRetryAttempts     *int32 `json:"MaximumRetryAttempts"`
		MaximumEventAgeInSeconds int32  `json:"MaximumEventAgeInSeconds"`
	} `json:"RetryPolicy"`
}

type fuzzPutTargets struct {
	Rule         string       `json:"Rule"`
	EventBusName *string      `json:"EventBusName"`
	Targets      []fuzzTarget `json:"Targets"`
}

// FuzzServer sends arbitrary bodies through decoding and model validation: the server answers
// 200 or an AWS-shaped 400, never a 500 or a panic.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"Rule":"r","Targets":[{"Id":"t","Arn":"a"}]}`,
		`{"Rule":"r b","Targets":[{"Id":"","InputTransformer":{"InputPathsMap":{"":"x"}},"RetryPolicy":{"MaximumRetryAttempts":-1}}]}`,
		`{"Rule":1}`, `{"Targets":{}}`, `{"Targets":[null,{}]}`, `{"Rule":"` + strings.Repeat("x", 100) + `"}`,
	} {
		f.Add(s)
	}
	eb := awsapi.NewEventBridge()
	eb.SetModel(awsapi.MustLoadModel("events"))
	awsapi.Handle(eb, "PutTargets", func(ctx context.Context, in *fuzzPutTargets) (*struct{}, error) { return nil, nil })
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, eb)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AWSEvents.PutTargets")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		switch w.Code {
		case 200:
		case 400:
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || (e.Type != "ValidationException" && e.Type != "SerializationException") {
				t.Fatalf("400 body %s (%v)", w.Body, err)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
