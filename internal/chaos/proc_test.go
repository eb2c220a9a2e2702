package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/syncbuf"
)

// conveyorBin is the conveyor binary TestMain builds.
var conveyorBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	short := false
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			short = true
		}
	}
	if !short {
		dir, err := os.MkdirTemp("", "conveyor-chaos-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		conveyorBin = filepath.Join(dir, "conveyor")
		// The go command that runs the tests builds the binary.
		cmd := exec.Command("go", "build", "-o", conveyorBin, "github.com/conveyor/conveyor/cmd/conveyor")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: build conveyor:", err)
			return 1
		}
	}
	return m.Run()
}

var sourcesOnce sync.Once

// statSources looks at every Go source and module file of the repository.
// The tests' results depend on the binary built from them, which this
// package does not import: the go command's test cache keeps the results
// only while the files a test looked at are unchanged, so looking makes any
// change to the sources run the tests again.
func statSources() {
	root := filepath.Join("..", "..")
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			_, _ = os.Stat(path)
		}
		return nil
	})
}

// proc is one `conveyor serve` process.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	log  *syncbuf.Buffer
}

var servingAddr = regexp.MustCompile(`msg="conveyor serving" addr=(\S+)`)

// start runs `conveyor serve` on dataDir with extra flags, logging at debug
// level into log (shared across restarts, so every line any run wrote can be
// checked), and waits until it serves.
func start(t testing.TB, dataDir string, log *syncbuf.Buffer, extra ...string) *proc {
	t.Helper()
	if conveyorBin == "" {
		t.Skip("chaos tests start server processes (skipped with -short)")
	}
	// Within a test, where the go command's test log sees it (TestMain's
	// file accesses are not logged).
	sourcesOnce.Do(statSources)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "debug"}, extra...)
	cmd := exec.Command(conveyorBin, args...)
	cmd.Env = os.Environ()
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan struct{}), log: log}
	addr := make(chan string, 1)
	// This process's own lines too: the shared log interleaves every
	// process's, and a process that does not start says why in its own.
	own := &syncbuf.Buffer{}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(log, line)
			fmt.Fprintln(own, line)
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { _ = cmd.Wait(); _ = pw.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	// A Conveyor restarted into a cluster whose stream leaders just moved
	// waits for JetStream's answers to its first requests (each up to the
	// store's request timeout) on a machine busy with the other tests.
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		t.Fatalf("conveyor exited before serving:\n%s", tail(own.String(), 60))
	case <-time.After(120 * time.Second):
		t.Fatalf("conveyor did not serve within 120s; its log:\n%s", tail(own.String(), 60))
	}
	return p
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill() { p.signal(syscall.SIGKILL) }

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.done
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// aws is an SDK configuration for the process: a static key, no retries
// (the tests count every failure themselves).
func (p *proc) aws(accessKey, secret string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		BaseEndpoint:     aws.String(p.url),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: 30 * time.Second},
	}
}

func (p *proc) events() *eventbridge.Client {
	return eventbridge.NewFromConfig(p.aws("AKIDCHAOS", "chaos"))
}

func (p *proc) cloudtrail() *cloudtrail.Client {
	return cloudtrail.NewFromConfig(p.aws("AKIDCHAOS", "chaos"))
}

func (p *proc) sqs() *sqs.Client {
	return sqs.NewFromConfig(p.aws("AKIDCHAOS", "chaos"))
}

// get fetches path from the process and returns its status and body.
func (p *proc) get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
