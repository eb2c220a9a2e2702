package main

import (
	"io"
	"testing"
)

func TestServeS3GatewayFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    string
		wantErr bool
	}{
		{name: "none"},
		{name: "flags", args: []string{"--s3-gateway", "127.0.0.1:4011=http://127.0.0.1:9000", "--s3-gateway", "127.0.0.1:4012=https://s3.eu-west-1.amazonaws.com"},
			want: "127.0.0.1:4011=http://127.0.0.1:9000,127.0.0.1:4012=https://s3.eu-west-1.amazonaws.com"},
		{name: "environment", env: "127.0.0.1:4011=http://127.0.0.1:9000;127.0.0.1:4012=http://127.0.0.1:9001",
			want: "127.0.0.1:4011=http://127.0.0.1:9000,127.0.0.1:4012=http://127.0.0.1:9001"},
		{name: "flag replaces environment", env: "127.0.0.1:4011=http://127.0.0.1:9000", args: []string{"--s3-gateway", "127.0.0.1:5=http://b"},
			want: "127.0.0.1:5=http://b"},
		{name: "bad flag", args: []string{"--s3-gateway", "http://127.0.0.1:9000"}, wantErr: true},
		{name: "bad environment", env: "127.0.0.1:4011=ftp://x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := serveConfig(tt.args, func(k string) string {
				if k == "CONVEYOR_S3_GATEWAY" {
					return tt.env
				}
				return ""
			}, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := (&s3GatewayFlag{specs: cfg.S3Gateways}).String()
			if got != tt.want {
				t.Errorf("gateways %q, want %q", got, tt.want)
			}
		})
	}
}
