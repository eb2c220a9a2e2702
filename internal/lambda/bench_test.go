package lambda_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// BenchmarkInvokeWarm is a synchronous Invoke of a warm aws-lambda-go function through the
// Go SDK on loopback: the API, the Runtime API round trip and the handler. It reports the
// median and 99th percentile (target: p50 < 1 ms).
func BenchmarkInvokeWarm(b *testing.B) {
	c := client(b)
	createEcho(b, c, echoBootstrap(b))
	ctx := context.Background()
	in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"name":"bench"}`)}
	if _, err := c.Invoke(ctx, in); err != nil { // the first starts the process
		b.Fatal(err)
	}
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		out, err := c.Invoke(ctx, in)
		if err != nil || out.FunctionError != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

func createEcho(tb testing.TB, c *lambda.Client, zip []byte) {
	if _, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}}); err != nil {
		tb.Fatal(err)
	}
}
