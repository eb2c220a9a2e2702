package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestCompose checks the container files against this binary: every flag and
// CONVEYOR_ variable that deploy/compose.yaml and the Dockerfile name is a flag of
// `conveyor serve` (asked of its flag set, not of a list kept here); the three
// Conveyors share one configuration naming all three NATS servers, with three
// replicas and a secrets key; the Dockerfile's HEALTHCHECK probes /healthz on the
// port serve listens on, which the image exposes; and the load balancer sends
// calls to that port of each Conveyor, checked on /healthz.
func TestCompose(t *testing.T) {
	df := readDockerfile(t, "../../Dockerfile")
	var cf composeFile
	readYAML(t, "../../deploy/compose.yaml", &cf)

	// The services built from the Dockerfile are the Conveyors; the ones on the
	// nats image are the NATS servers.
	var image string
	var conveyors, natsServers []string
	for name, s := range cf.Services {
		if s.Build != nil {
			if s.Build.Dockerfile != "Dockerfile" || s.Build.Context != ".." {
				t.Errorf("service %s builds %s in %s, want the repository's Dockerfile", name, s.Build.Dockerfile, s.Build.Context)
			}
			if image != "" && s.Image != image {
				t.Errorf("service %s builds image %q, another %q", name, s.Image, image)
			}
			image = s.Image
		}
	}
	for name, s := range cf.Services {
		switch {
		case image != "" && s.Image == image:
			conveyors = append(conveyors, name)
		case strings.HasPrefix(s.Image, "nats:"):
			natsServers = append(natsServers, name)
		}
	}
	slices.Sort(conveyors)
	slices.Sort(natsServers)
	if len(conveyors) != 3 || len(natsServers) != 3 {
		t.Fatalf("Conveyors %v and NATS servers %v, want three of each", conveyors, natsServers)
	}

	var first []string
	var addr string
	for _, name := range conveyors {
		s := cf.Services[name]
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			t.Errorf("%s: command %q does not run serve", name, s.Command)
			continue
		}
		args := s.Command[1:]
		if first == nil {
			first = s.Command
		} else if !slices.Equal(s.Command, first) {
			t.Errorf("%s: command %q, but %s has %q: every node needs the same configuration", name, s.Command, conveyors[0], first)
		}
		env := map[string]string{}
		for k, v := range df.env {
			env[k] = v
		}
		for k, v := range s.Environment {
			env[k] = v
		}
		getenv := func(k string) string { return env[k] }
		fs, finish := serveFlags(getenv, io.Discard)
		for _, a := range args {
			if n, ok := strings.CutPrefix(a, "-"); ok {
				n = strings.TrimPrefix(n, "-")
				n, _, _ = strings.Cut(n, "=")
				if fs.Lookup(n) == nil {
					t.Errorf("%s: serve has no flag --%s", name, n)
				}
			}
		}
		for k := range env {
			if n, ok := strings.CutPrefix(k, "CONVEYOR_"); ok && fs.Lookup(strings.ToLower(strings.ReplaceAll(n, "_", "-"))) == nil {
				t.Errorf("%s: environment %s names no flag of serve", name, k)
			}
		}
		if err := fs.Parse(args); err != nil {
			t.Errorf("%s: serve %q: %v", name, args, err)
			continue
		}
		cfg, _, err := finish()
		if err != nil {
			t.Errorf("%s: serve %q: %v", name, args, err)
			continue
		}

		var hosts []string
		for _, u := range strings.Split(cfg.NATSURL, ",") {
			p, err := url.Parse(u)
			if err != nil || p.Scheme != "nats" || p.Port() != "4222" {
				t.Errorf("%s: --nats URL %q, want nats://<server>:4222", name, u)
				continue
			}
			hosts = append(hosts, p.Hostname())
		}
		slices.Sort(hosts)
		if !slices.Equal(hosts, natsServers) {
			t.Errorf("%s: --nats names %v, want every NATS server %v", name, hosts, natsServers)
		}
		if cfg.Replicas != len(natsServers) {
			t.Errorf("%s: --replicas %d, want %d (one per NATS server)", name, cfg.Replicas, len(natsServers))
		}
		if cfg.SecretsKeyFile == "" {
			t.Errorf("%s: no --secrets-key (required with --nats)", name)
		}
		if !slices.Contains(df.volumes, cfg.DataDir) {
			t.Errorf("%s: data directory %s is not a VOLUME of the Dockerfile %v", name, cfg.DataDir, df.volumes)
		}
		mounted := false
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			if dst == cfg.DataDir {
				mounted = true
				if src != name+"-data" {
					t.Errorf("%s: data directory on volume %s, want one of its own (%s-data)", name, src, name)
				}
			}
		}
		if !mounted {
			t.Errorf("%s: no volume on its data directory %s", name, cfg.DataDir)
		}
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			t.Fatalf("%s: --addr %q: %v", name, cfg.Addr, err)
		}
		if addr == "" {
			addr = cfg.Addr
		}
		if !slices.Contains(df.expose, port) {
			t.Errorf("%s: serve listens on port %s, the Dockerfile exposes %v", name, port, df.expose)
		}
		for _, p := range s.Ports {
			if !strings.HasSuffix(p, ":"+port) {
				t.Errorf("%s: published port %q is not serve's port %s", name, p, port)
			}
		}

		// The HEALTHCHECK runs in the container, with its environment.
		if len(df.healthcheck) < 2 || df.healthcheck[0] != df.entrypoint || df.healthcheck[1] != "healthcheck" {
			t.Fatalf("HEALTHCHECK %q, want %s healthcheck", df.healthcheck, df.entrypoint)
		}
		u, _, err := healthcheckFlags(df.healthcheck[2:], getenv, io.Discard)
		if err != nil {
			t.Fatalf("HEALTHCHECK %q: %v", df.healthcheck, err)
		}
		hu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if hu.Path != "/healthz" || hu.Port() != port {
			t.Errorf("%s: HEALTHCHECK probes %s, want /healthz on port %s", name, u, port)
		}
	}

	// The load balancer: its config file is mounted, and sends calls to each Conveyor's
	// port, checked on /healthz.
	lbFile := ""
	for name, s := range cf.Services {
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); src == "./haproxy.cfg" {
				lbFile = src
				if len(s.Ports) == 0 {
					t.Errorf("load balancer %s publishes no port", name)
				}
			}
		}
	}
	if lbFile == "" {
		t.Fatal("no service mounts ./haproxy.cfg")
	}
	_, port, _ := net.SplitHostPort(addr)
	lb := configWords(t, path.Join("../../deploy", lbFile))
	var backends []string
	check := false
	for _, f := range lb {
		switch {
		case len(f) >= 3 && f[0] == "server":
			host, p, err := net.SplitHostPort(f[2])
			if err != nil || p != port {
				t.Errorf("haproxy.cfg: server %s at %s, want port %s", f[1], f[2], port)
			}
			backends = append(backends, host)
		case len(f) == 4 && f[0] == "option" && f[1] == "httpchk":
			check = f[2] == "GET" && f[3] == "/healthz"
		}
	}
	slices.Sort(backends)
	if !slices.Equal(backends, conveyors) {
		t.Errorf("haproxy.cfg: servers %v, want the Conveyors %v", backends, conveyors)
	}
	if !check {
		t.Error("haproxy.cfg: no option httpchk GET /healthz")
	}
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// configWords returns the words of each line of a config file, comments left out.
func configWords(t *testing.T, name string) [][]string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]string
	for _, l := range strings.Split(string(b), "\n") {
		l, _, _ = strings.Cut(l, "#")
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, f)
		}
	}
	return lines
}

