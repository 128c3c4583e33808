package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateGolden(t *testing.T) {
	got, err := generate("testdata/src", []string{"Attenuator", "Other"}, "rpcdoc_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/src/rpcdoc_gen.go.golden")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("generated source differs from the golden file:\n%s", got)
	}
}

func TestGenerateErrors(t *testing.T) {
	if _, err := generate("testdata/src", []string{"Missing"}, "x.go"); err == nil || !strings.Contains(err.Error(), "Missing not found") {
		t.Fatalf("missing type: %v", err)
	}
	if _, err := generate(filepath.Join("testdata", "nonexistent"), []string{"A"}, "x.go"); err == nil {
		t.Fatal("nonexistent directory accepted")
	}
}
