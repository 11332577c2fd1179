//! The `axum_app` chat page, written in Rust: `socketio-client` running in
//! the browser (wasm32-unknown-unknown), the DOM through `web-sys`, no JS
//! framework. It talks to the same server and rooms as the official JS
//! client's page at `/`, so the two chat with each other.
//!
//! Build it and serve it (`axum_app` serves `target/wasm-chat/` at
//! `/rust/`):
//!
//! ```sh
//! scripts/wasm-chat.sh                      # cargo for wasm32, then wasm-bindgen --target web
//! cargo run -p socketio-server --features hyper --example axum_app
//! # http://127.0.0.1:3000/rust/?name=ferris&room=lobby  beside  http://127.0.0.1:3000/?room=lobby
//! ```
//!
//! `scripts/wasm-chat.sh --release` builds the size-optimized bundle
//! (profile `wasm-release`, then `wasm-opt -Oz`); `scripts/wasm-size.sh`
//! reports its size beside the official client's.
//!
//! The query string is the JS page's: `?name=..&room=..&transport=polling|websocket`
//! (default: polling, then the upgrade). The client's listeners pass what
//! they hear over a bounded channel to one task (`spawn_local`), which alone
//! touches the DOM.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use socketio_client::{ClientOptions, Socket};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, HtmlButtonElement, HtmlElement, HtmlInputElement};

/// What the page waits for the server's answers: the join's ack.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the client's listeners pass to the page's task. The channel is
/// bounded: a listener waits while the page is this far behind.
const UI_QUEUE: usize = 256;

/// A chat message as the server sends it to the room.
#[derive(Debug, Deserialize)]
struct ChatMessage {
    name: String,
    text: String,
}

/// What happened, for the page's task to show.
#[derive(Debug)]
enum Heard {
    Connected,
    Disconnected(&'static str),
    Chat(ChatMessage),
    System(String),
}

/// The page: its document, its socket, and the room it is in.
struct Page {
    doc: Document,
    socket: Socket,
    room: RefCell<Option<String>>,
}

impl Page {
    fn element<T: JsCast>(&self, id: &str) -> T {
        self.doc
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<T>().ok())
            .unwrap_or_else(|| panic!("the page has no #{id} of the expected kind"))
    }

    fn input(&self, id: &str) -> String {
        self.element::<HtmlInputElement>(id)
            .value()
            .trim()
            .to_owned()
    }

    fn set_text(&self, id: &str, text: &str) {
        self.element::<HtmlElement>(id).set_text_content(Some(text));
    }

    fn set_status(&self, text: &str, on: bool) {
        let status = self.element::<HtmlElement>("status");
        status.set_text_content(Some(text));
        status.set_class_name(if on { "badge on" } else { "badge off" });
    }

    /// Send is enabled while the page is in a room: a message sent outside
    /// one would be lost.
    fn can_send(&self, yes: bool) {
        let button = self
            .doc
            .query_selector("#send button")
            .ok()
            .flatten()
            .and_then(|b| b.dyn_into::<HtmlButtonElement>().ok())
            .expect("the page has a Send button");
        button.set_disabled(!yes);
    }

    /// Appends a line to the log: `name` in bold before `text`, or a
    /// system line.
    fn log(&self, name: Option<&str>, text: &str) {
        let log = self.element::<HtmlElement>("log");
        let li = self.doc.create_element("li").expect("li");
        match name {
            Some(name) => {
                let who = self.doc.create_element("b").expect("b");
                who.set_text_content(Some(name));
                li.append_child(&who).expect("append");
                li.append_child(&self.doc.create_text_node(text))
                    .expect("append");
            }
            None => {
                li.set_class_name("system");
                li.set_text_content(Some(text));
            }
        }
        log.append_child(&li).expect("append");
        log.set_scroll_top(log.scroll_height());
    }

    /// Joins the room in the form; the server's ack carries the room's size.
    fn join(self: &Rc<Self>) {
        let (room, name) = (self.input("room"), self.input("name"));
        if room.is_empty() {
            return;
        }
        let page = self.clone();
        spawn_local(async move {
            let joined = page
                .socket
                .emit_with_ack::<_, (usize,)>("join", &(&room, &name), ACK_TIMEOUT)
                .await;
            match joined {
                Ok((members,)) => {
                    page.set_text("room-label", &format!("#{room} ({members})"));
                    *page.room.borrow_mut() = Some(room);
                    page.can_send(true);
                }
                Err(e) => page.log(None, &format!("could not join #{room}: {e}")),
            }
        });
    }