// dockerfile is what the test reads of the Dockerfile's last stage.
type dockerfile struct {
	env         map[string]string
	expose      []string
	volumes     []string
	entrypoint  string   // the binary of ENTRYPOINT
	healthcheck []string // HEALTHCHECK's CMD, exec form
}

// readDockerfile reads the instructions of the last stage the test needs: ENV
// (KEY=VALUE pairs), EXPOSE, VOLUME, ENTRYPOINT and HEALTHCHECK (exec forms).
func readDockerfile(t *testing.T, name string) dockerfile {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var instrs []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if more, ok := strings.CutSuffix(l, `\`); ok {
			cur.WriteString(more + " ")
			continue
		}
		cur.WriteString(l)
		instrs = append(instrs, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	execForm := func(s string) []string {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("Dockerfile: %q is not an exec form: %v", s, err)
		}
		return v
	}
	var d dockerfile
	for _, in := range instrs {
		op, rest, _ := strings.Cut(in, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(op) {
		case "FROM":
			d = dockerfile{env: map[string]string{}} // a new stage
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q: want KEY=VALUE pairs", rest)
				}
				d.env[k] = v
			}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				p, _, _ = strings.Cut(p, "/")
				d.expose = append(d.expose, p)
			}
		case "VOLUME":
			d.volumes = append(d.volumes, execForm(rest)...)
		case "ENTRYPOINT":
			if v := execForm(rest); len(v) > 0 {
				d.entrypoint = v[0]
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok {
				t.Fatalf("Dockerfile: HEALTHCHECK %q has no CMD", rest)
			}
			d.healthcheck = execForm(strings.TrimSpace(cmd))
		}
	}
	return d
}
