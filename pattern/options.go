package pattern

// DefaultMaxLength is EventBridge's default limit on the size of an event
// pattern, in characters.
const DefaultMaxLength = 2048

// Options holds the settings that Parse and a Matcher share. Build one with
// NewOptions.
type Options struct {
	// MaxLength is the longest pattern accepted, in characters (UTF-16 code
	// units, as AWS counts them). Zero or less means no limit.
	MaxLength int
}

// An Option changes one setting of Parse or of a Matcher.
type Option func(*Options)

// WithMaxLength sets the longest pattern accepted, in characters; n <= 0
// removes the limit. The default is DefaultMaxLength.
func WithMaxLength(n int) Option {
	return func(o *Options) { o.MaxLength = n }
}

// NewOptions returns the defaults with opts applied in order.
func NewOptions(opts ...Option) Options {
	o := Options{MaxLength: DefaultMaxLength}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
