package verify

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/pades"
)

// PrefersHTML reports whether an Accept header (RFC 9110 §12.5.1) ranks
// text/html above application/json: a browser's does, an API client's
// (or none) does not.
func PrefersHTML(accept string) bool {
	if len(accept) > 1024 {
		accept = accept[:1024]
	}
	return quality(accept, "text", "html") > quality(accept, "application", "json")
}

// quality returns the q-value the header gives type/sub: that of the most
// specific matching range (an exact match, then type/*, then */*), or 0
// if none matches (so an empty header prefers neither, which PrefersHTML
// reads as JSON).
func quality(accept, typ, sub string) float64 {
	best, bestSpec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		t, s, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		spec := -1
		switch {
		case t == typ && s == sub:
			spec = 2
		case t == typ && s == "*":
			spec = 1
		case t == "*" && s == "*":
			spec = 0
		}
		if spec < bestSpec || spec < 0 {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		if spec > bestSpec || q > best {
			best, bestSpec = q, spec
		}
	}
	return best
}

// page is what the HTML template shows.
type page struct {
	Kind   string
	PDF    *pades.Report
	Bundle *evidence.Report
	Time   string
}

var pageTemplate = template.Must(template.New("verify").Funcs(template.FuncMap{
	"stamp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signet verification report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}.VALID,.valid,.passed{color:#060}.INVALID,.invalid,.failed{color:#a00}.INDETERMINATE,.indeterminate{color:#a60}</style>
</head>
<body>
<h1>Verification report</h1>
<p>Validated at {{.Time}}. Nothing you sent was stored.</p>
{{with .Bundle}}
<h2>Evidence bundle: <span class="{{.Indication}}">{{.Indication}}</span>{{with .SubIndication}} ({{.}}){{end}}</h2>
<p>Envelope {{.EnvelopeID}} of tenant {{.Tenant}}.{{with .Timestamp}} Latest time-stamp {{.Time.UTC.Format "2006-01-02T15:04:05Z07:00"}} by {{.Authority}}{{with .RenewalDue}}; renew by {{.UTC.Format "2006-01-02"}}{{end}}.{{end}}</p>
<h3>Checks</h3>
<table><tr><th>Check</th><th>Status</th><th>Detail</th></tr>
{{range .Checks}}<tr><td>{{.Name}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{if .Findings}}<h3>Findings</h3>
<table><tr><th>Code</th><th>Indication</th><th>File</th><th>Detail</th></tr>
{{range .Findings}}<tr><td>{{.Code}}</td><td class="{{.Indication}}">{{.Indication}}</td><td>{{.Path}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{end}}
{{range $path, $r := .Documents}}<h3>{{$path}}</h3>{{template "pdf" $r}}{{end}}
{{end}}
{{with .PDF}}<h2>PDF: <span class="{{if .Valid}}valid{{else}}invalid{{end}}">{{if .Valid}}every signature is valid{{else}}not every signature is valid{{end}}</span></h2>
{{template "pdf" .}}{{end}}
</body>
</html>
{{define "pdf"}}<p>{{len .Signatures}} signature(s), {{.Revisions}} revision(s), {{.Size}} bytes.</p>
<table><tr><th>Field</th><th>Kind</th><th>Verdict</th><th>Signer</th><th>Time-stamp</th><th>Level</th><th>Reason</th></tr>
{{range .Signatures}}<tr><td>{{.Field}}</td><td>{{.Kind}}</td><td class="{{.Verdict}}">{{.Indication}}{{with .SubIndication}}/{{.}}{{end}}</td><td>{{with .Signer}}{{.Subject}} (serial {{.Serial}}){{end}}</td><td>{{stamp .TimestampTime}}</td><td>{{.Level}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}`))

// writeHTML answers the report as an HTML page (html/template escapes
// every value: names and details come from the input).
func writeHTML(w http.ResponseWriter, r *http.Request, ans *Answer, now time.Time) {
	p := page{Kind: ans.Kind, Time: now.UTC().Format(time.RFC3339)}
	switch rep := ans.Report.(type) {
	case *pades.Report:
		p.PDF = rep
	case *evidence.Report:
		p.Bundle = rep
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
