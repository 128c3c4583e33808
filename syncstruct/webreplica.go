package syncstruct

import (
	_ "embed"
	"net/http"
)

// WebReplicaJS is web/replica.js: a plain ES module that keeps a browser
// replica of a notifier from the Publisher's WebSocket JSON messages,
// with the same Apply rules as Go (testdata/replica holds the mod
// sequences both are tested against), and handles the connection:
// subscribe, resume with epoch and seq, heartbeats, jittered reconnection,
// and the states live / reconnecting / offline.
//
//go:embed web/replica.js
var WebReplicaJS []byte

// WebReplicaHandler serves WebReplicaJS as a JavaScript module, e.g.
// mux.Handle("/static/replica.js", syncstruct.WebReplicaHandler).
var WebReplicaHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(WebReplicaJS)
})
