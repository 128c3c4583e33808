package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sigoco/sigoco/track/store"
)

// maxOutputsJSON bounds outputs.json.
const maxOutputsJSON = 16 << 20

// collect reads what a solver reported: outputs.json in its work
// directory holds the value outputs (and, optionally, the file of a file
// output, relative to the work directory); a file output is otherwise the
// file named by its port (filename, default the key). Files go into the
// store. It returns the outputs and the records for the run: an artifact
// per file, a result per number.
//
// Every file is read through an os.Root at the work directory and without
// following links (openOutput): a solver leaving a link (out ->
// /etc/shadow) fails with the reason, nothing of the link's target stored.
func (a *active) collect(ctx context.Context) (map[string]any, []store.Record, error) {
	s := a.solver
	root, err := a.m.openWork(a.job.ID)
	switch {
	case errors.Is(err, os.ErrNotExist):
		root = nil // the solver removed it: no output was written
	case err != nil:
		return nil, nil, err
	default:
		defer root.Close()
	}
	open := func(name string) (*os.File, error) {
		if root == nil {
			return nil, os.ErrNotExist
		}
		return openOutput(root, name)
	}
	reported, err := readReported(s, open)
	if err != nil {
		return nil, nil, err
	}
	outs := map[string]any{}
	var recs []store.Record
	var problems []string
	for i := range s.Outputs {
		p := &s.Outputs[i]
		v, given := reported[p.Key]
		if p.Type == TypeFile {
			ref, problem, err := a.fileOutput(ctx, p, v, given, open)
			if err != nil {
				return nil, nil, err
			}
			if problem != "" {
				problems = append(problems, problem)
			}
			if ref == nil {
				continue
			}
			outs[p.Key] = ref.value()
			recs = append(recs, store.Record{Kind: store.KindArtifact, Key: p.Key + "/" + ref.Filename, Value: map[string]any{
				"sha256": ref.Sha256, "size": ref.Size, "content_type": p.ContentType, "result": true,
			}})
			continue
		}
		if !given || v == nil {
			if p.IsRequired(false) {
				problems = append(problems, fmt.Sprintf("output %q: not reported in %s", p.Key, OutputsFile))
			}
			continue
		}
		c, err := coerce(p, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("output %q: %v", p.Key, err))
			continue
		}
		outs[p.Key] = c
		recs = append(recs, store.Record{Kind: store.KindResult, Key: p.Key, Value: c})
	}
	if len(problems) > 0 {
		return nil, nil, errors.New(strings.Join(problems, "; "))
	}
	return outs, recs, nil
}

// readReported reads outputs.json (none: nothing reported), refusing a
// file over maxOutputsJSON and outputs s has not declared.
func readReported(s *Solver, open func(string) (*os.File, error)) (map[string]any, error) {
	reported := map[string]any{}
	f, err := open(OutputsFile)
	switch {
	case err == nil:
		data, err := io.ReadAll(io.LimitReader(f, maxOutputsJSON+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(data) > maxOutputsJSON {
			return nil, fmt.Errorf("%s is over %d bytes", OutputsFile, maxOutputsJSON)
		}
		if err := json.Unmarshal(data, &reported); err != nil {
			return nil, fmt.Errorf("%s: %v", OutputsFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	var unknown []string
	for k := range reported {
		if portOf(s.Outputs, k) == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s names outputs %s has not declared: %s", OutputsFile, s.ID(), strings.Join(unknown, ", "))
	}
	return reported, nil
}

// fileOutput stores the file of output p (its default name, or the path
// outputs.json gives: v when given). A nil ref with a problem: the output
// is wrong (a missing file, a bad path); a nil ref without one: an
// optional file not written; an error: the store failed.
func (a *active) fileOutput(ctx context.Context, p *Port, v any, given bool, open func(string) (*os.File, error)) (ref *FileRef, problem string, err error) {
	name := p.FileName()
	if given {
		rel, ok := v.(string)
		if !ok || !filepath.IsLocal(rel) {
			return nil, fmt.Sprintf("output %q: %s must give a file path inside the work directory, not %s", p.Key, OutputsFile, describe(v)), nil
		}
		name = rel
	}
	f, err := open(name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotRegular) {
		if p.IsRequired(false) || given {
			return nil, fmt.Sprintf("output %q: file %s was not written", p.Key, name), nil
		}
		return nil, "", nil
	}
	if err != nil {
		return nil, fmt.Sprintf("output %q: %v", p.Key, err), nil
	}
	sha, size, err := storeOpen(ctx, a.m.st, f, name)
	f.Close()
	if err != nil {
		return nil, "", fmt.Errorf("output %q: %w", p.Key, err)
	}
	return &FileRef{Sha256: sha, Filename: filepath.Base(name), Size: size, ContentType: p.ContentType}, "", nil
}

func portOf(ports []Port, key string) *Port {
	for i := range ports {
		if ports[i].Key == key {
			return &ports[i]
		}
	}
	return nil
}
