package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/conveyor/conveyor/internal/plainhttp"
)

// benchTransport posts one AWS JSON request (the operation named by an
// X-Amz-Target value) and appends the answer's body to out; close closes
// its idle connections (the minimal client's close by themselves).
type benchTransport interface {
	post(ctx context.Context, target, contentType string, body, out []byte) (status int, resp []byte, err error)
	close()
}

// newBenchTransport returns the bench commands' client for the server at
// url: kind "minimal" (benchConns) or "net/http" (an http.Client keeping up
// to conns idle connections).
func newBenchTransport(kind, url string, conns int) (benchTransport, error) {
	switch kind {
	case "minimal":
		return newMinimalTransport(url)
	case "net/http":
		return netHTTPTransport{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}, url: url}, nil
	}
	return nil, fmt.Errorf("--client %q: want minimal or net/http", kind)
}

// netHTTPTransport posts through net/http to the server at url.
type netHTTPTransport struct {
	client *http.Client
	url    string
}

func (t netHTTPTransport) close() { t.client.CloseIdleConnections() }

func (t netHTTPTransport) post(ctx context.Context, target, contentType string, body, out []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+"/", bytes.NewReader(body))
	if err != nil {
		return 0, out, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", target)
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, out, err
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(out)
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// minimalTransport posts through plainhttp's lean client (kept-alive
// connections, no goroutine besides the caller's), so that the load
// generator takes little of the machine it measures.
type minimalTransport struct {
	client *plainhttp.Client
	url    *neturl.URL
}

func newMinimalTransport(url string) (minimalTransport, error) {
	u, err := neturl.Parse(url + "/")
	if err != nil {
		return minimalTransport{}, err
	}
	if u.Scheme != "http" {
		return minimalTransport{}, fmt.Errorf("the minimal client speaks http://, not %s (--client net/http does)", u.Scheme)
	}
	return minimalTransport{client: plainhttp.New(), url: u}, nil
}

func (t minimalTransport) close() {}

func (t minimalTransport) post(ctx context.Context, target, contentType string, body, out []byte) (int, []byte, error) {
	h := http.Header{"Content-Type": {contentType}, "X-Amz-Target": {target}}
	status, err := t.client.Do(ctx, time.Now().Add(time.Minute), http.MethodPost, t.url, h, body, true, &out)
	return status, out, err
}
