package sqs_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// TestErrorShapes: SQS's common errors travel as AWS sends them in the JSON protocol: the
// __type names the exception, x-amzn-query-error the awsQuery code the SDKs report, and a
// batch entry's Code is the awsQuery code.
func TestErrorShapes(t *testing.T) {
	in := servertest.Start(t)
	url := createQueue(t, in.SQS, "shapes", nil)
	call := func(op, body string) (string, string, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, in.URL+"/", bytes.NewReader([]byte(body)))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal(b, &e)
		return e.Type, resp.Header.Get("x-amzn-query-error"), b
	}
	for _, c := range []struct {
		op, body, typ, query string
	}{
		{"CreateQueue", `{"QueueName":"bad name"}`, "com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue;Sender"},
		{"SendMessage", `{"QueueUrl":"` + url + `","MessageBody":""}`, "com.amazonaws.sqs#MissingRequiredParameterException", "MissingParameter;Sender"},
		{"GetQueueUrl", `{"QueueName":"nope"}`, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"CreateQueue", `{"QueueName":"q","Attributes":{"Colour":"x"}}`, "com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName;Sender"},
	} {
		typ, query, body := call(c.op, c.body)
		if typ != c.typ || query != c.query {
			t.Errorf("%s %s: __type %q, x-amzn-query-error %q (%s); want %q, %q", c.op, c.body, typ, query, body, c.typ, c.query)
		}
	}
	_, _, body := call("SendMessageBatch", `{"QueueUrl":"`+url+`","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":901}]}`)
	var out struct{ Failed []struct{ Code string } }
	if err := json.Unmarshal(body, &out); err != nil || len(out.Failed) != 1 || out.Failed[0].Code != "InvalidParameterValue" {
		t.Errorf("batch failure: %s", body)
	}
}
