package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/server"
)

// healthcheck runs `conveyor healthcheck`: it asks a running `conveyor serve`
// for /healthz and fails unless the answer is 200. It is the probe of the
// container image's HEALTHCHECK, whose runtime has no curl or wget.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	u, timeout, err := healthcheckFlags(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	return probeHealth(ctx, u, timeout, stdout)
}

// healthcheckFlags reads the flags of `conveyor healthcheck`. The default URL
// is /healthz on the address `conveyor serve` would listen on with the same
// environment (CONVEYOR_ADDR, else its default), a wildcard host (0.0.0.0,
// [::] or none) asked on the loopback address.
func healthcheckFlags(args []string, getenv func(string) string, stderr io.Writer) (string, time.Duration, error) {
	fs := flag.NewFlagSet("conveyor healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := getenv("CONVEYOR_ADDR")
	if addr == "" {
		addr = server.Defaults().Addr
	}
	def, err := healthURL(addr)
	if err != nil {
		return "", 0, fmt.Errorf("healthcheck: CONVEYOR_ADDR: %w", err)
	}
	u := fs.String("url", def, "URL to GET; healthy when it answers 200 (default: /healthz on CONVEYOR_ADDR, or on serve's default address)")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of the request")
	if err := fs.Parse(args); err != nil {
		return "", 0, err
	}
	if fs.NArg() > 0 {
		return "", 0, fmt.Errorf("healthcheck: unexpected arguments %q", fs.Args())
	}
	return *u, *timeout, nil
}

// healthURL is the /healthz URL of a server listening on addr (host:port).
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/healthz"}).String(), nil
}

// probeHealth GETs u and returns nil when it answers 200; the answer's first
// line is printed either way.
func probeHealth(ctx context.Context, u string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("healthcheck: reading the answer of %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", u, resp.Status, firstLine(string(body)))
	}
	fmt.Fprintln(stdout, firstLine(string(body)))
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
