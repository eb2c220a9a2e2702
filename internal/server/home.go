package server

import (
	"html/template"
	"net/http"
)

// homePage is what a person who opens Conveyor's address in a browser
// reads: what it is, and how to point the AWS CLI at it.
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conveyor</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
code,pre{font-family:ui-monospace,monospace;background:#f2f2f2;border-radius:4px}pre{padding:.75rem;overflow-x:auto}</style>
</head><body>
<h1>Conveyor</h1>
<p>A self-hosted, AWS-compatible event router and API audit trail: the EventBridge, SQS and CloudTrail APIs on this
port, for the AWS CLI and the AWS SDKs.</p>
<p><strong><a href="/console/">Open the console</a></strong>: Event history, buses and rules, a pattern sandbox.</p>
<p>Version: <code>{{.Version}}</code>. Region <code>{{.Region}}</code>, account <code>{{.Account}}</code> by default.</p>
<h2>Point the AWS CLI at it</h2>
<pre>export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION={{.Region}}
aws --endpoint-url {{.URL}} events list-event-buses
aws --endpoint-url {{.URL}} sqs list-queues
aws --endpoint-url {{.URL}} cloudtrail lookup-events --max-results 5</pre>
<p>Health: <a href="/healthz">/healthz</a>. Metrics (Prometheus): <a href="/metrics">/metrics</a>.</p>
</body></html>
`))

// home serves GET / to browsers; a GET with a query string is an API call
// and goes to api.
func (s *Server) home(api http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			api.ServeHTTP(w, r)
			return
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = homePage.Execute(w, struct{ Version, Region, Account, URL string }{
			Version(), s.cfg.Region, s.cfg.Account, scheme + "://" + r.Host})
	}
}
