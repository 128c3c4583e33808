package server

import (
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// routes registers the server's HTTP handlers:
//
//	GET /                             a plain list of the newest runs (the dashboard replaces it)
//	GET /runs/{id}/export.json        ExportRun as a download
//	GET /runs/{id}/series.csv?key=K   one series at full resolution, streamed (seriesdownload.go)
//	GET /runs/{id}/series.json?key=K  the same as JSON
//	GET /runs/{id}/artifacts/{name…}  an artifact of a run, by name
//	GET /artifacts/{sha256}           an artifact's content, by sha256
//	GET /runs.csv, GET /runs.json     the runs table (QueryRuns) as a download (table.go)
//	GET /sync                         the live state over WebSocket (syncstruct)
func (s *Server) routes() {
	s.http.HandleFunc("GET /{$}", s.serveIndex)
	s.http.HandleFunc("GET /runs/{id}/export.json", s.serveExport)
	s.http.HandleFunc("GET /runs/{id}/series.csv", s.serveSeries("csv"))
	s.http.HandleFunc("GET /runs/{id}/series.json", s.serveSeries("json"))
	s.http.HandleFunc("GET /runs/{id}/artifacts/{name...}", s.serveRunArtifact)
	s.http.HandleFunc("GET /artifacts/{sha}", s.serveBlob)
	s.http.HandleFunc("GET /runs.csv", s.serveTable)
	s.http.HandleFunc("GET /runs.json", s.serveTable)
	s.http.Handle("GET /sync", s.pub)
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, store.ErrUnknownRun), errors.Is(err, store.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, store.ErrBadRecord):
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>sigoco runs</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}</style></head>
<body><h1>Runs</h1>
<table><tr><th>project</th><th>name</th><th>status</th><th>progress</th><th>step</th><th>started</th><th>export</th></tr>
{{range .}}<tr><td>{{.Project}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{printf "%.0f" .Progress}}%</td><td>{{.Step}}</td>
<td>{{.Start.Format "2006-01-02 15:04:05"}}</td><td><a href="/runs/{{.ID}}/export.json">json</a></td></tr>
{{end}}</table></body></html>
`))

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	page, err := s.st.ListRuns(r.Context(), store.RunFilter{Limit: 200})
	if err != nil {
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'") // no script at all
	indexTmpl.Execute(w, page.Runs)
}

func (s *Server) serveExport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, err := s.export(r.Context(), id)
	if err != nil {
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", contentDisposition("attachment", "run-"+id+".json"))
	w.Write(b)
}

func (s *Server) serveRunArtifact(w http.ResponseWriter, r *http.Request) {
	run, err := s.st.ViewRun(r.Context(), r.PathValue("id"), probeView) // its artifacts, not its values
	if err != nil {
		httpError(w, err)
		return
	}
	name := r.PathValue("name")
	for _, a := range run.Artifacts {
		if a.Name == name {
			s.sendBlob(w, r, a.Sha256, a.Name, a.ContentType)
			return
		}
	}
	httpError(w, fmt.Errorf("%w: run %s has no artifact %q", store.ErrNotFound, run.ID, name))
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request) {
	s.sendBlob(w, r, r.PathValue("sha"), r.URL.Query().Get("name"), "")
}

// ArtifactCSP is the Content-Security-Policy of every artifact response:
// a sandboxed document (an opaque origin, no script, no forms, no plugins)
// that may load nothing. An uploaded HTML or SVG file opened from the
// dashboard therefore runs no script on the dashboard's origin, even
// where a browser would render it rather than download it.
const ArtifactCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

// inlineTypes are the media types an artifact is shown in the browser as
// (previews): plain text, CSV and raster images. Every other type,
// SVG and HTML included, is served as an attachment (a download).
var inlineTypes = map[string]bool{
	"text/plain":                true,
	"text/csv":                  true,
	"text/tab-separated-values": true,
	"image/png":                 true,
	"image/jpeg":                true,
	"image/gif":                 true,
	"image/webp":                true,
	"image/avif":                true,
	"image/bmp":                 true,
}

// artifactType decides how an artifact is served: its Content-Type (the
// recorded one, else the name's extension, else application/octet-stream
// — never sniffed from the content, which an uploader controls) and
// whether it may be shown inline.
func artifactType(ctype, name string) (string, bool) {
	if ctype == "" && name != "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || ctype == "" {
		return "application/octet-stream", false
	}
	if !inlineTypes[mt] {
		// Keep the type (a download is saved with it), drop its
		// parameters: they were the uploader's.
		return mt, false
	}
	if strings.HasPrefix(mt, "text/") {
		cs := strings.ToLower(params["charset"])
		if cs == "" || cs == "utf-7" {
			cs = "utf-8"
		}
		return mime.FormatMediaType(mt, map[string]string{"charset": cs}), true
	}
	return mt, true
}

// contentDisposition is the Content-Disposition header of a download or
// an inline view named name (its last path element), encoded as RFC 6266
// wants (RFC 2231 for names that are not plain ASCII).
func contentDisposition(disp, name string) string {
	if name == "" {
		return disp
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": path.Base(name)}); v != "" {
		return v
	}
	return disp
}

// sendBlob serves an artifact's content so that it can never act as a
// page of the dashboard's origin: with nosniff, the sandbox CSP
// (ArtifactCSP), a Content-Type that is never sniffed, and as an
// attachment unless its type is one of the safe inline types.
func (s *Server) sendBlob(w http.ResponseWriter, r *http.Request, sha, name, ctype string) {
	f, _, err := s.st.OpenBlob(r.Context(), sha)
	if err != nil {
		httpError(w, err)
		return
	}
	defer f.Close()
	ct, inline := artifactType(ctype, name)
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", ArtifactCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if inline {
		h.Set("Content-Disposition", contentDisposition("inline", name))
	} else {
		h.Set("Content-Disposition", contentDisposition("attachment", name))
	}
	h.Set("ETag", `"`+sha+`"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}
