package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("SIMSERVICE_TEST_SERVE") == "1" {
		os.Args = []string{os.Args[0], "serve"}
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// TestDrive runs the driver against this test binary as the service.
func TestDrive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SIMSERVICE_TEST_SERVE=1", "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	if err := drive(ctx, cmd, "", &out); err != nil {
		t.Fatalf("drive: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"service function mean_temperature(): The mean temperature of the grid.",
		"service function temperature_at(i int, j int)",
		"steered: diffusivity 0.2 → 0.05",
		"step 400: mean",
		"property diffusivity (float64) = 0.05",
		"property size (int) = 192",
		"property time (float64) = 400",
		"status SIM_FINISHED",
		`CPU profile of service "heat"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestHeatConserves: away from the edges, diffusion keeps the total heat.
func TestHeatConserves(t *testing.T) {
	h := newHeat(64)
	ctx := context.Background()
	h.Run(ctx)
	for i := 20; i < 44; i++ {
		for j := 20; j < 44; j++ {
			h.u[i*64+j] = 1
		}
	}
	before := h.meanTemperature()
	for range 20 {
		h.Step(ctx)
	}
	if after := h.meanTemperature(); after < before*0.999999 || after > before*1.000001 {
		t.Fatalf("mean %v → %v", before, after)
	}
	if _, err := h.temperatureAt(64, 0); err == nil {
		t.Fatal("temperature_at outside the grid")
	}
}
