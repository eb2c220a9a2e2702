package main

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/inbound"
)

func TestServeConfigFunctions(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		want        map[string][]string // function name → command
		timeout     time.Duration
		concurrency int
		endpoint    string
		wantErr     bool
	}{
		{name: "defaults", want: map[string][]string{}, timeout: time.Minute, concurrency: 10},
		{
			name: "flags",
			args: []string{"--function", "notify=./notify.sh", "--function", `resize=python3 resize.py --size "100 px"`,
				"--function-timeout", "2m", "--function-concurrency", "3", "--lambda-endpoint", "http://127.0.0.1:9001"},
			want:    map[string][]string{"notify": {"./notify.sh"}, "resize": {"python3", "resize.py", "--size", "100 px"}},
			timeout: 2 * time.Minute, concurrency: 3, endpoint: "http://127.0.0.1:9001",
		},
		{
			name:    "environment, several functions",
			env:     map[string]string{"CONVEYOR_FUNCTION": "a=./a.sh; b=echo 'x;y'\nc=/bin/true", "CONVEYOR_FUNCTION_TIMEOUT": "5s"},
			want:    map[string][]string{"a": {"./a.sh"}, "b": {"echo", "x;y"}, "c": {"/bin/true"}},
			timeout: 5 * time.Second, concurrency: 10,
		},
		{
			name:    "flags replace the environment's functions",
			args:    []string{"--function", "z=./z"},
			env:     map[string]string{"CONVEYOR_FUNCTION": "a=./a.sh"},
			want:    map[string][]string{"z": {"./z"}},
			timeout: time.Minute, concurrency: 10,
		},
		{name: "no command", args: []string{"--function", "notify="}, wantErr: true},
		{name: "no name", args: []string{"--function", "./notify.sh"}, wantErr: true},
		{name: "bad name", args: []string{"--function", "no/tify=./x"}, wantErr: true},
		{name: "unclosed quote", args: []string{"--function", `a=echo "x`}, wantErr: true},
		{name: "bad environment entry", env: map[string]string{"CONVEYOR_FUNCTION": "a=./a; oops"}, wantErr: true},
		{name: "bad timeout", env: map[string]string{"CONVEYOR_FUNCTION_TIMEOUT": "soon"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := serveConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			got := map[string][]string{}
			for _, s := range cfg.Functions {
				got[s.Name] = s.Command
			}
			if len(got) != len(tt.want) {
				t.Errorf("functions %v, want %v", got, tt.want)
			}
			for name, cmd := range tt.want {
				if !slices.Equal(got[name], cmd) {
					t.Errorf("function %s = %q, want %q", name, got[name], cmd)
				}
			}
			if cfg.FunctionTimeout != tt.timeout || cfg.FunctionConcurrency != tt.concurrency || cfg.LambdaEndpoint != tt.endpoint {
				t.Errorf("timeout %v concurrency %d endpoint %q", cfg.FunctionTimeout, cfg.FunctionConcurrency, cfg.LambdaEndpoint)
			}
		})
	}
}

func TestServeConfigInbound(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []inbound.Credential
		wantErr bool
	}{
		{name: "none"},
		{
			name: "flags",
			args: []string{"--inbound-key", "x-api-key=s3cr3t", "--inbound-basic", "orders/alice:pa:ss"},
			want: []inbound.Credential{{Header: "X-Api-Key", Value: "s3cr3t"}, {Bus: "orders", Username: "alice", Password: "pa:ss"}},
		},
		{
			name: "environment",
			env:  map[string]string{"CONVEYOR_INBOUND_KEY": "a=1 orders/b=2", "CONVEYOR_INBOUND_BASIC": "u:p"},
			want: []inbound.Credential{{Header: "A", Value: "1"}, {Bus: "orders", Header: "B", Value: "2"}, {Username: "u", Password: "p"}},
		},
		{
			name: "a flag replaces its variable",
			args: []string{"--inbound-key", "c=3"},
			env:  map[string]string{"CONVEYOR_INBOUND_KEY": "a=1", "CONVEYOR_INBOUND_BASIC": "u:p"},
			want: []inbound.Credential{{Header: "C", Value: "3"}, {Username: "u", Password: "p"}},
		},
		{name: "bad key", args: []string{"--inbound-key", "x-api-key"}, wantErr: true},
		{name: "bad basic", env: map[string]string{"CONVEYOR_INBOUND_BASIC": "nopassword"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := serveConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(cfg.Inbound, tt.want) {
				t.Errorf("inbound %+v, want %+v", cfg.Inbound, tt.want)
			}
		})
	}
}
