package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestREADME runs the README's walk-throughs as a user would, with the AWS CLI against a real
// `conveyor serve`: each testdata/readme/*.txtar script runs the README's own shell blocks
// (read from README.md, so they cannot drift) and checks what they print. The commands are
// taken as written, but for three substitutions that keep tests off fixed ports and builds:
// `go run ./cmd/conveyor` is this test binary, 127.0.0.1:4010 a free port, and 8080 another.
//
// Commands for the scripts:
//
//	readme start SECTION N...   run blocks N… of the section in the background (their output
//	                            in start-N.log), stopped when the script ends
//	readme run SECTION N...     run blocks N… of the section, their output the command's
//	readme wait                 wait until Conveyor answers /healthz
//	readme waitfile FILE REGEXP wait until FILE matches REGEXP
//
// SECTION is a unique part of a "## " heading; N counts the section's ```sh blocks from 1. A
// block runs in bash after the export and alias lines of every block before it in the README,
// and plain variable assignments, as in a terminal where the reader typed them.
func TestREADME(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CONVEYOR_REQUIRE_QUERY_CLI") != "" {
			t.Fatal("no AWS CLI (apt-get install awscli)")
		}
		t.Skip("the README's walk-throughs need the AWS CLI (.ci/run installs Debian's)")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := readmeBlocks(string(readme))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go command in a README block uses this test's caches.
	goEnv := map[string]string{}
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS").Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		goEnv[[]string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"}[i]] = v
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/readme",
		Setup: func(env *testscript.Env) error {
			// `conveyor` is this test binary standing in for the real one (see TestMain).
			bin := filepath.Join(env.WorkDir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				return err
			}
			wrapper := "#!/bin/sh\nCONVEYOR_TEST_MAIN=1 exec " + strconv.Quote(self) + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(bin, "conveyor"), []byte(wrapper), 0o755); err != nil {
				return err
			}
			// AWS CLI v2 reads blobs (lambda invoke --payload) as base64 unless told otherwise;
			// v1 ignores the setting.
			cfg := filepath.Join(env.WorkDir, "aws-config")
			if err := os.WriteFile(cfg, []byte("[default]\ncli_binary_format = raw-in-base64-out\n"), 0o600); err != nil {
				return err
			}
			ports, err := freePorts(4)
			api, hook, gateway, storage := ports[0], ports[1], ports[2], ports[3]
			env.Setenv("README_GATEWAY_PORT", gateway)
			env.Setenv("README_STORAGE_PORT", storage)
			// The README's commands run from the repository's root: its go.mod (for go build) and
			// its cmd directory (for testdata) are there too.
			for _, f := range []string{"go.mod", "go.sum", "cmd"} {
				abs, err := filepath.Abs(filepath.Join("..", "..", f))
				if err != nil {
					return err
				}
				if err := os.Symlink(abs, filepath.Join(env.WorkDir, f)); err != nil {
					return err
				}
			}
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("AWS_CONFIG_FILE", cfg)
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
			env.Setenv("AWS_PAGER", "")
			env.Setenv("AWS_MAX_ATTEMPTS", "1")
			env.Setenv("README_API_PORT", api)
			env.Setenv("README_HOOK_PORT", hook)
			// `conveyor serve` without --addr listens where the README's 127.0.0.1:4010 now points.
			env.Setenv("CONVEYOR_ADDR", "127.0.0.1:"+api)
			env.Setenv("CONVEYOR_ENDPOINT_URL", "http://127.0.0.1:"+api) // conveyor's client commands
			env.Values[stopsKey{}] = map[string]func(){}
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"readme": func(ts *testscript.TestScript, neg bool, args []string) { readmeCmd(ts, neg, args, sections) },
		},
	})
}

// readmePorts puts the free ports of the environment (env) where the README names its own. Each
// becomes a placeholder first, then its free port: a free port put in for one must not be read
// as another (48080 holds "8080").
func readmePorts(s string, env func(string) string) string {
	ports := []struct{ old, prefix, env string }{
		{"127.0.0.1:4010", "127.0.0.1:", "README_API_PORT"},
		{"127.0.0.1:4011", "127.0.0.1:", "README_GATEWAY_PORT"},
		{"127.0.0.1:9000", "127.0.0.1:", "README_STORAGE_PORT"},
		{"8080", "", "README_HOOK_PORT"},
	}
	for i, p := range ports {
		s = strings.ReplaceAll(s, p.old, "\x00port"+strconv.Itoa(i)+"\x00")
	}
	for i, p := range ports {
		s = strings.ReplaceAll(s, "\x00port"+strconv.Itoa(i)+"\x00", p.prefix+env(p.env))
	}
	return s
}

