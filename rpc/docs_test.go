package rpc

// What cmd/sigoco-gen would write for Attenuator.
func init() {
	RegisterDoc((*Attenuator)(nil), TargetDoc{
		Doc: "Attenuator is the test target.",
		Methods: map[string]MethodDoc{
			"SetAttenuation": {Params: []string{"db"}, Doc: "SetAttenuation sets the attenuation in dB."},
			"GetAttenuation": {Params: []string{}, Doc: "GetAttenuation returns the attenuation in dB."},
			"Add":            {Params: []string{"x", "y"}, Doc: "Add adds."},
			"Sum":            {Params: []string{"label", "xs"}},
			"Greet":          {Params: []string{"name", "opts"}, Doc: "Greet takes a trailing options struct, filled by keyword arguments."},
			"Block":          {Params: []string{"tag"}},
			"Small":          {Params: []string{"v", "extra"}}, // stale: wrong count, ignored
		},
	})
}
