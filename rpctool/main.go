package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
	}))
}
