package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/clock"
	"github.com/conveyor/conveyor/internal/function"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store"
)

// Config is what the Lambda service works with.
type Config struct {
	// Store holds the functions, their code and their asynchronous
	// invocations.
	Store    *store.Store
	Replicas int
	// Account and Region are the scope of calls that name none (handlers called outside a
	// server).
	Account, Region string
	Clock           clock.Clock
	Logger          *slog.Logger
	// CodeDir is where functions' code is unpacked to run (default: a directory under the
	// system's temporary one).
	CodeDir string
	// Queues are the SQS queues event source mappings poll (none: no mappings can be made).
	Queues Queues
	// Registerer receives the functions' metrics (none when nil).
	Registerer prometheus.Registerer
	// Locals are the functions of `conveyor serve --function`: shown in every account and
	// region as conveyor.command functions, invoked as they are; they are changed on the
	// command line, not through the API.
	Locals []function.Spec
	// DefaultTimeout is a local function's timeout when its Spec sets none.
	DefaultTimeout time.Duration
	// Secrets, if set, seals the values of functions' environment variables in the store.
	Secrets *secrets.Box
	// RetryDelays are the waits before the first and second retry of an asynchronous
	// invocation that failed (default: a minute, then two, as Lambda waits).
	RetryDelays []time.Duration
	// InitTimeout is Lambda's init phase (default 10 s): a new process's runtime may take
	// this long to ask for its first invocation without it counting against the function's
	// timeout; what it takes beyond counts, and past both the process is killed and the
	// invocation times out.
	InitTimeout time.Duration
}

// Service serves the Lambda API and runs the functions.
type Service struct {
	cfg    Config
	recs   *records
	log    *slog.Logger
	rt     *runtimes
	esm    *mappings
	async  jetstream.Consumer
	run    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{}
	// urls seals the tokens of Code.Location URLs.
	urls *secrets.Box
	m    *metrics
}

// New opens the functions' bucket and code store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("lambda: a store is required")
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if len(cfg.RetryDelays) < asyncRetries {
		cfg.RetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if cfg.CodeDir == "" {
		cfg.CodeDir = filepath.Join(os.TempDir(), "conveyor-lambda")
	}
	if err := os.MkdirAll(cfg.CodeDir, 0o700); err != nil {
		return nil, fmt.Errorf("lambda: code directory: %w", err)
	}
	// Absolute, as a process's path and working directory are taken from it.
	abs, err := filepath.Abs(cfg.CodeDir)
	if err != nil {
		return nil, fmt.Errorf("lambda: code directory: %w", err)
	}
	cfg.CodeDir = abs
	recs, err := openRecords(ctx, cfg.Store.JetStream(), cfg.Replicas, cfg.Secrets, cfg.Logger)
	if err != nil {
		return nil, err
	}
	urls, err := codeURLBox(cfg.Secrets)
	if err != nil {
		recs.view.Close()
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		recs.view.Close()
		return nil, err
	}
	s := &Service{cfg: cfg, recs: recs, log: cfg.Logger.With("component", "lambda"), done: make(chan struct{}), urls: urls, m: m}
	if s.esm, err = openMappings(ctx, cfg.Store.JetStream(), cfg.Replicas, s); err != nil {
		recs.view.Close()
		return nil, err
	}
	if s.async, err = openAsync(ctx, cfg.Store.JetStream(), cfg.Replicas); err != nil {
		s.esm.view.Close()
		recs.view.Close()
		return nil, err
	}
	s.rt = newRuntimes(cfg.CodeDir, func(ctx context.Context, name string) ([]byte, error) { return recs.obj.GetBytes(ctx, name) }, s.log, m)
	s.rt.initTimeout = cfg.InitTimeout
	if s.rt.initTimeout <= 0 {
		s.rt.initTimeout = defaultInitTimeout
	}
	s.run, s.cancel = context.WithCancel(context.Background())
	run := s.run
	go s.rt.reap(run)
	var wg sync.WaitGroup
	wg.Go(func() { s.consumeAsync(run) })
	if cfg.Queues != nil {
		wg.Go(func() { s.follow(run) })
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s, nil
}

// Close stops the pollers, the functions' processes and the in-memory views.
func (s *Service) Close() {
	s.cancel()
	<-s.done
	s.rt.close()
	s.esm.view.Close()
	s.recs.view.Close()
}

// Register adds the operations to svc (awsapi.NewLambda()).
func (s *Service) Register(svc *awsapi.Service) {
	awsapi.HandleREST(svc, "CreateFunction", http.MethodPost, "/2015-03-31/functions", http.StatusCreated, s.CreateFunction)
	awsapi.HandleREST(svc, "ListFunctions", http.MethodGet, "/2015-03-31/functions", 0, s.ListFunctions)
	awsapi.HandleREST(svc, "GetFunction", http.MethodGet, "/2015-03-31/functions/{FunctionName}", 0, s.GetFunction)
	awsapi.HandleREST(svc, "GetFunctionConfiguration", http.MethodGet, "/2015-03-31/functions/{FunctionName}/configuration", 0, s.GetFunctionConfiguration)
	awsapi.HandleREST(svc, "DeleteFunction", http.MethodDelete, "/2015-03-31/functions/{FunctionName}", http.StatusNoContent, s.DeleteFunction)
	awsapi.HandleREST(svc, "Invoke", http.MethodPost, "/2015-03-31/functions/{FunctionName}/invocations", 0, s.Invoke)
	awsapi.HandleREST(svc, "UpdateFunctionConfiguration", http.MethodPut, "/2015-03-31/functions/{FunctionName}/configuration", 0, s.UpdateFunctionConfiguration)
	awsapi.HandleREST(svc, "UpdateFunctionCode", http.MethodPut, "/2015-03-31/functions/{FunctionName}/code", 0, s.UpdateFunctionCode)
	s.registerMappings(svc)
	s.registerPolicies(svc)
}

func (s *Service) scopeOf(ctx context.Context) scope.Scope {
	return awsapi.CallerFrom(ctx).ScopeOr(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region})
}

