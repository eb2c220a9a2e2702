package sqs

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/delivery"
)

// MessageAttributeValue is SQS's MessageAttributeValue shape (also used for
// message system attributes).
type MessageAttributeValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

// Message headers of queue stream messages.
const (
	headerDelay            = "Sqs-Delay"
	headerAttributes       = "Sqs-Attributes"
	headerSystemAttributes = "Sqs-System-Attributes"
	headerSender           = "Sqs-Sender"
	headerSourceQueue      = "Sqs-Dead-Letter-Source"
)

// deadLetterHeaders are the runner's dead-letter headers shown as message
// attributes, with their SQS data types.
var deadLetterHeaders = map[string]string{
	delivery.HeaderErrorCode:      "String",
	delivery.HeaderErrorMessage:   "String",
	delivery.HeaderExhaustedRetry: "String",
	delivery.HeaderRetryAttempts:  "Number",
	delivery.HeaderRuleARN:        "String",
	delivery.HeaderTargetARN:      "String",
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// checkMessageAttributes validates SendMessage's MessageAttributes as SQS
// does and returns their encoded size (name, type and value bytes).
func checkMessageAttributes(attrs map[string]MessageAttributeValue) (int, error) {
	if len(attrs) > maxMessageAttributes {
		return 0, invalidParameter("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttributes)
	}
	size := 0
	for _, name := range sortedKeys(attrs) {
		v := attrs[name]
		lower := strings.ToLower(name)
		switch {
		case !attrNameRE.MatchString(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
			return 0, invalidParameter("Message (user) attribute name '%s' is invalid. The attribute name can contain only A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.), cannot start or end with a period, cannot have successive periods, and must be at most 256 characters long.", name)
		case strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon."):
			return 0, invalidParameter("You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use.")
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		if v.DataType == "" {
			return 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if base != "String" && base != "Number" && base != "Binary" || len(v.DataType) > maxMessageAttributeTypeLength {
			return 0, invalidParameter("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return 0, invalidParameter("Message attribute list values in SendMessage operation are not supported.")
		}
		switch base {
		case "Binary":
			if v.StringValue != nil {
				return 0, invalidParameter("The message attribute '%s' with type 'Binary' must use field 'Binary'.", name)
			}
			if len(v.BinaryValue) == 0 {
				return 0, invalidParameter("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, base)
			}
			size += len(v.BinaryValue)
		default:
			if v.BinaryValue != nil {
				return 0, invalidParameter("The message attribute '%s' with type '%s' must use field 'String'.", name, base)
			}
			if v.StringValue == nil || *v.StringValue == "" {
				return 0, invalidParameter("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, base)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(strings.TrimSpace(*v.StringValue), 64); err != nil {
					return 0, invalidParameter("Can't cast the value of message (user) attribute '%s' to a number.", name)
				}
			}
			if !validBody(*v.StringValue) {
				return 0, invalidParameter("Message (user) attribute '%s' value contains invalid characters.", name)
			}
			size += len(*v.StringValue)
		}
		size += len(name) + len(v.DataType)
	}
	return size, nil
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: over the attributes sorted
// by name, each as length-prefixed (4 bytes, big endian) name and data type,
// a transport byte (1 string, 2 binary) and the length-prefixed value.
func md5OfAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range sortedKeys(attrs) {
		v := attrs[name]
		put([]byte(name))
		put([]byte(v.DataType))
		if v.BinaryValue != nil || strings.HasPrefix(v.DataType, "Binary") {
			h.Write([]byte{2})
			put(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			s := ""
			if v.StringValue != nil {
				s = *v.StringValue
			}
			put([]byte(s))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// validBody reports whether s has only the characters SQS allows: #x9 | #xA
// | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBody[S string | []byte](s S) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != 0x9 && c != 0xA && c != 0xD {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if !allowedRune(r) {
			return false
		}
		i += n
	}
	return true
}

func allowedRune(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// firstInvalidRune returns the first rune SQS refuses in s.
func firstInvalidRune(s string) rune {
	for _, r := range s {
		if !allowedRune(r) {
			return r
		}
	}
	return utf8.RuneError
}

func invalidContents(body string) error {
	return awsapi.Errorf(awsapi.CodeInvalidMessageContents, "%s", fmt.Sprintf("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", firstInvalidRune(body)))
}

// messageID derives a message's id (a UUID in form) from its queue's
// generation and its stream sequence.
func messageID(generation string, seq uint64) string {
	var in [64]byte
	b := binary.BigEndian.AppendUint64(append(in[:0], generation...), seq)
	sum := sha256.Sum256(b)
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var x [36]byte
	hex.Encode(x[0:8], u[0:4])
	hex.Encode(x[9:13], u[4:6])
	hex.Encode(x[14:18], u[6:8])
	hex.Encode(x[19:23], u[8:10])
	hex.Encode(x[24:36], u[10:16])
	x[8], x[13], x[18], x[23] = '-', '-', '-', '-'
	return string(x[:])
}

// encodeAttributes is the Sqs-Attributes header value (JSON: no CR or LF).
func encodeAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	b, _ := json.Marshal(attrs)
	return string(b)
}

// wantAttribute reports whether name is selected by MessageAttributeNames
// ("All", ".*", exact names, "prefix.*").
func wantAttribute(names []string, name string) bool {
	for _, n := range names {
		if n == "All" || n == ".*" || n == name {
			return true
		}
		if p, ok := strings.CutSuffix(n, ".*"); ok && strings.HasPrefix(name, p+".") {
			return true
		}
	}
	return false
}

// selectAttributes returns the attributes of a stored message that names
// selects.
func selectAttributes(all map[string]MessageAttributeValue, names []string) map[string]MessageAttributeValue {
	if len(names) == 0 || len(all) == 0 {
		return nil
	}
	out := map[string]MessageAttributeValue{}
	for k, v := range all {
		if wantAttribute(names, k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
