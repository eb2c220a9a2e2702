package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// The API port cuts off a client that sends half a body, while an SQS long
// poll (which waits before it answers) still answers; a write bound too
// short for long polls is refused at start.
func TestClientLimits(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.HTTP.ReadTimeout = 500 * time.Millisecond })
	ctx := context.Background()
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("poll")})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2}); err != nil {
		t.Fatalf("long poll: %v", err)
	}
	if d := time.Since(began); d < 2*time.Second {
		t.Errorf("the long poll answered after %v", d)
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(in.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.ListRules\r\nContent-Length: 100\r\n\r\n{\"Na")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a client with half a body was still connected after 5s")
	}

	cfg := server.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.WriteTimeout = 5 * time.Second
	if s, err := server.New(ctx, cfg); err == nil {
		_ = s.Close(ctx)
		t.Error("a 5s write bound was accepted")
	}
}
