package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// queueRedrive moves the dead-lettered events of a queue back to the rule
// targets they failed for, through the ConveyorQueues.RedriveDeadLetters
// operation of a running Conveyor.
func queueRedrive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conveyor queue redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queueURL := fs.String("queue-url", "", "URL of the dead-letter queue (required), e.g. http://127.0.0.1:4010/000000000000/failures")
	endpoint := fs.String("endpoint-url", "", "URL of the Conveyor API (default: the queue URL's scheme and host)")
	maxMessages := fs.Int("max", 0, "redrive at most this many dead letters (default: all visible ones)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *queueURL == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("queue redrive: --queue-url is required and takes no arguments")
	}
	api := *endpoint
	if api == "" {
		u, err := url.Parse(*queueURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("queue redrive: --queue-url %q is not a URL; give --endpoint-url", *queueURL)
		}
		api = u.Scheme + "://" + u.Host
	}
	in := map[string]any{"QueueUrl": *queueURL}
	if *maxMessages > 0 {
		in["MaxMessages"] = *maxMessages
	}
	var out struct {
		Redriven int
		Skipped  []struct{ MessageId, Reason string }
	}
	if err := callConveyor(ctx, api, "sqs", "ConveyorQueues.RedriveDeadLetters", in, &out); err != nil {
		return fmt.Errorf("queue redrive: %w", err)
	}
	fmt.Fprintf(stdout, "redriven: %d\n", out.Redriven)
	for _, s := range out.Skipped {
		fmt.Fprintf(stdout, "skipped %s: %s\n", s.MessageId, s.Reason)
	}
	return nil
}

// callConveyor calls an operation of a Conveyor's service ("sqs": AWS JSON 1.0; "events":
// 1.1), signed with SigV4 when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set.
func callConveyor(ctx context.Context, endpoint, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", map[string]string{"sqs": "application/x-amz-json-1.0"}[service])
	if service != "sqs" {
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	sum := sha256.Sum256(body)
	if err := signFromEnv(ctx, req, service, hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Type != "" {
			return fmt.Errorf("%s: %s", e.Type, e.Message)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
