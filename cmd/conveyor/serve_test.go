package main

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/server"
)

func TestServeConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, addr, dir, region, account, nats string, trusted []string, level slog.Level, rules int)
		cfg     func(t *testing.T, c server.Config)
		wantErr bool
	}{
		{
			name: "defaults",
			check: func(t *testing.T, addr, dir, region, account, nats string, trusted []string, level slog.Level, rules int) {
				if addr != "127.0.0.1:4010" || dir != "./conveyor-data" || region != "us-east-1" || account != "000000000000" || nats != "" || rules != 300 || level != slog.LevelInfo || len(trusted) != 0 {
					t.Errorf("defaults: %q %q %q %q %q %v %v %d", addr, dir, region, account, nats, trusted, level, rules)
				}
			},
		},
		{
			name: "environment",
			env:  map[string]string{"CONVEYOR_ADDR": "127.0.0.1:9999", "CONVEYOR_DATA_DIR": "/tmp/x", "CONVEYOR_MAX_RULES_PER_BUS": "5", "CONVEYOR_TRUSTED_SOURCES": "A, B", "CONVEYOR_LOG_LEVEL": "debug"},
			check: func(t *testing.T, addr, dir, region, account, nats string, trusted []string, level slog.Level, rules int) {
				if addr != "127.0.0.1:9999" || dir != "/tmp/x" || rules != 5 || !slices.Equal(trusted, []string{"A", "B"}) || level != slog.LevelDebug {
					t.Errorf("env: %q %q %d %v %v", addr, dir, rules, trusted, level)
				}
			},
		},
		{
			name: "flags win over the environment",
			args: []string{"--addr", "127.0.0.1:1", "--region", "eu-west-1", "--account", "123456789012", "--nats", "nats://127.0.0.1:4222"},
			env:  map[string]string{"CONVEYOR_ADDR": "127.0.0.1:9999"},
			check: func(t *testing.T, addr, dir, region, account, nats string, trusted []string, level slog.Level, rules int) {
				if addr != "127.0.0.1:1" || region != "eu-west-1" || account != "123456789012" || nats != "nats://127.0.0.1:4222" {
					t.Errorf("flags: %q %q %q %q", addr, region, account, nats)
				}
			},
		},
		{
			name: "audit settings",
			args: []string{"--audit-retention", "720h"},
			env:  map[string]string{"CONVEYOR_AUDIT_DATA_EVENTS": "true"},
			cfg: func(t *testing.T, c server.Config) {
				if c.AuditRetention != 720*time.Hour || !c.AuditDataEvents {
					t.Errorf("audit: retention %v, data events %v", c.AuditRetention, c.AuditDataEvents)
				}
			},
		},
		{
			name: "client limits",
			args: []string{"--read-timeout", "5s", "--idle-timeout", "1m", "--max-connections", "10", "--bus-retention", "2h", "--max-store-mib", "512"},
			env:  map[string]string{"CONVEYOR_WRITE_TIMEOUT": "40s"},
			cfg: func(t *testing.T, c server.Config) {
				h := c.HTTP
				if h.ReadTimeout != 5*time.Second || h.WriteTimeout != 40*time.Second || h.IdleTimeout != time.Minute ||
					h.MaxConnections != 10 || h.ReadHeaderTimeout != 10*time.Second {
					t.Errorf("limits: %+v", h)
				}
				if c.BusRetention != 2*time.Hour || c.MaxStore != 512<<20 {
					t.Errorf("bus retention %v, max store %d", c.BusRetention, c.MaxStore)
				}
			},
		},
		{
			name: "memory target",
			env:  map[string]string{"CONVEYOR_MEMORY_TARGET_MIB": "512"},
			cfg: func(t *testing.T, c server.Config) {
				if c.MemoryTarget != 512<<20 {
					t.Errorf("memory target %d", c.MemoryTarget)
				}
			},
		},
		{name: "negative memory target", args: []string{"--memory-target-mib", "-1"}, wantErr: true},
		{name: "bad number in the environment", env: map[string]string{"CONVEYOR_MAX_RULES_PER_BUS": "many"}, wantErr: true},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: true},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, level, err := serveConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, cfg.Addr, cfg.DataDir, cfg.Region, cfg.Account, cfg.NATSURL, cfg.TrustedSources, level, cfg.MaxRulesPerBus)
			}
			if tt.cfg != nil {
				tt.cfg(t, cfg)
			}
		})
	}
}
