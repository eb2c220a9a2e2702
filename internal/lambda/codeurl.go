package lambda

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/secrets"
)

// CodePath is where the zips GetFunction's Code.Location names are served (GET, with the
// URL's token): Lambda's presigned S3 URL, as Conveyor gives it.
const CodePath = "/conveyor/lambda-code"

// codeURLTTL is how long a Code.Location URL may be used, as Lambda's: ten minutes.
const codeURLTTL = 10 * time.Minute

// codeURLContext binds the URLs' sealed tokens to their use.
const codeURLContext = "lambda code url"

// codeURLBox is the box that seals Code.Location tokens: the secrets box when there is one
// (every Conveyor sharing the store opens the others' URLs), else a key of this process's.
func codeURLBox(box *secrets.Box) (*secrets.Box, error) {
	if box != nil {
		return box, nil
	}
	key := make([]byte, secrets.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("lambda: a key for code URLs: %w", err)
	}
	return secrets.New(key)
}

// codeLocation is f's Code: a URL on the host the caller called that serves f's zip for
// ten minutes (none for a local function, which has no zip).
func (s *Service) codeLocation(ctx context.Context, f *Function) *CodeLocation {
	loc := &CodeLocation{RepositoryType: "S3"}
	if f.CodeObject == "" {
		return loc
	}
	host := awsapi.CallerFrom(ctx).Host
	if host == "" {
		host = "localhost"
	}
	expires := s.cfg.Clock.Now().Add(codeURLTTL).Unix()
	token := s.urls.Seal(f.CodeObject+"\n"+strconv.FormatInt(expires, 10), codeURLContext)
	loc.Location = "http://" + host + CodePath + "?token=" + url.QueryEscape(token)
	return loc
}

// CodeHandler serves the zip a Code.Location URL names, to whoever has the URL until it
// expires (as a presigned S3 URL); errors are S3's.
func (s *Service) CodeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		var plain string
		err := errors.New("not sealed")
		if token != "" && secrets.Sealed(token) {
			plain, err = s.urls.Open(token, codeURLContext)
		}
		object, exp, ok := strings.Cut(plain, "\n")
		expires, perr := strconv.ParseInt(exp, 10, 64)
		switch {
		case err != nil || !ok || perr != nil:
			s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
			return
		case s.cfg.Clock.Now().Unix() > expires:
			s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
			return
		}
		data, err := s.recs.obj.GetBytes(r.Context(), object)
		switch {
		case errors.Is(err, jetstream.ErrObjectNotFound):
			s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		case err != nil:
			s.log.Warn("lambda: serving a function's code failed", "err", err)
			s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
}

// s3Error answers an error as S3 does: its XML error document.
func s3Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, message)
}
