package device

import "context"

// Attenuator is a simulated attenuator.
//
// It has two paragraphs of doc.
type Attenuator struct{ db float64 }

// SetAttenuation sets the attenuation in dB.
func (a *Attenuator) SetAttenuation(db float64) error { a.db = db; return nil }

// Sweep steps from from to to.
func (a *Attenuator) Sweep(ctx context.Context, from, to, step float64) ([]float64, error) {
	return nil, nil
}

func (a Attenuator) Get() float64 { return a.db }

// Unnamed takes parameters without names.
func (a *Attenuator) Unnamed(int, string) {}

// Blank has a blank and a variadic parameter.
func (a *Attenuator) Blank(_ int, rest ...string) {}

func (a *Attenuator) private() {}

type (
	// Other is in a group.
	Other   struct{}
	notThis struct{}
)

// Do does.
func (Other) Do(x int) int { return x }

func (notThis) Skip() {}
