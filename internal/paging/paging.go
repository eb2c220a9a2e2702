package paging

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// DefaultSize is the page size of a List operation called without Limit.
const DefaultSize = 100

// token is what a NextToken holds.
type token struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// Query identifies a List query by its operation and parameters.
func Query(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// Token is the NextToken of the page that follows the item with key after.
func Token(query, after string) string {
	b, _ := json.Marshal(token{After: after, Query: query}) // cannot fail: two strings
	return base64.RawURLEncoding.EncodeToString(b)
}

// After returns the key a NextToken continues after ("" without a token),
// or AWS's ValidationException for a token that is not one of query's.
func After(tok *string, query string) (string, error) {
	if tok == nil {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	var t token
	if err != nil || json.Unmarshal(raw, &t) != nil || t.Query != query || t.After == "" {
		return "", awsapi.ValidationError("The NextToken provided is not valid.")
	}
	return t.After, nil
}

// Page returns the page of items (sorted by key, keys unique) that follows
// after, at most limit of them (DefaultSize when nil), and the NextToken of
// the next page (nil at the end).
func Page[T any](items []T, key func(T) string, limit *int, query, after string) ([]T, *string) {
	n := DefaultSize
	if limit != nil {
		n = *limit
	}
	start := 0
	if after != "" {
		for start < len(items) && strings.Compare(key(items[start]), after) <= 0 {
			start++
		}
	}
	items = items[start:]
	if len(items) <= n {
		return items, nil
	}
	tok := Token(query, key(items[n-1]))
	return items[:n], &tok
}
