package pattern

// DefaultMaxLength is EventBridge's default limit on the size of an event
// pattern, in characters.
const DefaultMaxLength = 2048

// options holds the settings that Validate, Test and a Matcher share. Build
// one with newOptions.
type options struct {
	// MaxLength is the longest pattern accepted, in characters (UTF-16 code
	// units, as AWS counts them). Zero or less means no limit.
	MaxLength int
}

// An Option changes one setting of Validate, Test or a Matcher.
type Option func(*options)

// WithMaxLength sets the longest pattern accepted, in characters; n <= 0
// removes the limit. The default is DefaultMaxLength.
func WithMaxLength(n int) Option {
	return func(o *options) { o.MaxLength = n }
}

// newOptions returns the defaults with opts applied in order.
func newOptions(opts ...Option) options {
	o := options{MaxLength: DefaultMaxLength}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
