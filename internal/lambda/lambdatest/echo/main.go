// Command echo is a Lambda handler built with aws-lambda-go: it answers its event with the
// function's name and request id, fails when asked to, sleeps (in its init too) or allocates memory when asked to, and prints to
// standard output (the function's log).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name  string `json:"name"`
	Fail  bool   `json:"fail"`
	Sleep int    `json:"sleepMs"`
	// Allocate is how many MiB the handler fills before it answers.
	Allocate int `json:"allocateMiB"`
}

type answer struct {
	Greeting  string `json:"greeting"`
	Function  string `json:"function"`
	RequestID string `json:"requestId"`
	Pid       int    `json:"pid"`
	Stage     string `json:"stage"`
	// Client is the caller's client context's custom member "client", if any.
	Client string `json:"client,omitempty"`
}

func handle(ctx context.Context, e event) (answer, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("handling %s\n", e.Name)
	if e.Sleep > 0 {
		time.Sleep(time.Duration(e.Sleep) * time.Millisecond)
	}
	held := make([][]byte, 0, e.Allocate)
	for range e.Allocate {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		held = append(held, b)
	}
	fmt.Printf("holding %d MiB\n", len(held))
	if e.Fail {
		return answer{}, errors.New("asked to fail")
	}
	return answer{Greeting: "hello " + e.Name, Function: lambdacontext.FunctionName, RequestID: lc.AwsRequestID,
		Pid: os.Getpid(), Stage: os.Getenv("STAGE"), Client: lc.ClientContext.Custom["client"]}, nil
}

func main() {
	// INIT_SLEEP_MS makes the init phase slow: a runtime that loads a lot before it asks
	// for its first event.
	if ms, err := strconv.Atoi(os.Getenv("INIT_SLEEP_MS")); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	lambda.Start(handle)
}
