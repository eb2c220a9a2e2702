package eventbridge

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
)

// defaultPageSize is the page size of List operations called without Limit.
const defaultPageSize = 100

// pageToken is what a NextToken holds: the key of the last item returned
// and a hash of the query it belongs to, so that a token is refused by
// another query (another operation, bus, prefix…). Tokens are base64url of
// JSON: opaque to clients, and checked when they come back.
type pageToken struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// queryHash identifies a List query by its operation and parameters.
func queryHash(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodePageToken(query, after string) string {
	b, _ := json.Marshal(pageToken{After: after, Query: query}) // cannot fail: two strings
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken returns the key to continue after ("" without a token).
func decodePageToken(token *string, query string) (string, error) {
	if token == nil {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil {
		return "", errInvalidNextToken()
	}
	var t pageToken
	if err := json.Unmarshal(raw, &t); err != nil || t.Query != query || t.After == "" {
		return "", errInvalidNextToken()
	}
	return t.After, nil
}

// page returns the page of items (sorted by key, keys unique) that follows
// after, and the NextToken of the next page (nil at the end).
func page[T any](items []T, key func(T) string, limit *int, query, after string) ([]T, *string) {
	n := defaultPageSize
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
	tok := encodePageToken(query, key(items[n-1]))
	return items[:n], &tok
}
