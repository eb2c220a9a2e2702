package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signFromEnv signs req with SigV4 for service when AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY are set (with AWS_SESSION_TOKEN, and the region of
// AWS_REGION or AWS_DEFAULT_REGION, else us-east-1), as the AWS CLI would;
// unset, the request goes unsigned. payloadHash is the body's hex SHA-256,
// or "UNSIGNED-PAYLOAD" for a streamed body.
func signFromEnv(ctx context.Context, req *http.Request, service, payloadHash string) error {
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return nil
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payloadHash, service, region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}