    /// Says the form's text in the room.
    fn send(&self) {
        let text = self.input("text");
        let Some(room) = self.room.borrow().clone() else {
            return;
        };
        if text.is_empty() {
            return;
        }
        if let Err(e) = self.socket.emit("chat", &(room, self.input("name"), &text)) {
            self.log(None, &format!("not sent: {e}"));
            return;
        }
        self.element::<HtmlInputElement>("text").set_value("");
    }

    fn show(self: &Rc<Self>, heard: Heard) {
        match heard {
            Heard::Connected => {
                self.set_status("connected", true);
                // After a reconnect the server knows nothing of our room.
                self.join();
            }
            Heard::Disconnected(reason) => {
                *self.room.borrow_mut() = None;
                self.can_send(false);
                self.set_status(&format!("disconnected: {reason}"), false);
                self.log(None, &format!("disconnected ({reason}), reconnecting"));
            }
            Heard::Chat(msg) => self.log(Some(&msg.name), &msg.text),
            Heard::System(text) => self.log(None, &text),
        }
    }
}

/// Runs on load: connects to the page's own origin and wires the forms.
#[wasm_bindgen(start)]
pub fn start() {
    let window = web_sys::window().expect("a window");
    let doc = window.document().expect("a document");
    let location = window.location();
    let params = web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default())
        .expect("the query string");
    let transports: &[&str] = match params.get("transport").as_deref() {
        Some("polling") => &["polling"],
        Some("websocket") => &["websocket"],
        _ => &["polling", "websocket"],
    };

    let origin = location.origin().expect("the page's origin");
    let socket = socketio_client::connect(
        &origin,
        ClientOptions::default().transports(transports.iter().copied()),
    );
    let page = Rc::new(Page {
        doc,
        socket,
        room: RefCell::new(None),
    });
    let name = params
        .get("name")
        .unwrap_or_else(|| format!("rustacean-{}", (js_sys_random() * 1000.0) as u32));
    page.element::<HtmlInputElement>("name").set_value(&name);
    page.element::<HtmlInputElement>("room")
        .set_value(&params.get("room").unwrap_or_else(|| "lobby".to_owned()));
    page.set_text("transport", &format!("wasm: {}", transports.join(", ")));

    let (tx, mut heard) = mpsc::channel::<Heard>(UI_QUEUE);
    listen(&page.socket, tx);
    on_submit(&page, "join", |page| page.join());
    on_submit(&page, "send", |page| page.send());
    spawn_local(async move {
        while let Some(h) = heard.next().await {
            page.show(h);
        }
    });
}

/// The client's listeners: each hands what it heard to the page's task.
fn listen(socket: &Socket, tx: mpsc::Sender<Heard>) {
    let t = tx.clone();
    socket.on_connect(move |_| {
        let _ = t.clone().try_send(Heard::Connected);
    });
    let t = tx.clone();
    socket.on_disconnect(move |_, reason| {
        let _ = t.clone().try_send(Heard::Disconnected(reason.as_str()));
    });
    let t = tx.clone();
    socket.on("chat", move |_, msg: ChatMessage, _| {
        let mut t = t.clone();
        async move {
            let _ = t.send(Heard::Chat(msg)).await;
        }
    });
    socket.on("system", move |_, text: String, _| {
        let mut t = tx.clone();
        async move {
            let _ = t.send(Heard::System(text)).await;
        }
    });
}

/// Calls `f` on the form's submit, instead of the browser's navigation.
fn on_submit(page: &Rc<Page>, form: &str, f: fn(&Rc<Page>)) {
    let target = page.element::<HtmlElement>(form);
    let page = page.clone();
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        e.prevent_default();
        f(&page);
    });
    target
        .add_event_listener_with_callback("submit", handler.as_ref().unchecked_ref())
        .expect("a submit listener");
    // The listener lives as long as the page.
    handler.forget();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn js_sys_random() -> f64;
}