// TestReadmePorts: free ports that hold the README's own numbers are put in as they are (CI
// once hung on an API port of 40115, read again as the gateway's 127.0.0.1:4011 and a 5).
func TestReadmePorts(t *testing.T) {
	in := `awsl() { aws --endpoint-url http://127.0.0.1:4010 "$@"; }
curl http://127.0.0.1:4011/ http://127.0.0.1:9000/
HTTPServer(("127.0.0.1", 8080), H) "http://127.0.0.1:8080/ec2"`
	for _, ports := range [][4]string{{"48080", "40100", "34010", "39000"}, {"40115", "45853", "38080", "40109"}} {
		env := map[string]string{"README_API_PORT": ports[0], "README_GATEWAY_PORT": ports[1],
			"README_STORAGE_PORT": ports[2], "README_HOOK_PORT": ports[3]}
		want := `awsl() { aws --endpoint-url http://127.0.0.1:` + ports[0] + ` "$@"; }
curl http://127.0.0.1:` + ports[1] + `/ http://127.0.0.1:` + ports[2] + `/
HTTPServer(("127.0.0.1", ` + ports[3] + `), H) "http://127.0.0.1:` + ports[3] + `/ec2"`
		if got := readmePorts(in, func(k string) string { return env[k] }); got != want {
			t.Errorf("ports %v: got\n%s\nwant\n%s", ports, got, want)
		}
	}
}

// stopsKey is the key of a script's value: what stops each block it started or ran, by the
// block's name (see blockName).
type stopsKey struct{}

// nonSlug is what a section's name loses in blockName.
var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// blockName names what a block writes (its script, output, log): "start-five-minutes-2".
func blockName(verb, section string, ns []string) string {
	slug := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(section), "-"), "-")
	return verb + "-" + slug + "-" + strings.Join(ns, "-")
}

// awsCLIError is how the AWS CLI reports an error answer.
var awsCLIError = regexp.MustCompile(`An error occurred \((\w+)\)`)

// freePorts returns n distinct ports no one listens on now: all are held
// open while they are chosen, since a port just closed may be handed out
// again at once (two blocks' servers then met on one port).
func freePorts(n int) ([]string, error) {
	ports := make([]string, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports, fmt.Errorf("no free port: %w", err)
		}
		defer ln.Close()
		_, ports[i], _ = net.SplitHostPort(ln.Addr().String())
	}
	return ports, nil
}

// readmeSection is a "## " section of the README: its heading and its ```sh blocks, and the
// export and alias lines of every block before it.
type readmeSection struct {
	heading string
	blocks  []string
	// sticky[i] are the export and alias lines of the README before block i.
	sticky []string
}

// plainAssignment is a shell variable set to a plain word (E=http://…), which a reader's
// terminal keeps for the commands after it.
var plainAssignment = regexp.MustCompile(`^[A-Z_]+=[^$ ]+$`)

func readmeBlocks(readme string) []readmeSection {
	var (
		out    []readmeSection
		sticky []string
		in     bool
		block  []string
	)
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, "## "):
			out = append(out, readmeSection{heading: strings.TrimPrefix(line, "## ")})
		case !in && line == "```sh":
			in, block = true, nil
		case in && line == "```":
			in = false
			if len(out) == 0 {
				continue // the two commands at the top
			}
			s := &out[len(out)-1]
			s.blocks = append(s.blocks, strings.Join(block, "\n")+"\n")
			s.sticky = append(s.sticky, strings.Join(sticky, "\n"))
			for _, l := range block {
				if strings.HasPrefix(l, "export ") || strings.HasPrefix(l, "alias ") || plainAssignment.MatchString(l) {
					sticky = append(sticky, l)
				}
			}
		case in:
			block = append(block, line)
		}
	}
	return out
}

// readmeScript is the script of blocks ns of the section named by part.
func readmeScript(ts *testscript.TestScript, sections []readmeSection, part string, ns []string) string {
	var sec *readmeSection
	for i := range sections {
		if strings.Contains(sections[i].heading, part) {
			if sec != nil {
				ts.Fatalf("%q names more than one section", part)
			}
			sec = &sections[i]
		}
	}
	if sec == nil {
		ts.Fatalf("no README section %q", part)
	}
	var b strings.Builder
	b.WriteString("shopt -s expand_aliases\n")
	for i, n := range ns {
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 || k > len(sec.blocks) {
			ts.Fatalf("section %q has no block %s (it has %d)", sec.heading, n, len(sec.blocks))
		}
		if i == 0 {
			b.WriteString(sec.sticky[k-1] + "\n")
		}
		b.WriteString(sec.blocks[k-1])
	}
	s := b.String()
	s = strings.ReplaceAll(s, "go run ./cmd/conveyor serve", "exec conveyor serve")
	s = strings.ReplaceAll(s, "go run ./cmd/conveyor", "conveyor")
	s = readmePorts(s, ts.Getenv)
	// Measurements a reader runs for ten seconds run for one.
	s = strings.ReplaceAll(s, "--duration 10s", "--duration 1s")
	return s
}

