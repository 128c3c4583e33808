package server

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// routes registers the server's HTTP handlers:
//
//	GET /                             a plain list of the newest runs (the dashboard replaces it)
//	GET /runs/{id}/export.json        ExportRun as a download
//	GET /runs/{id}/artifacts/{name…}  an artifact of a run, by name
//	GET /artifacts/{sha256}           an artifact's content, by sha256
//	GET /sync                         the live state over WebSocket (syncstruct)
func (s *Server) routes() {
	s.http.HandleFunc("GET /{$}", s.serveIndex)
	s.http.HandleFunc("GET /runs/{id}/export.json", s.serveExport)
	s.http.HandleFunc("GET /runs/{id}/artifacts/{name...}", s.serveRunArtifact)
	s.http.HandleFunc("GET /artifacts/{sha}", s.serveBlob)
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
	indexTmpl.Execute(w, page.Runs)
}

func (s *Server) serveExport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, err := Export(r.Context(), s.st, id)
	if err != nil {
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "run-"+id+".json"))
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

func (s *Server) sendBlob(w http.ResponseWriter, r *http.Request, sha, name, ctype string) {
	f, _, err := s.st.OpenBlob(r.Context(), sha)
	if err != nil {
		httpError(w, err)
		return
	}
	defer f.Close()
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	if name != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name))
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	http.ServeContent(w, r, name, time.Time{}, f)
}