// FunctionARN is the ARN of function name in sc.
func FunctionARN(sc scope.Scope, name string) string { return sc.ARN("lambda", "function:"+name) }

// Runtimes Conveyor runs: AWS's OS-only runtimes (an executable bootstrap, the Runtime API)
// and its own, a command given the event on standard input.
var supportedRuntimes = map[string]bool{"provided.al2023": true, "provided.al2": true, "provided": true, "conveyor.command": true}

var (
	nameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// A function named by its name, partial ARN or ARN, as Lambda accepts it.
	refRe  = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:([a-z0-9-]+):)?(\d{12}:)?(function:)?([a-zA-Z0-9_-]{1,64})(:(\$LATEST|[a-zA-Z0-9_-]+))?$`)
	roleRe = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
)

// resolve reads a FunctionName member: the function's name, and refuses an ARN of another
// account or region (not found, as Lambda answers for a function it does not have), and a
// qualifier other than $LATEST: Conveyor publishes no versions and keeps no aliases, so such
// a qualifier names nothing (not found), except of a local function, which takes any.
func (s *Service) resolve(ctx context.Context, ref string) (scope.Scope, string, error) {
	sc, name, qualifier, err := s.resolveQualified(ctx, ref)
	if err == nil && qualifier != "" && qualifier != latest && s.local(sc, name) == nil {
		err = notFound(FunctionARN(sc, name) + ":" + qualifier)
	}
	return sc, name, err
}

// latest is the qualifier of a function's unpublished version, the only one Conveyor has.
const latest = "$LATEST"

// resolveQualified is resolve with the qualifier the reference ends with ("" for none),
// whatever it is.
func (s *Service) resolveQualified(ctx context.Context, ref string) (scope.Scope, string, string, error) {
	sc := s.scopeOf(ctx)
	m := refRe.FindStringSubmatch(ref)
	if m == nil {
		return sc, "", "", awsapi.Errorf("ValidationException",
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "+
				`(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`, ref)
	}
	name := m[6]
	if (m[3] != "" && m[3] != sc.Region) || (m[4] != "" && strings.TrimSuffix(m[4], ":") != sc.Account) {
		return sc, name, m[8], notFound(FunctionARN(scope.Scope{Account: strings.TrimSuffix(m[4], ":"), Region: m[3]}, name))
	}
	return sc, name, m[8], nil
}

func notFound(arn string) *awsapi.Error {
	return awsapi.Errorf("ResourceNotFoundException", "Function not found: %s", arn)
}

func invalid(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterValueException", format, args...)
}

// ---- CreateFunction ----

// FunctionCode is Lambda's FunctionCode: Conveyor takes the zip itself.
type FunctionCode struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageUri        *string `json:"ImageUri"`
	SourceKMSKeyArn *string `json:"SourceKMSKeyArn"`
}

// CreateFunctionInput is Lambda's CreateFunctionRequest (the members Conveyor reads).
type CreateFunctionInput struct {
	FunctionName  *string           `json:"FunctionName"`
	Runtime       *string           `json:"Runtime"`
	Role          *string           `json:"Role"`
	Handler       *string           `json:"Handler"`
	Code          *FunctionCode     `json:"Code"`
	Description   *string           `json:"Description"`
	Timeout       *int              `json:"Timeout"`
	MemorySize    *int              `json:"MemorySize"`
	Publish       *bool             `json:"Publish"`
	PackageType   *string           `json:"PackageType"`
	Environment   *Environment      `json:"Environment"`
	Tags          map[string]string `json:"Tags"`
	Architectures []string          `json:"Architectures"`
	// DeadLetterConfig is where an asynchronous invocation goes once it failed for good.
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig"`
}