func readmeCmd(ts *testscript.TestScript, neg bool, args []string, sections []readmeSection) {
	if len(args) == 0 {
		ts.Fatalf("usage: readme start|run|stop|wait|waitfile …")
	}
	switch args[0] {
	case "start", "run":
		if len(args) < 3 {
			ts.Fatalf("usage: readme %s SECTION N...", args[0])
		}
		base := blockName(args[0], args[1], args[2:])
		name := base + ".sh"
		path := ts.MkAbs(name)
		stops := ts.Value(stopsKey{}).(map[string]func())
		ts.Check(os.WriteFile(path, []byte(readmeScript(ts, sections, args[1], args[2:])), 0o600))
		cmd := exec.Command("bash", path)
		cmd.Dir = ts.Getenv("WORK")
		cmd.Env = scriptEnv(ts)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if args[0] == "start" {
			log, err := os.Create(ts.MkAbs(base + ".log"))
			ts.Check(err)
			cmd.Stdout, cmd.Stderr = log, log
			ts.Check(cmd.Start())
			// Stopped by "readme stop" or when the script ends.
			stop := sync.OnceFunc(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					<-done
				}
				killGroup(cmd.Process.Pid)
				log.Close()
			})
			stops[base] = stop
			ts.Defer(stop)
			return
		}
		// Files, not pipes: a server a block starts with & keeps a pipe open, and Run would wait.
		outF, err := os.Create(ts.MkAbs(base + ".out"))
		ts.Check(err)
		errF, err := os.Create(ts.MkAbs(base + ".err"))
		ts.Check(err)
		cmd.Stdout, cmd.Stderr = outF, errF
		err = cmd.Run()
		outF.Close()
		errF.Close()
		stdoutB, _ := os.ReadFile(outF.Name())
		stderrB, _ := os.ReadFile(errF.Name())
		stdout, stderr := string(stdoutB), string(stderrB)
		// Whatever a block left running in the background (a server it started with &) stops
		// with "readme stop" or when the script ends.
		stop := sync.OnceFunc(func() { killGroup(cmd.Process.Pid) })
		stops[base] = stop
		ts.Defer(stop)
		ts.Logf("%s:\n%s", name, stderr)
		fmt.Fprint(ts.Stdout(), stdout)
		fmt.Fprint(ts.Stderr(), stderr)
		if (err != nil) != neg {
			ts.Fatalf("%s: %v", name, err)
		}
		// A block goes on after a command fails, as a terminal does; an error the README does not
		// show next to the command (as a "# An error occurred (Code) …" comment) fails the test.
		script, _ := os.ReadFile(path)
		for _, line := range strings.Split(stderr, "\n") {
			if m := awsCLIError.FindStringSubmatch(line); m != nil && !bytes.Contains(script, []byte("# An error occurred ("+m[1]+")")) {
				ts.Fatalf("%s: an error the README does not show: %s", name, line)
			}
			if strings.Contains(line, "command not found") || strings.Contains(line, "No such file or directory") {
				ts.Fatalf("%s: %s", name, line)
			}
		}
	case "stop":
		// readme stop SECTION N...: stop what "readme start" (or a "readme run" that left something
		// in the background) began with those blocks.
		if len(args) < 3 {
			ts.Fatalf("usage: readme stop SECTION N...")
		}
		stops := ts.Value(stopsKey{}).(map[string]func())
		found := false
		for _, verb := range []string{"start", "run"} {
			if stop, ok := stops[blockName(verb, args[1], args[2:])]; ok {
				stop()
				found = true
			}
		}
		if !found {
			ts.Fatalf("readme stop: nothing started by %q %s", args[1], strings.Join(args[2:], " "))
		}
	case "wait":
		url := "http://127.0.0.1:" + ts.Getenv("README_API_PORT") + "/healthz"
		waitFor(ts, "Conveyor to answer "+url, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	case "waitfile":
		if len(args) != 3 {
			ts.Fatalf("usage: readme waitfile FILE REGEXP")
		}
		re, err := regexp.Compile(args[2])
		ts.Check(err)
		waitFor(ts, args[1]+" to match "+args[2], func() bool {
			b, _ := os.ReadFile(ts.MkAbs(args[1]))
			return re.Match(b)
		})
	default:
		ts.Fatalf("unknown readme command %q", args[0])
	}
}

// killGroup kills what is left of process group pgid and waits until it is gone (so that the
// ports and the data directory it held are free).
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); groupAlive(pgid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// groupAlive says whether a process of group pgid is still running (a zombie is not: it holds
// no port and no lock).
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			return true
		}
	}
	return false
}

// scriptEnv is the environment of a README block: the script's.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "WORK", "TMPDIR", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PAGER",
		"AWS_MAX_ATTEMPTS", "LANG", "CONVEYOR_ADDR", "CONVEYOR_ENDPOINT_URL", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"} {
		if v := ts.Getenv(k); v != "" || k == "AWS_PAGER" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// waitFor polls cond every 20 ms for up to 30 s.
func waitFor(ts *testscript.TestScript, what string, cond func() bool) {
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("waited 30 s for %s", what)
		}
	}
}
