package rpc

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// testdata/sipyco_pc_rpc.jsonl is real SiPyCo traffic, a copy of
// ../shared/sipyco-wire/sipyco_pc_rpc.jsonl (its README says what produced
// it and quotes the Python targets; sipyco_replay_targets_test.go has
// their Go counterparts). Each line is one socket read:
// {"session", "conn", "case", "dir": "client"|"server", "data" or "eof"}.
//
// TestSiPyCoReplayServer plays every session's client bytes, case by case,
// to a Go server built like the recorded one and compares its answers with
// SiPyCo's as PYON values (sipycoEqual: sets unordered, floats by value,
// tracebacks only as lists of strings). TestSiPyCoReplayClient has a fake
// server play the recorded server bytes to the Go client, which makes the
// recorded calls: its request lines must equal SiPyCo's client's, and its
// results the recorded values. sipycoReplayTable lists every recorded
// case, and the methods of every recorded method list, as exact,
// class-only or divergent, with the reason; both tests fail on a case the
// table lacks.

// replayCase is one case of one connection: its chunks in recorded order.
type replayCase struct {
	name   string
	chunks []replayChunk
}

type replayChunk struct {
	dir  string // "client" or "server"
	data string
	eof  bool
}

func (c *replayCase) text(dir string) string {
	var b strings.Builder
	for _, ch := range c.chunks {
		if ch.dir == dir {
			b.WriteString(ch.data)
		}
	}
	return b.String()
}

func (c *replayCase) eof(dir string) bool {
	for _, ch := range c.chunks {
		if ch.dir == dir && ch.eof {
			return true
		}
	}
	return false
}

type replaySession struct {
	name  string
	conns [][]*replayCase
}