// DeadLetterConfig is a function's dead-letter queue: an SQS queue of its account and
// region that receives an asynchronous invocation's payload once it failed for good
// (after its retries, or too old to run), with the message attributes RequestID,
// ErrorCode and ErrorMessage, as Lambda sends them.
type DeadLetterConfig struct {
	TargetArn string `json:"TargetArn,omitempty"`
}

// checkDeadLetter refuses a dead-letter target that is not a standard SQS queue of the
// caller's account and region (Conveyor has no SNS topics).
func (s *Service) checkDeadLetter(ctx context.Context, d *DeadLetterConfig) error {
	if d == nil || d.TargetArn == "" {
		return nil
	}
	a, ok := scope.ParseARN(d.TargetArn)
	if !ok || a.Service != "sqs" || a.Scope() != s.scopeOf(ctx) || strings.HasSuffix(a.Resource, ".fifo") {
		return invalid("The dead-letter target %s is not a standard SQS queue of this account and region (Conveyor sends dead letters to SQS queues).", d.TargetArn)
	}
	return nil
}

// CreateFunction stores a function and its code.
func (s *Service) CreateFunction(ctx context.Context, in *CreateFunctionInput) (*Function, error) {
	v := awsapi.NewValidator()
	v.Required("functionName", in.FunctionName != nil)
	v.Required("role", in.Role != nil)
	v.Required("code", in.Code != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	name := *in.FunctionName
	if !nameRe.MatchString(name) {
		if _, n, err := s.resolve(ctx, name); err != nil {
			return nil, err
		} else {
			name = n
		}
	}
	if !roleRe.MatchString(*in.Role) {
		return nil, errRole(*in.Role)
	}
	if in.PackageType != nil && *in.PackageType == "Image" || in.Code.ImageUri != nil {
		return nil, invalid("Conveyor runs functions packaged as Zip; container images are not supported.")
	}
	if in.Runtime == nil {
		return nil, invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if !supportedRuntimes[*in.Runtime] {
		return nil, invalid("The runtime parameter of %s is not supported by Conveyor (provided.al2023, provided.al2 or conveyor.command).", *in.Runtime)
	}
	if *in.Runtime == "conveyor.command" && (in.Handler == nil || *in.Handler == "") {
		return nil, invalid("A conveyor.command function's Handler is the command to run.")
	}
	if in.Code.ZipFile == nil {
		return nil, invalid("Conveyor takes a function's code as ZipFile (S3 locations are not supported).")
	}
	if err := checkZip(in.Code.ZipFile); err != nil {
		return nil, err
	}
	timeout, memory := 3, 128
	if in.Timeout != nil {
		timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		memory = *in.MemorySize
	}
	if err := checkLimits(timeout, memory); err != nil {
		return nil, err
	}
	if err := checkEnvironment(in.Environment); err != nil {
		return nil, err
	}
	if err := s.checkDeadLetter(ctx, in.DeadLetterConfig); err != nil {
		return nil, err
	}
	if err := s.isLocal(name); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(in.Code.ZipFile)
	f := &Function{FunctionName: name, FunctionArn: FunctionARN(sc, name), Runtime: *in.Runtime, Role: *in.Role,
		Handler: deref(in.Handler), CodeSize: int64(len(in.Code.ZipFile)), Description: deref(in.Description),
		Timeout: timeout, MemorySize: memory, LastModified: s.cfg.Clock.Now().UTC().Format("2006-01-02T15:04:05.000-0700"),
		CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), Version: latest, Environment: in.Environment,
		RevisionId: uuid.NewString(), State: "Active", PackageType: "Zip", Architectures: []string{"x86_64"}, Tags: in.Tags,
		CodeObject: functionKey(sc, name) + "/" + hex.EncodeToString(sum[:])}
	if len(in.Architectures) > 0 {
		f.Architectures = in.Architectures
	}
	if in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != "" {
		f.DeadLetterConfig = in.DeadLetterConfig
	}
	if _, err := s.recs.obj.PutBytes(ctx, f.CodeObject, in.Code.ZipFile); err != nil {
		return nil, fmt.Errorf("lambda: store the code of %s: %w", name, err)
	}
	_, _, err := store.Mutate(ctx, s.recs.kv, functionKey(sc, name), s.recs.codec, func(cur *Function, _ uint64) (*Function, error) {
		if cur != nil {
			return nil, awsapi.Errorf("ResourceConflictException", "Function already exist: %s", name)
		}
		return f, nil
	})
	if err != nil {
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != "ResourceConflictException" {
			_ = s.recs.obj.Delete(context.WithoutCancel(ctx), f.CodeObject)
		}
		return nil, err
	}
	return f.shown(), nil
}

// maxUnzipped is the most a function's code may take unzipped (Lambda's 250 MB).
const maxUnzipped = 262144000

// checkZip refuses code Lambda refuses: not a zip, an entry that would land outside the
// code's directory, more than 250 MB unzipped (as the entries say: a zip that lies about
// it is caught when it is unpacked).
func checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	var size uint64
	for _, zf := range zr.File {
		if _, ok := entryPath(zf.Name); !ok {
			return invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
		}
		size += zf.UncompressedSize64
	}
	if size > maxUnzipped {
		return invalid("Unzipped size must be smaller than %d bytes", maxUnzipped)
	}
	return nil
}

