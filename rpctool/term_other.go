//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"errors"
	"os"
)

var errNoRawMode = errors.New("raw terminal mode not supported on this system")

// makeRaw is not available here: interactive mode reads plain lines.
func makeRaw(*os.File) (func(), error) { return nil, errNoRawMode }

func termWidth(*os.File) int { return 0 }
