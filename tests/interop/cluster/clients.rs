//! The official socket.io-client clients of the cluster tests, in one Node
//! process (`tests/js/redis_cluster_clients.js`): commands go in as JSON
//! lines, and one task reads what comes out, answers by command id, events
//! by client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

use crate::node::NodePeer;

/// An event a client received: its name and arguments.
pub(crate) type Event = (String, Vec<Value>);

/// How long a command may take.
const COMMAND: Duration = Duration::from_secs(15);

type Answers = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;
type Inboxes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>>;

/// The clients' process, killed when dropped.
pub(crate) struct Clients {
    stdin: tokio::sync::Mutex<ChildStdin>,
    answers: Answers,
    inboxes: Inboxes,
    next_id: AtomicU64,
    _child: Child,
}

/// One client, connected.
pub(crate) struct Client {
    pub(crate) name: String,
    /// Its socket id, as the server it is connected to knows it.
    pub(crate) sid: String,
    events: mpsc::UnboundedReceiver<Event>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Clients {
    pub(crate) fn start() -> Clients {
        let (child, mut lines, stdin) =
            NodePeer::spawn("redis_cluster_clients.js", &[]).into_parts();
        let answers = Answers::default();
        let inboxes = Inboxes::default();
        let (a, i) = (answers.clone(), inboxes.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("redis_cluster_clients.js: {line}");
                    continue;
                };
                if let Some(id) = v["id"].as_u64() {
                    if let Some(tx) = lock(&a).remove(&id) {
                        let _ = tx.send(v);
                    }
                } else if let (Some(name), Some(event)) = (v["name"].as_str(), v["event"].as_str())
                {
                    let args = v["args"].as_array().cloned().unwrap_or_default();
                    if let Some(tx) = lock(&i).get(name) {
                        let _ = tx.send((event.to_owned(), args));
                    }
                }
            }
        });
        Clients {
            stdin: tokio::sync::Mutex::new(stdin),
            answers,
            inboxes,
            next_id: AtomicU64::new(1),
            _child: child,
        }
    }

    /// Sends one command and waits for its answer.
    async fn command(&self, mut cmd: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        cmd["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        lock(&self.answers).insert(id, tx);
        let mut line = cmd.to_string();
        line.push('\n');
        {
            let mut stdin = self.stdin.lock().await;
            stdin.write_all(line.as_bytes()).await.expect("to clients");
            stdin.flush().await.expect("to clients");
        }
        timeout(COMMAND, rx)
            .await
            .unwrap_or_else(|_| panic!("no answer to {cmd}"))
            .expect("the clients' process ended")
    }

    /// Connects client `name` to the server at `url` with `auth`.
    pub(crate) async fn connect(&self, name: &str, url: &str, auth: Value) -> Client {
        let (tx, events) = mpsc::unbounded_channel();
        lock(&self.inboxes).insert(name.to_owned(), tx);
        let answer = self
            .command(json!({ "op": "connect", "name": name, "url": url, "auth": auth }))
            .await;
        let sid = answer["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} did not connect: {answer}"))
            .to_owned();
        Client {
            name: name.to_owned(),
            sid,
            events,
        }
    }

    /// `client` emits `event` with `args`.
    pub(crate) async fn emit(&self, client: &Client, event: &str, args: Value) {
        let cmd = json!({ "op": "emit", "name": client.name, "event": event, "args": args });
        self.command(cmd).await;
    }

    /// `client` emits `event` with `args` and an ack; its first argument
    /// (`null` for none).
    pub(crate) async fn emit_with_ack(&self, client: &Client, event: &str, args: Value) -> Value {
        let cmd = json!({
            "op": "emit", "name": client.name, "event": event, "args": args, "ack": true,
        });
        let answer = self.command(cmd).await;
        assert!(
            answer.get("error").is_none(),
            "{} {event}: {answer}",
            client.name
        );
        answer.get("ack").cloned().unwrap_or(Value::Null)
    }
}

impl Client {
    /// The next event, within `within`.
    pub(crate) async fn next(&mut self, within: Duration) -> Event {
        timeout(within, self.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{} got no event", self.name))
            .expect("the clients' process ended")
    }

    /// The next event other than those named in `skip`.
    pub(crate) async fn next_but(&mut self, skip: &[&str], within: Duration) -> Event {
        loop {
            let e = self.next(within).await;
            if !skip.contains(&e.0.as_str()) {
                return e;
            }
        }
    }
}