// reservedEnvironment are the environment variables Lambda's runtime sets, which a
// function's configuration may not.
var reservedEnvironment = map[string]bool{"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_REGION": true, "AWS_EXECUTION_ENV": true,
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_VERSION": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true}

// envKeyRe is the pattern of an environment variable's name.
var envKeyRe = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)

// maxEnvironment is the most bytes a function's environment variables take (as JSON).
const maxEnvironment = 4096

// checkEnvironment refuses environment variables Lambda refuses: reserved names, names
// that are not names, more than 4 KB. Values are never quoted in an answer (they may be
// secrets, and answers are recorded).
func checkEnvironment(env *Environment) error {
	if env == nil {
		return nil
	}
	var reserved []string
	for k := range env.Variables {
		if reservedEnvironment[k] {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		slices.Sort(reserved)
		return invalid("Lambda was unable to configure your environment variables because the environment variables you have provided "+
			"contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	for k := range env.Variables {
		if !envKeyRe.MatchString(k) {
			return awsapi.Errorf("ValidationException", "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: "+
				"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
	}
	if b, _ := json.Marshal(env.Variables); len(b) > maxEnvironment {
		return invalid("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.")
	}
	return nil
}

// shown is the function as its configuration is answered (no tags, no code object).
func (f *Function) shown() *Function {
	c := *f
	c.Tags, c.CodeObject, c.Policy = nil, "", ""
	c.LastUpdateStatus = "Successful"
	return &c
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ---- GetFunction, GetFunctionConfiguration ----

// FunctionRef is the input of the operations that name one function.
type FunctionRef struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Qualifier    *string `json:"-" query:"Qualifier"`
}

// GetFunctionOutput is Lambda's GetFunctionResponse.
type GetFunctionOutput struct {
	Configuration *Function         `json:"Configuration"`
	Code          *CodeLocation     `json:"Code"`
	Tags          map[string]string `json:"Tags,omitempty"`
}

// CodeLocation is Lambda's FunctionCodeLocation.
type CodeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

func (s *Service) function(ctx context.Context, ref FunctionRef) (*Function, error) {
	sc, name, err := s.resolve(ctx, ref.FunctionName)
	if err != nil {
		return nil, err
	}
	if ref.Qualifier != nil && *ref.Qualifier != latest {
		return nil, notFound(FunctionARN(sc, name) + ":" + *ref.Qualifier)
	}
	if f := s.local(sc, name); f != nil {
		return f, nil
	}
	f, err := s.recs.get(ctx, sc, name)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, notFound(FunctionARN(sc, name))
	}
	return f, nil
}

// GetFunction answers a function's configuration and tags.
func (s *Service) GetFunction(ctx context.Context, in *FunctionRef) (*GetFunctionOutput, error) {
	f, err := s.function(ctx, *in)
	if err != nil {
		return nil, err
	}
	return &GetFunctionOutput{Configuration: f.shown(), Code: s.codeLocation(ctx, f), Tags: f.Tags}, nil
}

// GetFunctionConfiguration answers a function's configuration.
func (s *Service) GetFunctionConfiguration(ctx context.Context, in *FunctionRef) (*Function, error) {
	f, err := s.function(ctx, *in)
	if err != nil {
		return nil, err
	}
	return f.shown(), nil
}

// ---- ListFunctions ----

// ListFunctionsInput is Lambda's ListFunctionsRequest.
type ListFunctionsInput struct {
	Marker   *string `json:"-" query:"Marker"`
	MaxItems *int    `json:"-" query:"MaxItems"`
}

// ListFunctionsOutput is Lambda's ListFunctionsResponse.
type ListFunctionsOutput struct {
	Functions  []*Function `json:"Functions"`
	NextMarker *string     `json:"NextMarker,omitempty"`
}

// ListFunctions lists the scope's functions by name, MaxItems (at most 50) at a time.
func (s *Service) ListFunctions(ctx context.Context, in *ListFunctionsInput) (*ListFunctionsOutput, error) {
	limit := 50
	if in.MaxItems != nil {
		if *in.MaxItems < 1 || *in.MaxItems > 10000 {
			return nil, awsapi.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000", *in.MaxItems)
		}
		limit = min(*in.MaxItems, 50)
	}
	all, err := s.recs.view.List(ctx, functionsGroup(s.scopeOf(ctx)))
	if err != nil {
		return nil, fmt.Errorf("lambda: list functions: %w", err)
	}
	stored := all
	all = make([]*Function, 0, len(stored)+len(s.cfg.Locals))
	for _, f := range stored {
		if s.local(s.scopeOf(ctx), f.FunctionName) == nil { // a local function hides a stored one
			all = append(all, f)
		}
	}
	for _, sp := range s.cfg.Locals {
		all = append(all, s.local(s.scopeOf(ctx), sp.Name))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].FunctionName < all[j].FunctionName })
	out := &ListFunctionsOutput{Functions: []*Function{}}
	after := deref(in.Marker)
	for _, f := range all {
		if after != "" && f.FunctionName <= after {
			continue
		}
		if len(out.Functions) == limit {
			next := out.Functions[len(out.Functions)-1].FunctionName
			out.NextMarker = &next
			break
		}
		out.Functions = append(out.Functions, f.shown())
	}
	return out, nil
}

// ---- DeleteFunction ----

// DeleteFunction deletes a function and its code.
func (s *Service) DeleteFunction(ctx context.Context, in *FunctionRef) (*struct{}, error) {
	sc, name, qualifier, err := s.resolveQualified(ctx, in.FunctionName)
	if err != nil {
		return nil, err
	}
	// A qualifier deletes one version, never the function.
	if in.Qualifier != nil {
		if qualifier != "" && qualifier != *in.Qualifier {
			return nil, invalid("The derived qualifier from the function name does not match the specified qualifier.")
		}
		qualifier = *in.Qualifier
	}
	switch {
	case qualifier == latest:
		return nil, invalid("$LATEST version cannot be deleted without deleting the function.")
	case qualifier != "" && strings.Trim(qualifier, "0123456789") != "":
		return nil, invalid("Deletion of aliases is not supported.")
	case qualifier != "":
		return nil, notFound(FunctionARN(sc, name) + ":" + qualifier) // no published versions
	}
	if err := s.isLocal(name); err != nil {
		return nil, err
	}
	var gone *Function
	_, _, err = store.Mutate(ctx, s.recs.kv, functionKey(sc, name), s.recs.codec, func(cur *Function, _ uint64) (*Function, error) {
		if cur == nil {
			return nil, notFound(FunctionARN(sc, name))
		}
		gone = cur
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	s.rt.retire(gone.FunctionArn, "")
	s.m.forget(gone.FunctionName)
	if err := s.recs.obj.Delete(ctx, gone.CodeObject); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		s.log.WarnContext(ctx, "lambda: delete a function's code", "function", gone.FunctionArn, "err", err)
	}
	return nil, nil
}

// ---- Invoke ----

// InvokeInput is Lambda's InvocationRequest.
type InvokeInput struct {
	FunctionName   string  `json:"-" uri:"FunctionName"`
	InvocationType string  `json:"-" header:"X-Amz-Invocation-Type"`
	LogType        string  `json:"-" header:"X-Amz-Log-Type"`
	ClientContext  string  `json:"-" header:"X-Amz-Client-Context"`
	Qualifier      *string `json:"-" query:"Qualifier"`
	Payload        []byte  `json:"-" payload:""`
}

// InvokeOutput is Lambda's InvocationResponse.
type InvokeOutput struct {
	StatusCode      int    `json:"-" status:""`
	FunctionError   string `json:"-" header:"X-Amz-Function-Error"`
	LogResult       string `json:"-" header:"X-Amz-Log-Result"`
	ExecutedVersion string `json:"-" header:"X-Amz-Executed-Version"`
	Payload         []byte `json:"-" payload:""`
}

// Invoke runs a function: RequestResponse waits for its answer (200, with
// X-Amz-Function-Error when it failed and the last 4 KB of its output in X-Amz-Log-Result
// with LogType Tail), Event runs it in the background (202), DryRun only checks (204).
func (s *Service) Invoke(ctx context.Context, in *InvokeInput) (*InvokeOutput, error) {
	typ := in.InvocationType
	if typ == "" {
		typ = "RequestResponse"
	}
	if typ != "RequestResponse" && typ != "Event" && typ != "DryRun" {
		return nil, awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [Event, RequestResponse, DryRun]", in.InvocationType)
	}
	if in.LogType != "" && in.LogType != "None" && in.LogType != "Tail" {
		return nil, awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [None, Tail]", in.LogType)
	}
	payload := in.Payload
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		return nil, awsapi.Errorf("InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: Unexpected character")
	}
	f, err := s.function(ctx, FunctionRef{FunctionName: in.FunctionName, Qualifier: in.Qualifier})
	if err != nil {
		return nil, err
	}
	switch typ {
	case "DryRun":
		return &InvokeOutput{StatusCode: http.StatusNoContent}, nil
	case "Event":
		if _, err := s.enqueue(ctx, f, payload); err != nil {
			return nil, err
		}
		return &InvokeOutput{StatusCode: http.StatusAccepted}, nil
	}
	// The answer may come after the server's write timeout: as late as the function's.
	awsapi.ExtendWriteDeadline(ctx, time.Duration(f.Timeout)*time.Second+30*time.Second)
	// The caller's client context reaches the runtime as JSON (Lambda-Runtime-Client-Context).
	var clientContext string
	if in.ClientContext != "" {
		b, err := base64.StdEncoding.DecodeString(in.ClientContext)
		if err != nil || !json.Valid(b) {
			return nil, awsapi.Errorf("InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
		}
		clientContext = string(b)
	}
	// The function's request id is the Invoke call's, as on Lambda.
	id := awsapi.CallerFrom(ctx).RequestID
	if id == "" {
		id = uuid.NewString()
	}
	res, err := s.rt.invoke(ctx, f, payload, id, clientContext)
	if err != nil {
		return nil, err
	}
	out := &InvokeOutput{StatusCode: http.StatusOK, FunctionError: res.fnError, ExecutedVersion: f.Version, Payload: res.payload}
	if in.LogType == "Tail" {
		out.LogResult = base64.StdEncoding.EncodeToString(logTail(id, f, res))
	}
	return out, nil
}

// logTail is the last 4 KB of an invocation's log as Lambda returns it: what the function
// printed between the START, END and REPORT lines of request id, the REPORT line with the
// invocation's duration and, for a new process, its Init Duration.
func logTail(id string, f *Function, res result) []byte {
	printed := res.tail
	b := fmt.Appendf(nil, "START RequestId: %s Version: %s\n", id, f.Version)
	b = append(b, printed...)
	if len(printed) > 0 && printed[len(printed)-1] != '\n' {
		b = append(b, '\n')
	}
	ms := float64(res.took) / float64(time.Millisecond)
	b = fmt.Appendf(b, "END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t",
		id, id, ms, int(math.Ceil(ms)), f.MemorySize)
	if res.maxMemory == 0 && res.pid > 0 {
		res.maxMemory, _ = peakMemory(res.pid)
	}
	if res.maxMemory > 0 {
		b = fmt.Appendf(b, "Max Memory Used: %d MB\t", res.maxMemory)
	}
	if res.init > 0 {
		b = fmt.Appendf(b, "Init Duration: %.2f ms\t", float64(res.init)/float64(time.Millisecond))
	}
	if res.status != "" {
		b = fmt.Appendf(b, "Status: %s\t", res.status)
	}
	if res.errorType != "" {
		b = fmt.Appendf(b, "Error Type: %s\t", res.errorType)
	}
	b = append(b, '\n')
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return b
}

// checkLimits refuses a timeout or memory size Lambda refuses.
func checkLimits(timeout, memory int) error {
	if timeout < 1 || timeout > 900 {
		return awsapi.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1 and less than or equal to 900", timeout)
	}
	if memory < 128 || memory > 10240 {
		bound := "greater than or equal to 128"
		if memory > 10240 {
			bound = "less than or equal to 10240"
		}
		return invalid("'MemorySize' value failed to satisfy constraint: Member must have value %s", bound)
	}
	return nil
}

// update changes a function in a compare-and-set loop: fn changes it in place; the function
// gets a new RevisionId and LastModified. A RevisionId given must be the current one.
func (s *Service) update(ctx context.Context, ref string, revision *string, fn func(f *Function) error) (*Function, error) {
	return s.change(ctx, ref, revision, configChange, fn)
}

// What a change changes: the configuration (a new RevisionId and LastModified), the policy (a
// new RevisionId), or tags (neither).
type changeKind int

const (
	configChange changeKind = iota
	policyChange
	tagsChange
)

// change is update for a change of kind.
func (s *Service) change(ctx context.Context, ref string, revision *string, kind changeKind, fn func(f *Function) error) (*Function, error) {
	sc, name, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.isLocal(name); err != nil {
		return nil, err
	}
	next, _, err := store.Mutate(ctx, s.recs.kv, functionKey(sc, name), s.recs.codec, func(cur *Function, _ uint64) (*Function, error) {
		if cur == nil {
			return nil, notFound(FunctionARN(sc, name))
		}
		if revision != nil && *revision != cur.RevisionId {
			return nil, awsapi.Errorf("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "+
				"Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if err := fn(cur); err != nil {
			return nil, err
		}
		if kind != tagsChange {
			cur.RevisionId = uuid.NewString()
		}
		if kind == configChange {
			cur.LastModified = s.cfg.Clock.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
		}
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return next.shown(), nil
}

// UpdateFunctionConfigurationInput is Lambda's UpdateFunctionConfigurationRequest (the
// members Conveyor reads).
type UpdateFunctionConfigurationInput struct {
	FunctionName string       `json:"-" uri:"FunctionName"`
	Role         *string      `json:"Role"`
	Handler      *string      `json:"Handler"`
	Description  *string      `json:"Description"`
	Timeout      *int         `json:"Timeout"`
	MemorySize   *int         `json:"MemorySize"`
	Environment  *Environment `json:"Environment"`
	Runtime      *string      `json:"Runtime"`
	RevisionId   *string      `json:"RevisionId"`
	// DeadLetterConfig with an empty TargetArn removes the dead-letter queue.
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig"`
}

// UpdateFunctionConfiguration changes the members given and leaves the others; the next
// invocations run in new processes.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, in *UpdateFunctionConfigurationInput) (*Function, error) {
	if in.Role != nil && !roleRe.MatchString(*in.Role) {
		return nil, errRole(*in.Role)
	}
	if in.Runtime != nil && !supportedRuntimes[*in.Runtime] {
		return nil, invalid("The runtime parameter of %s is not supported by Conveyor (provided.al2023, provided.al2 or conveyor.command).", *in.Runtime)
	}
	if err := checkEnvironment(in.Environment); err != nil {
		return nil, err
	}
	if err := s.checkDeadLetter(ctx, in.DeadLetterConfig); err != nil {
		return nil, err
	}
	return s.update(ctx, in.FunctionName, in.RevisionId, func(f *Function) error {
		timeout, memory := f.Timeout, f.MemorySize
		if in.Timeout != nil {
			timeout = *in.Timeout
		}
		if in.MemorySize != nil {
			memory = *in.MemorySize
		}
		if err := checkLimits(timeout, memory); err != nil {
			return err
		}
		f.Timeout, f.MemorySize = timeout, memory
		if in.Role != nil {
			f.Role = *in.Role
		}
		if in.Handler != nil {
			f.Handler = *in.Handler
		}
		if in.Description != nil {
			f.Description = *in.Description
		}
		if in.Environment != nil {
			f.Environment = in.Environment
		}
		if in.Runtime != nil {
			f.Runtime = *in.Runtime
		}
		if in.DeadLetterConfig != nil {
			f.DeadLetterConfig = in.DeadLetterConfig
			if f.DeadLetterConfig.TargetArn == "" {
				f.DeadLetterConfig = nil
			}
		}
		if f.Runtime == "conveyor.command" && f.Handler == "" {
			return invalid("A conveyor.command function's Handler is the command to run.")
		}
		return nil
	})
}

// UpdateFunctionCodeInput is Lambda's UpdateFunctionCodeRequest (the members Conveyor reads).
type UpdateFunctionCodeInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	ZipFile      []byte  `json:"ZipFile"`
	S3Bucket     *string `json:"S3Bucket"`
	S3Key        *string `json:"S3Key"`
	ImageUri     *string `json:"ImageUri"`
	Publish      *bool   `json:"Publish"`
	DryRun       *bool   `json:"DryRun"`
	RevisionId   *string `json:"RevisionId"`
}

// UpdateFunctionCode replaces a function's zip; the next invocations run the new code.
func (s *Service) UpdateFunctionCode(ctx context.Context, in *UpdateFunctionCodeInput) (*Function, error) {
	if in.ZipFile == nil {
		return nil, invalid("Conveyor takes a function's code as ZipFile (S3 locations and images are not supported).")
	}
	if err := checkZip(in.ZipFile); err != nil {
		return nil, err
	}
	if in.DryRun != nil && *in.DryRun {
		f, err := s.function(ctx, FunctionRef{FunctionName: in.FunctionName})
		if err != nil {
			return nil, err
		}
		return f.shown(), nil
	}
	sum := sha256.Sum256(in.ZipFile)
	var old, object string
	f, err := s.update(ctx, in.FunctionName, in.RevisionId, func(f *Function) error {
		old = f.CodeObject
		object = strings.TrimSuffix(f.CodeObject, f.CodeObject[strings.LastIndexByte(f.CodeObject, '/')+1:]) + hex.EncodeToString(sum[:])
		if object != old {
			if _, err := s.recs.obj.PutBytes(ctx, object, in.ZipFile); err != nil {
				return fmt.Errorf("lambda: store the code of %s: %w", f.FunctionName, err)
			}
		}
		f.CodeObject, f.CodeSize, f.CodeSha256 = object, int64(len(in.ZipFile)), base64.StdEncoding.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if old != object {
		if err := s.recs.obj.Delete(ctx, old); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			s.log.WarnContext(ctx, "lambda: delete a function's old code", "function", f.FunctionArn, "err", err)
		}
	}
	return f, nil
}

func errRole(role string) error {
	return awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: "+
		"Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", role)
}

// InvokeEvent invokes the function with ARN arn asynchronously, as EventBridge invokes a
// function target (function.API): the invocation is stored before it returns; found is false
// when there is no such function.
func (s *Service) InvokeEvent(ctx context.Context, arn string, payload []byte) (bool, error) {
	f, err := s.byARN(ctx, arn)
	if err != nil || f == nil {
		return f != nil, err
	}
	_, err = s.enqueue(ctx, f, payload)
	return true, err
}

// local is the function a --function spec named name is in scope sc, or nil.
func (s *Service) local(sc scope.Scope, name string) *Function {
	for _, sp := range s.cfg.Locals {
		if sp.Name != name {
			continue
		}
		timeout := sp.Timeout
		if timeout <= 0 {
			timeout = s.cfg.DefaultTimeout
		}
		if timeout <= 0 {
			timeout = function.DefaultTimeout
		}
		return &Function{FunctionName: name, FunctionArn: FunctionARN(sc, name), Runtime: "conveyor.command", Role: "",
			Handler: strings.Join(sp.Command, " "), Description: "A local function (conveyor serve --function)",
			Timeout: int(timeout / time.Second), MemorySize: 10240, Version: latest, RevisionId: "local", State: "Active",
			PackageType: "Zip", Architectures: []string{"x86_64"}, command: sp.Command}
	}
	return nil
}

// isLocal refuses a change through the API to a --function function.
func (s *Service) isLocal(name string) error {
	for _, sp := range s.cfg.Locals {
		if sp.Name == name {
			return awsapi.Errorf("ResourceConflictException", "Function %s is a local function (conveyor serve --function): change it on the command line.", name)
		}
	}
	return nil
}
