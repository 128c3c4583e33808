// app.js — the router (the URL hash names the view and its filters), the
// connection indicator and the storage indicator.
import { onConnection, replica } from "./api.js";
import { parseHash, storageView } from "./format.js";
import { RunsView } from "./runs.js";
import { RunView } from "./run.js";
import { CompareView } from "./compare.js";
import { SolversView } from "./solvers.js";
import { JobsView } from "./jobs.js";

const main = document.getElementById("main");
const conn = document.getElementById("conn");
const storage = document.getElementById("storage");
let current = null, currentKey = "";

const LABELS = { live: "live", reconnecting: "reconnecting…", connecting: "connecting…", offline: "offline", idle: "" };

onConnection((state) => {
  conn.dataset.state = state;
  conn.textContent = LABELS[state] ?? state;
  conn.title = state === "live" ? "pushed live from the server" : "the data shown may be stale";
  // Stale data is never shown as live: the page dims and says so.
  document.body.classList.toggle("stale", state === "reconnecting" || state === "offline");
});

// The server's storage state (notifier "server"): shown only when writes
// are refused or failing.
replica("server", (tree) => {
  const v = storageView(tree && tree.storage);
  storage.dataset.state = v.state;
  storage.textContent = v.text;
  storage.title = v.title;
  storage.hidden = v.text === "";
});

function route() {
  const { view, id, params } = parseHash(location.hash);
  const key = `${view}/${id}`;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === view);
  if (current && key === currentKey) { current.update(params); return; }
  if (current) current.destroy();
  currentKey = key;
  main.dataset.view = view;
  if (view === "run") { current = new RunView(main, id, params); document.title = `run ${id} · sigoco`; }
  else if (view === "solvers") { current = new SolversView(main, params); document.title = "solvers · sigoco"; }
  else if (view === "jobs") { current = new JobsView(main, params); document.title = "jobs · sigoco"; }
  else if (view === "compare") { current = new CompareView(main, params); document.title = "compare · sigoco"; }
  else { current = new RunsView(main, params); document.title = "runs · sigoco"; }
}

window.addEventListener("hashchange", route);
route();
