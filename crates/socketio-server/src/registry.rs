//! What a server's connections share: its options, and its namespaces,
//! static by name or made on first use from a dynamic template.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use socketio_runtime::{read, write};

use crate::adapter::InMemoryAdapter;
use crate::metrics::Counters;
use crate::namespace::NsConfig;
use crate::{Namespace, ServerOptions};

type NamespaceMatcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) struct Registry {
    options: ServerOptions,
    namespaces: RwLock<HashMap<String, Namespace>>,
    dynamic: RwLock<Vec<(NamespaceMatcher, Namespace)>>,
    shutting_down: AtomicBool,
    /// Socket.IO's counts for `Server::metrics`.
    pub(crate) counters: Arc<Counters>,
}

impl Registry {
    pub(crate) fn new(options: ServerOptions) -> Registry {
        Registry {
            options,
            namespaces: RwLock::new(HashMap::new()),
            dynamic: RwLock::new(Vec::new()),
            shutting_down: AtomicBool::new(false),
            counters: Arc::default(),
        }
    }

    /// From now on, connections the server closes end with "server
    /// shutting down".
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Every namespace's adapter leaves the cluster, so other nodes stop
    /// counting this one (Node's `io.close()` closes its adapters after its
    /// sockets).
    pub(crate) fn close_adapters(&self) {
        for ns in read(&self.namespaces).values() {
            ns.adapter().close();
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    fn ns_config(&self) -> NsConfig {
        NsConfig {
            ack_timeout: self.options.ack_timeout,
            recovery: self.options.connection_state_recovery.clone(),
            parser: self.options.parser,
        }
    }

    pub(crate) fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// The namespace `name`, created on first use.
    pub(crate) fn of(&self, name: &str) -> Namespace {
        write(&self.namespaces)
            .entry(name.to_owned())
            .or_insert_with(|| Namespace::new(name, (self.options.adapter)(name), self.ns_config()))
            .clone()
    }

    /// Adds a family of namespaces, the names `matches` accepts; returns the
    /// template each is made from.
    pub(crate) fn of_dynamic(&self, matches: NamespaceMatcher) -> Namespace {
        let template = Namespace::new("", Arc::new(InMemoryAdapter::default()), self.ns_config());
        write(&self.dynamic).push((matches, template.clone()));
        template
    }

    /// A namespace that exists now.
    pub(crate) fn get(&self, name: &str) -> Option<Namespace> {
        read(&self.namespaces).get(name).cloned()
    }

    /// The namespace a client asks to join: one that exists, or one made
    /// now from the first dynamic template whose matcher accepts the name.
    pub(crate) fn resolve(&self, name: &str) -> Option<Namespace> {
        if let Some(ns) = self.get(name) {
            return Some(ns);
        }
        let template = {
            let dynamic = read(&self.dynamic);
            dynamic
                .iter()
                .find(|(m, _)| m(name))
                .map(|(_, t)| t.clone())?
        };
        let mut all = write(&self.namespaces);
        let ns = all
            .entry(name.to_owned())
            .or_insert_with(|| Namespace::child_of(&template, name, (self.options.adapter)(name)));
        Some(ns.clone())
    }
}
