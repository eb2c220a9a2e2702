package catalog

import (
	"encoding/json"
	"slices"
	"time"
)

// Kind names the kind of a catalog record.
type Kind string

// The kinds of catalog records.
const (
	KindBus            Kind = "bus"
	KindRule           Kind = "rule"
	KindConnection     Kind = "connection"
	KindAPIDestination Kind = "api-destination"
)

// DefaultBusName is the name of the bus every account has.
const DefaultBusName = "default"

// Rule states, as AWS spells them.
const (
	StateEnabled                        = "ENABLED"
	StateDisabled                       = "DISABLED"
	StateEnabledWithAllCloudTrailEvents = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// Tags are the tags of one resource, key to value.
type Tags map[string]string

// Keys returns the tag keys in byte order.
func (t Tags) Keys() []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DeadLetterConfig names the queue that receives what could not be delivered
// (AWS's DeadLetterConfig shape).
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// LogConfig is a bus's logging configuration (AWS's LogConfig shape). It is
// kept and returned; Conveyor does not act on it.
type LogConfig struct {
	IncludeDetail string `json:"IncludeDetail,omitempty"`
	Level         string `json:"Level,omitempty"`
}

// Bus is an event bus.
type Bus struct {
	Name             string            `json:"Name"`
	ARN              string            `json:"Arn"`
	Description      string            `json:"Description,omitempty"`
	KmsKeyIdentifier string            `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	LogConfig        *LogConfig        `json:"LogConfig,omitempty"`
	// Policy is the bus's resource policy document, if one was set.
	Policy           string    `json:"Policy,omitempty"`
	Tags             Tags      `json:"Tags,omitempty"`
	CreationTime     time.Time `json:"CreationTime"`
	LastModifiedTime time.Time `json:"LastModifiedTime"`

	// Revision is the KV revision the record was read at or written as.
	Revision uint64 `json:"-"`
}

// Rule is a rule of a bus, with its targets.
type Rule struct {
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName"`
	ARN          string `json:"Arn"`
	// EventPattern is the pattern as the client sent it (AWS returns it
	// unchanged).
	EventPattern string `json:"EventPattern,omitempty"`
	// ScheduleExpression is kept for scheduled rules (rate/cron).
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	RoleArn            string `json:"RoleArn,omitempty"`
	// ManagedBy is set on rules that a service created for itself (for
	// example an archive's rule); such rules change only with Force.
	ManagedBy string `json:"ManagedBy,omitempty"`
	// CreatedBy is the account that created the rule.
	CreatedBy        string    `json:"CreatedBy,omitempty"`
	Targets          []Target  `json:"Targets,omitempty"`
	Tags             Tags      `json:"Tags,omitempty"`
	CreationTime     time.Time `json:"CreationTime"`
	LastModifiedTime time.Time `json:"LastModifiedTime"`

	// Revision is the KV revision the record was read at or written as.
	Revision uint64 `json:"-"`
}

// Enabled reports whether the rule's state lets events through.
func (r *Rule) Enabled() bool {
	return r.State == StateEnabled || r.State == StateEnabledWithAllCloudTrailEvents
}

// Target returns the rule's target with the given id, or nil.
func (r *Rule) Target(id string) *Target {
	for i := range r.Targets {
		if r.Targets[i].Id == id {
			return &r.Targets[i]
		}
	}
	return nil
}

// Target is a rule's target, in AWS's Target shape (the JSON member names
// are AWS's, so the same type serves the API and the store). The parameters
// of target kinds Conveyor does not deliver to are kept verbatim.
type Target struct {
	Id               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            string            `json:"Input,omitempty"`
	InputPath        string            `json:"InputPath,omitempty"`
	InputTransformer *InputTransformer `json:"InputTransformer,omitempty"`
	HttpParameters   *HttpParameters   `json:"HttpParameters,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	SqsParameters    *SqsParameters    `json:"SqsParameters,omitempty"`

	KinesisParameters           *KinesisParameters `json:"KinesisParameters,omitempty"`
	RunCommandParameters        json.RawMessage    `json:"RunCommandParameters,omitempty"`
	EcsParameters               json.RawMessage    `json:"EcsParameters,omitempty"`
	BatchParameters             json.RawMessage    `json:"BatchParameters,omitempty"`
	RedshiftDataParameters      json.RawMessage    `json:"RedshiftDataParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage    `json:"SageMakerPipelineParameters,omitempty"`
	AppSyncParameters           json.RawMessage    `json:"AppSyncParameters,omitempty"`
}

// InputTransformer is AWS's InputTransformer shape.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// HttpParameters is AWS's HttpParameters shape (for API destination and API
// Gateway targets).
type HttpParameters struct {
	PathParameterValues   []string          `json:"PathParameterValues,omitempty"`
	HeaderParameters      map[string]string `json:"HeaderParameters,omitempty"`
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// RetryPolicy is AWS's RetryPolicy shape. Nil fields take AWS's defaults
// (DefaultMaximumRetryAttempts, DefaultMaximumEventAgeInSeconds).
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// AWS's retry defaults for a target without a RetryPolicy.
const (
	DefaultMaximumRetryAttempts     = 185
	DefaultMaximumEventAgeInSeconds = 86400
)

// Effective returns the policy's attempts and age limit with AWS's defaults
// filled in; p may be nil.
func (p *RetryPolicy) Effective() (attempts int, maxAge time.Duration) {
	attempts, age := DefaultMaximumRetryAttempts, DefaultMaximumEventAgeInSeconds
	if p != nil && p.MaximumRetryAttempts != nil {
		attempts = *p.MaximumRetryAttempts
	}
	if p != nil && p.MaximumEventAgeInSeconds != nil {
		age = *p.MaximumEventAgeInSeconds
	}
	return attempts, time.Duration(age) * time.Second
}

// SqsParameters is AWS's SqsParameters shape.
type SqsParameters struct {
	MessageGroupId string `json:"MessageGroupId,omitempty"`
}

// KinesisParameters is AWS's KinesisParameters shape.
type KinesisParameters struct {
	PartitionKeyPath string `json:"PartitionKeyPath"`
}

// Connection authorization types.
const (
	AuthBasic                  = "BASIC"
	AuthAPIKey                 = "API_KEY"
	AuthOAuthClientCredentials = "OAUTH_CLIENT_CREDENTIALS"
)

// Connection states (the subset Conveyor's connections are ever in). An
// OAuth connection is AUTHORIZING from its creation or update until its
// authorization endpoint has answered with a token (AUTHORIZED) or not
// (DEAUTHORIZED, the reason in StateReason).
const (
	ConnectionAuthorizing  = "AUTHORIZING"
	ConnectionAuthorized   = "AUTHORIZED"
	ConnectionDeauthorized = "DEAUTHORIZED"
)

// Connection is a connection: how to authorize requests to API destinations.
// Its Auth holds the secrets, which the catalog stores and the HTTP target
// uses; the API never returns them.
type Connection struct {
	Name              string         `json:"Name"`
	ARN               string         `json:"Arn"`
	Description       string         `json:"Description,omitempty"`
	State             string         `json:"ConnectionState"`
	StateReason       string         `json:"StateReason,omitempty"`
	AuthorizationType string         `json:"AuthorizationType"`
	Auth              ConnectionAuth `json:"AuthParameters"`
	KmsKeyIdentifier  string         `json:"KmsKeyIdentifier,omitempty"`
	// SecretArn is the Secrets Manager ARN AWS would show for the secret
	// holding Auth; Conveyor keeps the secret in the catalog itself.
	SecretArn          string    `json:"SecretArn"`
	Tags               Tags      `json:"Tags,omitempty"`
	CreationTime       time.Time `json:"CreationTime"`
	LastModifiedTime   time.Time `json:"LastModifiedTime"`
	LastAuthorizedTime time.Time `json:"LastAuthorizedTime"`

	// Revision is the KV revision the record was read at or written as.
	Revision uint64 `json:"-"`
}

// ConnectionAuth is the authorization of a connection, secrets included, in
// the shape of AWS's CreateConnectionAuthRequestParameters.
type ConnectionAuth struct {
	BasicAuthParameters      *BasicAuth                `json:"BasicAuthParameters,omitempty"`
	ApiKeyAuthParameters     *APIKeyAuth               `json:"ApiKeyAuthParameters,omitempty"`
	OAuthParameters          *OAuth                    `json:"OAuthParameters,omitempty"`
	InvocationHttpParameters *ConnectionHttpParameters `json:"InvocationHttpParameters,omitempty"`
}

// BasicAuth is HTTP basic authorization.
type BasicAuth struct {
	Username string `json:"Username"`
	Password string `json:"Password,omitempty"`
}

// APIKeyAuth sends ApiKeyValue in the header ApiKeyName.
type APIKeyAuth struct {
	ApiKeyName  string `json:"ApiKeyName"`
	ApiKeyValue string `json:"ApiKeyValue,omitempty"`
}

// OAuth is the OAuth client-credentials authorization.
type OAuth struct {
	ClientParameters      *OAuthClient              `json:"ClientParameters,omitempty"`
	AuthorizationEndpoint string                    `json:"AuthorizationEndpoint,omitempty"`
	HttpMethod            string                    `json:"HttpMethod,omitempty"`
	OAuthHttpParameters   *ConnectionHttpParameters `json:"OAuthHttpParameters,omitempty"`
}

// OAuthClient is an OAuth client id and secret.
type OAuthClient struct {
	ClientID     string `json:"ClientID"`
	ClientSecret string `json:"ClientSecret,omitempty"`
}

// ConnectionHttpParameters are extra headers, query parameters and body
// fields sent with every request through a connection.
type ConnectionHttpParameters struct {
	HeaderParameters      []ConnectionParameter `json:"HeaderParameters,omitempty"`
	QueryStringParameters []ConnectionParameter `json:"QueryStringParameters,omitempty"`
	BodyParameters        []ConnectionParameter `json:"BodyParameters,omitempty"`
}

// ConnectionParameter is one key/value of ConnectionHttpParameters.
type ConnectionParameter struct {
	Key           string `json:"Key,omitempty"`
	Value         string `json:"Value,omitempty"`
	IsValueSecret bool   `json:"IsValueSecret,omitempty"`
}

// API destination state.
const (
	DestinationActive   = "ACTIVE"
	DestinationInactive = "INACTIVE"
)

// DefaultInvocationRateLimitPerSecond is AWS's default rate limit of an API
// destination.
const DefaultInvocationRateLimitPerSecond = 300

// APIDestination is an HTTP endpoint that rules can target through a
// connection.
type APIDestination struct {
	Name                         string    `json:"Name"`
	ARN                          string    `json:"Arn"`
	Description                  string    `json:"Description,omitempty"`
	State                        string    `json:"ApiDestinationState"`
	ConnectionArn                string    `json:"ConnectionArn"`
	InvocationEndpoint           string    `json:"InvocationEndpoint"`
	HttpMethod                   string    `json:"HttpMethod"`
	InvocationRateLimitPerSecond int       `json:"InvocationRateLimitPerSecond"`
	Tags                         Tags      `json:"Tags,omitempty"`
	CreationTime                 time.Time `json:"CreationTime"`
	LastModifiedTime             time.Time `json:"LastModifiedTime"`

	// Revision is the KV revision the record was read at or written as.
	Revision uint64 `json:"-"`
}
