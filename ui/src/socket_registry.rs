//! The socket registry: every pane's open socket, by pane index, so that code outside the
//! panes (the scripted demo, the token form) can reach a region's socket. Each pane's socket
//! hook registers and removes its own.

use crate::socket::Socket;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Shared by the app and its panes.
#[derive(Clone, Default)]
pub struct SocketRegistry(Rc<RefCell<BTreeMap<usize, Socket>>>);

impl PartialEq for SocketRegistry {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl SocketRegistry {
    /// Pane `pane`'s socket is now `socket` (`None`: it closed for good).
    pub fn set(&self, pane: usize, socket: Option<Socket>) {
        let mut map = self.0.borrow_mut();
        match socket {
            Some(s) => map.insert(pane, s),
            None => map.remove(&pane),
        };
    }

    /// Connect every socket again now (the tab's token changed).
    pub fn reconnect_all(&self) {
        let all: Vec<Socket> = self.0.borrow().values().cloned().collect();
        for s in all {
            s.reconnect_now();
        }
    }

    /// Pane `pane`'s socket, if it has one.
    pub fn get(&self, pane: usize) -> Option<Socket> {
        self.0.borrow().get(&pane).cloned()
    }
}
