package syncstruct_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
)

// A controller publishes its state; a dashboard keeps a live replica.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Publisher side.
	state, _ := syncstruct.NewNotifier(map[string]any{"attenuation": 0.0, "last": []any{}}, syncstruct.NotifierOptions{})
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{})
	defer pub.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go pub.Serve(ctx, ln)

	// Subscriber side.
	changes := make(chan string, 16)
	sub, err := syncstruct.NewSubscriber(ln.Addr().String(), "state", syncstruct.SubscriberOptions{
		OnMod: []func(any, *syncstruct.Mod){func(tree any, m *syncstruct.Mod) {
			changes <- fmt.Sprintf("%-7s %v -> %v", m.Action, m.Path, tree)
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		fmt.Println(err)
		return
	}

	state.Set("attenuation", 5.5)
	state.At("last").Append(5.5)
	for range 3 {
		fmt.Println(<-changes)
	}
	// Output:
	// init    [] -> map[attenuation:0 last:[]]
	// setitem [] -> map[attenuation:5.5 last:[]]
	// append  [last] -> map[attenuation:5.5 last:[5.5]]
}

// Apply is what a replica does with each mod.
func ExampleApply() {
	tree := any(map[string]any{"runs": map[string]any{}})
	tree, _ = syncstruct.Apply(tree, &syncstruct.Mod{Action: syncstruct.ActSetItem, Path: []any{"runs"}, Key: "r1", Value: int64(0)})
	_, err := syncstruct.Apply(tree, &syncstruct.Mod{Action: syncstruct.ActAppend, Path: []any{"runs"}, X: int64(1)})
	fmt.Println(tree)
	fmt.Println(err)
	// Output:
	// map[runs:map[r1:0]]
	// syncstruct: wrong type: append to a dict (mod append path=[runs] seq=0)
}

// UpdateFrom sends only what changed, as deep in the tree as it changed.
func ExampleUpdateFrom() {
	n, _ := syncstruct.NewNotifier(map[string]any{
		"runs": map[string]any{"r1": map[string]any{"step": 1, "status": "running"}},
	}, syncstruct.NotifierOptions{})
	seq := n.Seq()
	syncstruct.UpdateFrom(n, map[string]any{
		"runs": map[string]any{"r1": map[string]any{"step": 2, "status": "running"}},
	})
	fmt.Println(n.Seq()-seq, "mod")
	// Output:
	// 1 mod
}

// A program that prints mods marshals them as JSON: SiPyCo's mod
// dictionary plus "seq", values JSON lacks written as PYON does.
func ExampleMod_MarshalJSON() {
	b, _ := json.Marshal(&syncstruct.Mod{
		Action: syncstruct.ActSetItem, Path: []any{"runs"}, Key: pyon.Tuple{int64(1), int64(2)}, Value: 0.5, Seq: 7,
	})
	fmt.Println(string(b))
	// Output:
	// {"action":"setitem","path":["runs"],"key":{"__jsonclass__":["tuple",[[1,2]]]},"value":0.5,"seq":7}
}

// A Go dashboard follows an ARTIQ master's schedule (SiPyCo's Python
// Publisher, port 3250): every (re)connection gets the whole schedule.
func ExampleSubscriber_siPyCo() {
	sub, err := syncstruct.NewSubscriber("artiq-master:3250", "schedule", syncstruct.SubscriberOptions{
		Protocol: syncstruct.ProtocolSiPyCo, // or the default, ProtocolAuto
		OnSynced: func(info syncstruct.SyncInfo) { fmt.Println("schedule synced:", info.Reason) },
		OnMod: []func(any, *syncstruct.Mod){func(tree any, m *syncstruct.Mod) {
			// Runs are keyed by RID, an int: a schedule with runs is a
			// pyon.Dict (an empty one, a map[string]any).
			runs := 0
			if d, ok := tree.(pyon.Dict); ok {
				runs = len(d)
			}
			fmt.Println(m.Action, m.Path, runs, "runs scheduled")
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
}