// sipycoRecording reads testdata/sipyco_pc_rpc.jsonl: sessions, their
// connections and cases in recorded order. A missing or short file fails
// the test: the recording is part of the repository.
func sipycoRecording(t testing.TB) []*replaySession {
	t.Helper()
	f, err := os.Open("testdata/sipyco_pc_rpc.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*replaySession
	byName := map[string]*replaySession{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	n := 0
	for sc.Scan() {
		var r struct {
			Session, Case, Dir, Data string
			DataB64                  []byte `json:"data_b64"`
			Conn                     int
			EOF                      bool
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Session == "" || r.Case == "" || (r.Dir != "client" && r.Dir != "server") {
			t.Fatalf("line %d: not a recorded chunk: %s", n+1, sc.Bytes())
		}
		n++
		s := byName[r.Session]
		if s == nil {
			s = &replaySession{name: r.Session}
			byName[r.Session] = s
			out = append(out, s)
		}
		for len(s.conns) <= r.Conn {
			s.conns = append(s.conns, nil)
		}
		cases := s.conns[r.Conn]
		if len(cases) == 0 || cases[len(cases)-1].name != r.Case {
			cases = append(cases, &replayCase{name: r.Case})
			s.conns[r.Conn] = cases
		}
		data := r.Data
		if r.DataB64 != nil {
			data = string(r.DataB64)
		}
		c := cases[len(cases)-1]
		c.chunks = append(c.chunks, replayChunk{r.Dir, data, r.EOF})
	}
	if err := sc.Err(); err != nil || n < 400 || len(out) < 18 {
		t.Fatalf("recording: %d chunks in %d sessions, %v", n, len(out), err)
	}
	return out
}

// lines splits recorded text into protocol lines (without "\n").
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type replayVerdict int

const (
	// exact: the same PYON values (as sipycoEqual compares them).
	exact replayVerdict = iota
	// classOnly: the same kind of answer, not the same words: an
	// exception of the same class with another message; a target
	// selection with the same methods besides Python's dunders.
	classOnly
	// divergent: sigoco answers otherwise, by design; goServer and
	// goClient say how, and that is checked.
	divergent
)

// replayEntry is how sigoco compares with SiPyCo on one recorded case
// (key "session/case"), or on one method of a recorded method list (key
// "session/case/method").
type replayEntry struct {
	server, client replayVerdict
	why            string
	// goServer, for a divergent server: "close" (sigoco closes without a
	// reply; later cases of the connection are not played), "refuse" (a
	// "SIGOCO error: …" line, then close), "failed:Class"
	// (one failed reply of that class), or "ok" (one reply whose ret is
	// goRet).
	goServer string
	goRet    any
	// goClient, for a divergent client: "skip" (no Go client sends this:
	// the case is not played), or "failed:Type" (the call fails with a
	// RemoteError of that Type).
	goClient string
	// argspec, for a method entry: the keys of SiPyCo's argspec that the
	// Go method's differ in, with sigoco's values; goName: the name the Go
	// method has on the wire when it differs.
	argspec map[string]any
	goName  string
}

const (
	rawWhy    = "raw session: bytes SiPyCo's client refuses to send, and so does the Go client"
	selectWhy = "the target selection answer lists every callable attribute in Python, dunders included (__init__, __eq__, …); sigoco lists the exported methods, compared without the dunders"
)

var (
	exactBoth = replayEntry{}
	rawExact  = replayEntry{client: divergent, goClient: "skip", why: rawWhy}
	v1Closed  = replayEntry{server: divergent, goServer: "close", client: divergent, goClient: "skip",
		why: rawWhy + "; PYON v1: sigoco closed the connection at the target line without pyon_v2"}
	noDefaults = "Go has no default values: Python's defaults become fields of a trailing options struct, keyword-only with default None"
)

// sipycoReplayTable: every recorded case, and every method of every
// recorded method list. Cases not listed fail both tests.
var sipycoReplayTable = map[string]replayEntry{
	"rpc_ident_only/connect":                                        exactBoth,
	"rpc_ident_only/close":                                          exactBoth,
	"rpc_unknown_target_client/connect":                             exactBoth,
	"rpc_unknown_target_raw/banner":                                 rawExact,
	"rpc_unknown_target_raw/select_unknown":                         rawExact,
	"rpc_unsupported_feature_raw/banner":                            rawExact,
	"rpc_unsupported_feature_raw/select_with_feature_pyon_v3":       rawExact,
	"rpc_bad_banner_raw/bad_banner":                                 {server: divergent, goServer: "refuse", client: divergent, goClient: "skip", why: rawWhy + "; sigoco's accept loop names the banners it serves in a SIGOCO error line, then closes"},
	"rpc_undecodable_request_raw/banner":                            rawExact,
	"rpc_undecodable_request_raw/select":                            {server: classOnly, client: divergent, goClient: "skip", why: selectWhy + "; " + rawWhy},
	"rpc_undecodable_request_raw/not_json":                          {server: divergent, goServer: "failed:ValueError", client: divergent, goClient: "skip", why: rawWhy + "; sigoco answers a request it cannot decode and keeps the connection (docs/sipyco.md)"},
	"rpc_int_over_4300_digits_request_raw/banner":                   rawExact,
	"rpc_int_over_4300_digits_request_raw/select":                   {server: classOnly, client: divergent, goClient: "skip", why: selectWhy + "; " + rawWhy},
	"rpc_int_over_4300_digits_request_raw/call_echo_4301_digit_int": {server: divergent, goServer: "failed:ValueError", client: divergent, goClient: "skip", why: rawWhy + "; sigoco refuses the 4301-digit int as CPython does, but answers instead of closing"},
	"rpc_unknown_jsonclass_raw/banner":                              rawExact,
	"rpc_unknown_jsonclass_raw/select":                              {server: classOnly, client: divergent, goClient: "skip", why: selectWhy + "; " + rawWhy},
	"rpc_unknown_jsonclass_raw/call_echo_unknown_jsonclass":         {server: divergent, goServer: "ok", goRet: pyon.Set{Items: []any{int64(1), int64(2)}}, client: divergent, goClient: "skip", why: rawWhy + "; pyon decodes the frozenset class (sigoco peers send it) and writes it back as a set"},
	"rpc_pyon_v1_raw/banner":                                        rawExact,
	"rpc_pyon_v1_raw/select_without_pyon_v2":                        {server: divergent, goServer: "close", client: divergent, goClient: "skip", why: rawWhy + "; PYON v1: sigoco closes at the target line without pyon_v2 (it never evaluates Python literals) and logs why"},
	"rpc_pyon_v1_raw/v1_echo_0":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_1":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_2":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_3":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_4":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_5":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_6":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_7":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_8":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_9":                                     v1Closed,
	"rpc_pyon_v1_raw/v1_echo_10":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_11":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_12":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_13":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_14":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_15":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_echo_16":                                    v1Closed,
	"rpc_pyon_v1_raw/v1_get_rpc_method_list":                        v1Closed,
	"rpc_pyon_v1_raw/v1_raise_value_error":                          v1Closed,
	"rpc_pyon_v1_raw/close":                                         v1Closed,
	"rpc_method_list/connect":                                       {server: classOnly, why: selectWhy},
	"rpc_method_list/get_rpc_method_list":                           {server: classOnly, why: "argspecs differ where Go has no default values, no **kwargs and no positional-only parameters: see the method entries"},
	"rpc_method_list/close":                                         exactBoth,
	"rpc_values/connect":                                            {server: classOnly, why: selectWhy},
	"rpc_values/echo_none":                                          exactBoth,
	"rpc_values/echo_true":                                          exactBoth,
	"rpc_values/echo_false":                                         exactBoth,
	"rpc_values/echo_int_zero":                                      exactBoth,
	"rpc_values/echo_int_neg":                                       exactBoth,
	"rpc_values/echo_int64_max":                                     exactBoth,
	"rpc_values/echo_int64_min":                                     exactBoth,
	"rpc_values/echo_uint64_max":                                    exactBoth,
	"rpc_values/echo_int_2pow100":                                   exactBoth,
	"rpc_values/echo_int_neg_big":                                   exactBoth,
	"rpc_values/echo_int_4300_digits":                               exactBoth,
	"rpc_values/echo_int_neg_4300_digits":                           exactBoth,
	"rpc_values/echo_float":                                         exactBoth,
	"rpc_values/echo_float_one":                                     exactBoth,
	"rpc_values/echo_float_tenth":                                   exactBoth,
	"rpc_values/echo_float_1e16":                                    exactBoth,
	"rpc_values/echo_float_1e22":                                    exactBoth,
	"rpc_values/echo_float_1e-5":                                    exactBoth,
	"rpc_values/echo_float_1e-7":                                    exactBoth,
	"rpc_values/echo_float_negzero":                                 exactBoth,
	"rpc_values/echo_float_denorm":                                  exactBoth,
	"rpc_values/echo_float_max":                                     exactBoth,
	"rpc_values/echo_float_inf":                                     exactBoth,
	"rpc_values/echo_float_ninf":                                    exactBoth,
	"rpc_values/echo_float_nan":                                     exactBoth,
	"rpc_values/echo_complex":                                       exactBoth,
	"rpc_values/echo_complex_negzero":                               exactBoth,
	"rpc_values/echo_complex_inf_nan":                               exactBoth,
	"rpc_values/echo_str_empty":                                     exactBoth,
	"rpc_values/echo_str_ascii":                                     exactBoth,
	"rpc_values/echo_str_unicode":                                   exactBoth,
	"rpc_values/echo_str_escapes":                                   exactBoth,
	"rpc_values/echo_bytes":                                         exactBoth,
	"rpc_values/echo_bytes_empty":                                   exactBoth,
	"rpc_values/echo_tuple":                                         exactBoth,
	"rpc_values/echo_tuple_empty":                                   exactBoth,
	"rpc_values/echo_tuple_single":                                  exactBoth,
	"rpc_values/echo_list":                                          exactBoth,
	"rpc_values/echo_list_empty":                                    exactBoth,
	"rpc_values/echo_list_of_tuples":                                exactBoth,
	"rpc_values/echo_dict_str_keys":                                 exactBoth,
	"rpc_values/echo_dict_empty":                                    exactBoth,
	"rpc_values/echo_dict_int_keys":                                 exactBoth,
	"rpc_values/echo_dict_tuple_keys":                               exactBoth,
	"rpc_values/echo_dict_mixed_keys":                               exactBoth,
	"rpc_values/echo_dict_nested_int_keys":                          exactBoth,
	"rpc_values/echo_set_int":                                       exactBoth,
	"rpc_values/echo_set_str":                                       exactBoth,
	"rpc_values/echo_set_mixed":                                     exactBoth,
	"rpc_values/echo_set_empty":                                     exactBoth,
	"rpc_values/echo_ordered_dict":                                  exactBoth,
	"rpc_values/echo_ordered_dict_int_keys":                         exactBoth,
	"rpc_values/echo_ordered_dict_empty":                            exactBoth,
	"rpc_values/echo_fraction":                                      exactBoth,
	"rpc_values/echo_fraction_neg":                                  exactBoth,
	"rpc_values/echo_fraction_big":                                  exactBoth,
	"rpc_values/echo_slice":                                         exactBoth,
	"rpc_values/echo_slice_none":                                    exactBoth,
	"rpc_values/echo_slice_all_none":                                exactBoth,
	"rpc_values/echo_arr_f8":                                        exactBoth,
	"rpc_values/echo_arr_f4":                                        exactBoth,
	"rpc_values/echo_arr_f2":                                        exactBoth,
	"rpc_values/echo_arr_i1":                                        exactBoth,
	"rpc_values/echo_arr_u1":                                        exactBoth,
	"rpc_values/echo_arr_i2":                                        exactBoth,
	"rpc_values/echo_arr_u2":                                        exactBoth,
	"rpc_values/echo_arr_i4":                                        exactBoth,
	"rpc_values/echo_arr_u4":                                        exactBoth,
	"rpc_values/echo_arr_i8":                                        exactBoth,
	"rpc_values/echo_arr_u8":                                        exactBoth,
	"rpc_values/echo_arr_bool":                                      exactBoth,
	"rpc_values/echo_arr_c8":                                        exactBoth,
	"rpc_values/echo_arr_c16":                                       exactBoth,
	"rpc_values/echo_arr_2d_f8":                                     exactBoth,
	"rpc_values/echo_arr_3d_i4":                                     exactBoth,
	"rpc_values/echo_arr_0d_i8":                                     exactBoth,
	"rpc_values/echo_arr_0d_f8":                                     exactBoth,
	"rpc_values/echo_arr_empty_f8":                                  exactBoth,
	"rpc_values/echo_arr_empty_2d":                                  exactBoth,
	"rpc_values/echo_arr_empty_i4":                                  exactBoth,
	"rpc_values/echo_arr_fortran_order":                             exactBoth,
	"rpc_values/echo_arr_noncontiguous":                             exactBoth,
	"rpc_values/echo_arr_big_endian_i4":                             exactBoth,
	"rpc_values/echo_arr_big_endian_f8":                             exactBoth,
	"rpc_values/echo_arr_str_U":                                     exactBoth,
	"rpc_values/echo_arr_bytes_S":                                   exactBoth,
	"rpc_values/echo_arr_void_V4":                                   exactBoth,
	"rpc_values/echo_arr_f8_10000":                                  exactBoth,
	"rpc_values/echo_np_bool":                                       exactBoth,
	"rpc_values/echo_np_int8":                                       exactBoth,
	"rpc_values/echo_np_uint8":                                      exactBoth,
	"rpc_values/echo_np_int16":                                      exactBoth,
	"rpc_values/echo_np_uint16":                                     exactBoth,
	"rpc_values/echo_np_int32":                                      exactBoth,
	"rpc_values/echo_np_uint32":                                     exactBoth,
	"rpc_values/echo_np_int64":                                      exactBoth,
	"rpc_values/echo_np_uint64":                                     exactBoth,
	"rpc_values/echo_np_float16":                                    exactBoth,
	"rpc_values/echo_np_float32":                                    exactBoth,
	"rpc_values/echo_np_float64":                                    exactBoth,
	"rpc_values/echo_np_float64_nan":                                exactBoth,
	"rpc_values/echo_np_complex64":                                  exactBoth,
	"rpc_values/echo_np_complex128":                                 exactBoth,
	"rpc_values/echo_np_str":                                        exactBoth,
	"rpc_values/echo_np_bytes":                                      exactBoth,
	"rpc_values/echo_np_datetime64":                                 exactBoth,
	"rpc_values/echo_np_timedelta64":                                exactBoth,
	"rpc_values/echo_nested_mix":                                    exactBoth,
	"rpc_values/return_deep_list":                                   exactBoth,
	"rpc_values/big_int_4300_digits":                                exactBoth,
	"rpc_values/close":                                              exactBoth,
	"rpc_calls/connect":                                             {server: classOnly, why: selectWhy},
	"rpc_calls/set_attenuation":                                     exactBoth,
	"rpc_calls/get_attenuation":                                     exactBoth,
	"rpc_calls/add_positional":                                      exactBoth,
	"rpc_calls/add_default":                                         {server: divergent, goServer: "failed:TypeError", why: "Go has no default values: add(1) misses b"},
	"rpc_calls/add_kwargs":                                          exactBoth,
	"rpc_calls/add_all_kwargs":                                      exactBoth,
	"rpc_calls/kwtest_varargs_varkw":                                {server: divergent, goServer: "failed:TypeError", why: "Go has no **kwargs: x and y are unexpected keywords"},
	"rpc_calls/echo_all_mixed":                                      {server: divergent, goServer: "failed:TypeError", why: "Go has no **kwargs: key and other are unexpected keywords"},
	"rpc_calls/echo_all_empty":                                      exactBoth,
	"rpc_calls/echo_kwarg_x":                                        exactBoth,
	"rpc_calls/annotated":                                           exactBoth,
	"rpc_calls/posonly":                                             exactBoth,
	"rpc_calls/kwonly_no_default":                                   exactBoth,
	"rpc_calls/varargs_only":                                        exactBoth,
	"rpc_calls/varkw_only":                                          {server: divergent, goServer: "failed:TypeError", why: "Go has no **kwargs"},
	"rpc_calls/ndarray_annot":                                       exactBoth,
	"rpc_calls/no_doc":                                              exactBoth,
	"rpc_calls/getValue_camel_case":                                 {server: divergent, goServer: "failed:AttributeError", why: "a Go method is called by its snake_case name (get_value) or its Go name (GetValue), not getValue"},
	"rpc_calls/counter_1":                                           exactBoth,
	"rpc_calls/counter_2":                                           exactBoth,
	"rpc_calls/async_echo":                                          exactBoth,
	"rpc_calls/defaults_zoo":                                        exactBoth,
	"rpc_calls/close":                                               exactBoth,
	"rpc_errors/connect":                                            {server: classOnly, why: selectWhy},
	"rpc_errors/raise_value_error":                                  exactBoth,
	"rpc_errors/raise_key_error":                                    exactBoth,
	"rpc_errors/raise_zero_division":                                exactBoth,
	"rpc_errors/raise_custom_class":                                 exactBoth,
	"rpc_errors/raise_multiline_message":                            exactBoth,
	"rpc_errors/raise_not_implemented":                              exactBoth,
	"rpc_errors/raise_os_error":                                     {server: classOnly, why: "FileNotFoundError from os.Stat: Go's message (stat /nonexistent: no such file or directory), not errno's"},
	"rpc_errors/raise_chained":                                      exactBoth,
	"rpc_errors/async_raise":                                        exactBoth,
	"rpc_errors/wrong_arg_count_too_many":                           {server: classOnly, why: "TypeError in CPython's wording; sigoco says it its own way"},
	"rpc_errors/wrong_arg_count_missing":                            {server: classOnly, why: "TypeError in CPython's wording; sigoco says it its own way"},
	"rpc_errors/unexpected_kwarg":                                   {server: classOnly, why: "TypeError in CPython's wording; sigoco says it its own way"},
	"rpc_errors/kwonly_missing":                                     {server: classOnly, why: "TypeError in CPython's wording; sigoco says it its own way"},
	"rpc_errors/positional_only_as_kwarg":                           {server: divergent, goServer: "ok", goRet: []any{int64(1), int64(2), int64(3), int64(4)}, why: "Go has no positional-only parameters: sigoco binds b by name"},
	"rpc_errors/arg_type_error_in_method":                           {server: classOnly, why: "the method's own TypeError, in CPython's wording in Python"},
	"rpc_errors/missing_method":                                     {server: classOnly, client: divergent, goClient: "failed:" + TypeUnknownMethod, why: "AttributeError in CPython's wording; the Go client reports an unlisted method's AttributeError as rpc.UnknownMethod (errors.Is ErrUnknownMethod)"},
	"rpc_errors/private_attribute_call":                             {server: divergent, goServer: "failed:AttributeError", why: "__init__ is callable in Python (it returns None); sigoco exposes only exported methods"},
	"rpc_errors/call_non_callable_attribute":                        {server: divergent, goServer: "failed:AttributeError", why: "a field is never callable in sigoco: unknown method, not TypeError"},
	"rpc_errors/unknown_action":                                     {client: divergent, goClient: "skip", why: "the Go client sends only call and get_rpc_method_list"},
	"rpc_errors/return_frozenset_unencodable":                       {server: divergent, goServer: "ok", goRet: pyon.Set{Items: []any{int64(1), int64(2)}}, why: "pyon writes a frozen Set as a set (SiPyCo cannot encode a frozenset)"},
	"rpc_errors/return_object_unencodable":                          {server: classOnly, why: "TypeError: sigoco names the Go type it cannot encode"},
	"rpc_errors/return_jsonclass_key":                               {server: divergent, goServer: "failed:TypeError", why: "SiPyCo's encoder asserts (AssertionError); pyon refuses the key with an error (TypeError)"},
	"rpc_errors/big_int_4301_digits":                                {server: classOnly, why: "CPython's 4300-digit limit on int to str: pyon's encoder has the same (ErrLimit, a ValueError), in its own words"},
	"rpc_errors/echo_after_errors":                                  exactBoth,
	"rpc_errors/close":                                              exactBoth,
	"rpc_target_aux/connect":                                        {server: classOnly, why: selectWhy},
	"rpc_target_aux/ping":                                           exactBoth,
	"rpc_target_aux/get_rpc_method_list":                            exactBoth,
	"rpc_target_aux/close":                                          exactBoth,
	"rpc_factory_target_conn0/connect":                              {server: classOnly, why: selectWhy},
	"rpc_factory_target_conn0/counter_1":                            exactBoth,
	"rpc_factory_target_conn0/counter_2":                            exactBoth,
	"rpc_factory_target_conn0/close":                                exactBoth,
	"rpc_factory_target_conn1/connect":                              {server: classOnly, why: selectWhy},
	"rpc_factory_target_conn1/counter_1":                            exactBoth,
	"rpc_factory_target_conn1/counter_2":                            exactBoth,
	"rpc_factory_target_conn1/close":                                exactBoth,
	"rpc_autotarget_single/connect":                                 {server: classOnly, why: selectWhy},
	"rpc_autotarget_single/ping":                                    exactBoth,
	"rpc_autotarget_single/get_rpc_method_list":                     exactBoth,
	"rpc_autotarget_single/terminate":                               exactBoth,
	"rpc_autotarget_single/close":                                   exactBoth,
	"rpc_terminate/connect":                                         {server: classOnly, why: selectWhy},
	"rpc_terminate/terminate":                                       exactBoth,
	"rpc_terminate/close":                                           exactBoth,
	// The methods in rpc_method_list's get_rpc_method_list (target main).
	"rpc_method_list/get_rpc_method_list/add": {server: divergent, why: noDefaults, argspec: map[string]any{
		"defaults": nil, "kwonlydefaults": map[string]any{"scale": nil}}},
	"rpc_method_list/get_rpc_method_list/annotated": {server: divergent, why: noDefaults + " (y is keyword-only)", argspec: map[string]any{
		"args": []any{"self", "x"}, "defaults": nil, "kwonlyargs": []any{"y", "name"},
		"kwonlydefaults": map[string]any{"y": nil, "name": nil}}},
	"rpc_method_list/get_rpc_method_list/async_echo":  exactBoth,
	"rpc_method_list/get_rpc_method_list/async_raise": exactBoth,
	"rpc_method_list/get_rpc_method_list/big_int":     exactBoth,
	"rpc_method_list/get_rpc_method_list/counter":     exactBoth,
	"rpc_method_list/get_rpc_method_list/def_exotic": {server: divergent, why: noDefaults, argspec: map[string]any{
		"args": []any{"self"}, "defaults": nil, "kwonlyargs": []any{"x", "y", "z", "s", "arr", "sc", "od"},
		"kwonlydefaults": map[string]any{"x": nil, "y": nil, "z": nil, "s": nil, "arr": nil, "sc": nil, "od": nil}}},
	"rpc_method_list/get_rpc_method_list/defaults_zoo": {server: divergent, why: noDefaults, argspec: map[string]any{
		"args": []any{"self"}, "defaults": nil, "kwonlyargs": []any{"a", "b", "c", "d", "e", "f", "g", "h", "i"},
		"kwonlydefaults": map[string]any{"a": nil, "b": nil, "c": nil, "d": nil, "e": nil, "f": nil, "g": nil, "h": nil, "i": nil}}},
	"rpc_method_list/get_rpc_method_list/echo":            exactBoth,
	"rpc_method_list/get_rpc_method_list/echo_all":        {server: divergent, why: "Go has no **kwargs", argspec: map[string]any{"varkw": nil}},
	"rpc_method_list/get_rpc_method_list/getValue":        {server: divergent, goName: "get_value", why: "Go's wire names are snake_case"},
	"rpc_method_list/get_rpc_method_list/get_attenuation": exactBoth,
	"rpc_method_list/get_rpc_method_list/kwonly_no_default": {server: divergent, why: "an options field is never required: required defaults to None (the method refuses None)",
		argspec: map[string]any{"kwonlydefaults": map[string]any{"required": nil, "optional": nil}}},
	"rpc_method_list/get_rpc_method_list/kwtest": {server: divergent, why: "Go has no **kwargs, and no keyword-only parameter beside a variadic one",
		argspec: map[string]any{"varkw": nil, "kwonlyargs": []any{}, "kwonlydefaults": nil}},
	"rpc_method_list/get_rpc_method_list/ndarray_annot": {server: divergent, why: noDefaults, argspec: map[string]any{
		"args": []any{"self", "arg1"}, "defaults": nil, "kwonlyargs": []any{"arg2"}, "kwonlydefaults": map[string]any{"arg2": nil}}},
	"rpc_method_list/get_rpc_method_list/no_doc": exactBoth,
	"rpc_method_list/get_rpc_method_list/posonly": {server: divergent, why: "an options field is never required: d defaults to None",
		argspec: map[string]any{"kwonlydefaults": map[string]any{"d": nil}}},
	"rpc_method_list/get_rpc_method_list/raise_chained":         exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_custom":          exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_key_error":       exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_multiline":       exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_not_implemented": exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_os_error":        exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_value_error":     exactBoth,
	"rpc_method_list/get_rpc_method_list/raise_zero_division":   exactBoth,
	"rpc_method_list/get_rpc_method_list/return_deep_list":      exactBoth,
	"rpc_method_list/get_rpc_method_list/return_frozenset":      exactBoth,
	"rpc_method_list/get_rpc_method_list/return_jsonclass_key":  exactBoth,
	"rpc_method_list/get_rpc_method_list/return_unencodable":    exactBoth,
	"rpc_method_list/get_rpc_method_list/set_attenuation":       exactBoth,
	"rpc_method_list/get_rpc_method_list/terminate":             exactBoth,
	"rpc_method_list/get_rpc_method_list/varargs_only":          exactBoth,
	"rpc_method_list/get_rpc_method_list/varkw_only":            {server: divergent, why: "Go has no **kwargs", argspec: map[string]any{"varkw": nil}},
	"rpc_target_aux/get_rpc_method_list/ping":                   exactBoth,
	"rpc_target_aux/get_rpc_method_list/terminate":              exactBoth,
	"rpc_autotarget_single/get_rpc_method_list/ping":            exactBoth,
	"rpc_autotarget_single/get_rpc_method_list/terminate":       exactBoth,
}

// replayEntryFor looks up key, failing the test if the table lacks it.
func replayEntryFor(t *testing.T, key string) replayEntry {
	t.Helper()
	e, ok := sipycoReplayTable[key]
	if !ok {
		t.Errorf("%s: recorded case not in sipycoReplayTable", key)
	}
	return e
}

// TestSiPyCoReplayTableMatchesRecording: every entry of the table is a
// recorded case (or a method of a recorded method list), and the counts
// the docs give are right.
func TestSiPyCoReplayTableMatchesRecording(t *testing.T) {
	recorded := map[string]bool{}
	for _, s := range sipycoRecording(t) {
		for _, conn := range s.conns {
			for _, c := range conn {
				key := s.name + "/" + c.name
				recorded[key] = true
				replayEntryFor(t, key)
				for _, l := range lines(c.text("server")) {
					v, err := pyon.DecodeString(l)
					if err != nil || !strings.Contains(c.text("client"), "get_rpc_method_list") {
						continue
					}
					ret, _ := v.(map[string]any)["ret"].(map[string]any)
					methods, _ := ret["methods"].(map[string]any)
					for m := range methods {
						recorded[key+"/"+m] = true
						replayEntryFor(t, key+"/"+m)
					}
				}
			}
		}
	}
	names := [...]string{exact: "exact", classOnly: "class-only", divergent: "divergent"}
	count := map[string]int{}
	for key, e := range sipycoReplayTable {
		if !recorded[key] {
			t.Errorf("%s: in sipycoReplayTable but not recorded", key)
		}
		if (e.server != exact || e.client != exact) && e.why == "" {
			t.Errorf("%s: not exact, and no reason given", key)
		}
		if e.server == divergent && e.goServer == "" && e.argspec == nil && e.goName == "" {
			t.Errorf("%s: divergent server, but how is not said", key)
		}
		if e.client == divergent && e.goClient == "" {
			t.Errorf("%s: divergent client, but how is not said", key)
		}
		kind := "case"
		if strings.Count(key, "/") == 2 {
			kind = "method"
		}
		count[kind+" server "+names[e.server]]++
		count[kind+" client "+names[e.client]]++
	}
	t.Logf("%d entries: %v", len(sipycoReplayTable), count)
}
