package simsvc

import (
	"context"

	"github.com/sigoco/sigoco/rpc"
)

// target is what the rpc server serves: the lifecycle calls and the
// status queries, under their snake_case names (run, init, start, step,
// steer, finish, stop, status, current_step, error_message, progress,
// profiler_report, profile, service_functions, properties), and the
// service functions and property accessors added at run time.
type target struct{ s *Server }

// StopOptions are the keyword arguments of stop.
type StopOptions struct {
	// TerminateSim: true (the default, when left out) terminates the
	// simulation (SIM_STOPPED); false lets it complete (SIM_FINISHED).
	TerminateSim *bool `msgpack:"terminate_sim"`
}

func (t *target) Run(ctx context.Context) error                      { return t.s.run(ctx) }
func (t *target) Init(ctx context.Context) (bool, error)             { return t.s.init(ctx, false) }
func (t *target) Start(ctx context.Context) (bool, error)            { return t.s.start(ctx, false) }
func (t *target) Step(ctx context.Context) error                     { return t.s.stepOnce(ctx, false) }
func (t *target) Steer(ctx context.Context) error                    { return t.s.steer(ctx) }
func (t *target) Finish(ctx context.Context) error                   { return t.s.finish(ctx) }
func (t *target) Status() string                                     { return string(t.s.Status()) }
func (t *target) CurrentStep() int                                   { return t.s.CurrentStep() }
func (t *target) ErrorMessage() string                               { return t.s.ErrorMessage() }
func (t *target) BeginningStep() int                                 { return t.s.BeginningStep() }
func (t *target) SimName() string                                    { return t.s.SimName() }
func (t *target) SetSimName(name string) error                       { return t.s.SetSimName(name) }
func (t *target) ProfilerReport(ctx context.Context) (string, error) { return t.s.ProfilerReport(ctx) }
func (t *target) Profile(ctx context.Context) ([]byte, error)        { return t.s.Profile(ctx) }
func (t *target) ServiceFunctions() []string                         { return t.s.host.Functions() }
func (t *target) Properties() []PropertyInfo                         { return t.s.host.PropertyInfos() }

func (t *target) Progress() float64 {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.s.progress
}

// CallFunction calls a service function by name (see Server.callFunction).
func (t *target) CallFunction(ctx context.Context, name string, args ...any) (any, error) {
	return t.s.callFunction(ctx, name, args)
}

func (t *target) Stop(ctx context.Context, opts StopOptions) error {
	terminate := opts.TerminateSim == nil || *opts.TerminateSim
	return t.s.stop(ctx, terminate)
}

func init() {
	m := func(doc string, params ...string) rpc.MethodDoc { return rpc.MethodDoc{Doc: doc, Params: params} }
	rpc.RegisterDoc((*target)(nil), rpc.TargetDoc{
		Doc: "A simulation service (sigoco simsvc): run, init, start, step …, finish or stop.",
		Methods: map[string]rpc.MethodDoc{
			"Run":              m("Load the simulation: REGISTERED → SIM_LOADED."),
			"Init":             m("Initialize it: SIM_LOADED → SIM_INITIALIZED. False: call init again."),
			"Start":            m("Start it: SIM_INITIALIZED → SIM_STARTED. False: call start again."),
			"Step":             m("Execute one step: → SIM_RUNNING."),
			"Steer":            m("Apply steering (ad-hoc changes to the service and its data)."),
			"Finish":           m("Finish the simulation: → SIM_FINISHED."),
			"Stop":             m("Stop the simulation: → SIM_STOPPED, or SIM_FINISHED with terminate_sim=False.", "opts"),
			"Status":           m("The lifecycle status (REGISTERED, SIM_LOADED, …)."),
			"CurrentStep":      m("The number of steps done."),
			"ErrorMessage":     m("The error of the call that failed the simulation, or \"\"."),
			"Progress":         m("Progress, 0-100."),
			"ProfilerReport":   m("Where the service spent its CPU since it was served: top functions, flat and cumulative."),
			"Profile":          m("The raw CPU profile of the service's process (pprof format)."),
			"CallFunction":     m("Call the service function name with args: the same as calling it by its name.", "name", "args"),
			"ServiceFunctions": m("The names of the service functions registered so far."),
			"Properties":       m("The properties: name, Go type, writable, doc; get_NAME and set_NAME access them."),
		},
	})
}
