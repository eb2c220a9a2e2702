package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store"
)

// Bucket is the KV bucket of functions; CodeBucket the object store of their code.
const (
	Bucket     = "conveyor-lambda"
	CodeBucket = "conveyor-lambda-code"
)

// Function is a function's record: its configuration as Lambda shows it
// (FunctionConfiguration), its tags and the key of its code.
type Function struct {
	FunctionName string       `json:"FunctionName"`
	FunctionArn  string       `json:"FunctionArn"`
	Runtime      string       `json:"Runtime,omitempty"`
	Role         string       `json:"Role"`
	Handler      string       `json:"Handler,omitempty"`
	CodeSize     int64        `json:"CodeSize"`
	Description  string       `json:"Description"`
	Timeout      int          `json:"Timeout"`
	MemorySize   int          `json:"MemorySize"`
	LastModified string       `json:"LastModified"`
	CodeSha256   string       `json:"CodeSha256"`
	Version      string       `json:"Version"`
	Environment  *Environment `json:"Environment,omitempty"`
	RevisionId   string       `json:"RevisionId"`
	State        string       `json:"State"`
	// LastUpdateStatus is always Successful when shown: a function is
	// ready as soon as it is created or updated (the waiters
	// function-updated and function-updated-v2 read it).
	LastUpdateStatus string            `json:"LastUpdateStatus,omitempty"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	Tags             map[string]string `json:"Tags,omitempty"`
	// DeadLetterConfig is the function's dead-letter queue, nil for none.
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	// CodeObject names the function's zip in the code object store.
	CodeObject string `json:"ConveyorCodeObject,omitempty"`
	// Policy is the function's resource policy (GetPolicy), "" when it has none.
	Policy string `json:"ConveyorPolicy,omitempty"`
	// command is a local function's command (its code is Conveyor's working directory).
	command []string
}

// Environment is a function's environment variables.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// records is the functions' bucket, and an in-memory view of it for lists.
type records struct {
	kv    jetstream.KeyValue
	obj   jetstream.ObjectStore
	view  *store.Mirror[*Function]
	codec store.Codec[Function]
}

func openRecords(ctx context.Context, js jetstream.JetStream, replicas int, box *secrets.Box, log *slog.Logger) (*records, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1,
		Description: "Conveyor Lambda functions", Storage: jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("lambda: open bucket %s: %w", Bucket, err)
	}
	obj, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: CodeBucket,
		Description: "Conveyor Lambda functions' code", Storage: jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("lambda: open object store %s: %w", CodeBucket, err)
	}
	c := sealing(box)
	view, err := store.NewMirror(ctx, js, kv, c.Decode, log)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	return &records{kv: kv, obj: obj, view: view, codec: c}, nil
}

// sealing is the codec of function records: with a box, the values of a function's
// environment variables are sealed in the store (bound to the function and the variable), as
// Lambda encrypts them at rest, and opened as they are read.
func sealing(box *secrets.Box) store.Codec[Function] {
	where := func(f *Function, name string) string { return f.FunctionArn + "#Environment.Variables." + name }
	return store.Codec[Function]{
		Decode: func(e jetstream.KeyValueEntry) (*Function, error) {
			var f Function
			if err := json.Unmarshal(e.Value(), &f); err != nil {
				return nil, fmt.Errorf("lambda: decode %s: %w", e.Key(), err)
			}
			if box != nil && f.Environment != nil {
				for k, v := range f.Environment.Variables {
					clear, err := box.Open(v, where(&f, k))
					if err != nil {
						return nil, fmt.Errorf("lambda: decode %s: variable %s: %w", e.Key(), k, err)
					}
					f.Environment.Variables[k] = clear
				}
			}
			return &f, nil
		},
		Encode: func(f *Function) ([]byte, error) {
			if box == nil || f.Environment == nil {
				return json.Marshal(f)
			}
			sealed := *f
			sealed.Environment = &Environment{Variables: make(map[string]string, len(f.Environment.Variables))}
			for k, v := range f.Environment.Variables {
				sealed.Environment.Variables[k] = box.Seal(v, where(f, k))
			}
			return json.Marshal(&sealed)
		},
	}
}

// functionsGroup is the mirror group of a scope's functions; functionKey one function's key.
func functionsGroup(sc scope.Scope) string {
	return "fn." + store.Token(sc.Account) + "." + store.Token(sc.Region)
}

func functionKey(sc scope.Scope, name string) string {
	return functionsGroup(sc) + "." + store.Token(name)
}

// get returns the function, or nil.
func (r *records) get(ctx context.Context, sc scope.Scope, name string) (*Function, error) {
	e, err := r.kv.Get(ctx, functionKey(sc, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lambda: get %s: %w", name, err)
	}
	return r.codec.Decode(e)
}
