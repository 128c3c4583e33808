package logfwd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/slogtest"
)

func TestTee(t *testing.T) {
	var a, b bytes.Buffer
	h := Tee(slog.NewJSONHandler(&a, nil), slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := slogtest.TestHandler(h, func() []map[string]any {
		var out []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(a.Bytes()), []byte("\n")) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}); err != nil {
		t.Error(err)
	}
	if b.Len() != 0 {
		t.Errorf("the WARN handler got INFO records: %s", b.String())
	}
	slog.New(h).Warn("both")
	if !bytes.Contains(b.Bytes(), []byte(`"msg":"both"`)) {
		t.Errorf("the WARN handler missed a warning: %s", b.String())
	}
	if Tee(slog.NewJSONHandler(&a, &slog.HandlerOptions{Level: slog.LevelError})).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled although no handler is")
	}
}
