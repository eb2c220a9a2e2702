package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// `conveyor explain` says why not, for a pattern on its own and for every rule of a bus of a
// running Conveyor (signed calls).
func TestExplainCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pat := write("p.json", `{"source":["aws.ec2"],"detail":{"state":["stopped","terminated"],"zone":[{"exists":true}]}}`)
	ev := write("e.json", `{"source":"aws.ec2","detail":{"state":"pending"}}`)
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"explain", "--pattern", pat, "--event", ev}, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	want := "no match\n  detail.state: wants [\"stopped\",\"terminated\"]; the event has \"pending\"\n  detail.zone: wants [{\"exists\":true}]; missing\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXPLAIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	in := servertest.Start(t)
	ctx := context.Background()
	for name, p := range map[string]string{"ec2": `{"source":["aws.ec2"]}`, "s3": `{"source":["aws.s3"]}`} {
		if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(p)}); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"explain", "--bus", "default", "--event", ev, "--endpoint-url", in.URL}, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	want = "match     ec2\nno match  s3\n          source: wants [\"aws.s3\"]; the event has \"aws.ec2\"\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if err := run(ctx, []string{"explain", "--event", ev}, &out, &errs); err == nil {
		t.Error("neither --pattern nor --bus: no error")
	}
}
