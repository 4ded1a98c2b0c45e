//! A namespace's sockets on this replica and the rooms they are in, in shards so that worker
//! threads broadcasting to different rooms do not wait on one another.

use super::socket::{Socket, SocketId};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, PoisonError, RwLock};

type Members = HashMap<SocketId, Arc<Socket>>;

pub(crate) struct Rooms {
    shards: Vec<RwLock<HashMap<String, Members>>>,
    hasher: RandomState,
    sockets: RwLock<Members>,
}

impl Rooms {
    const SHARDS: usize = 16;

    pub(crate) fn new() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            sockets: RwLock::default(),
        }
    }

    fn shard(&self, room: &str) -> &RwLock<HashMap<String, Members>> {
        let index =
            usize::try_from(self.hasher.hash_one(room) % Self::SHARDS as u64).unwrap_or_default();
        &self.shards[index]
    }

    pub(crate) fn add_socket(&self, socket: &Arc<Socket>) {
        self.sockets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(socket.id(), Arc::clone(socket));
    }

    pub(crate) fn remove_socket(&self, id: SocketId) {
        self.sockets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    pub(crate) fn socket_count(&self) -> usize {
        self.sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Adds `socket` to `room`; `true` if it is the room's first member here.
    pub(crate) fn join(&self, room: &str, socket: &Arc<Socket>) -> bool {
        let mut shard = self
            .shard(room)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let members = shard.entry(room.to_owned()).or_default();
        let first = members.is_empty();
        members.insert(socket.id(), Arc::clone(socket));
        first
    }

    /// Takes `socket` out of `room`; `true` if the room has no member here any more.
    pub(crate) fn leave(&self, room: &str, socket: SocketId) -> bool {
        let mut shard = self
            .shard(room)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(members) = shard.get_mut(room) else {
            return false;
        };
        if members.remove(&socket).is_none() {
            return false;
        }
        if members.is_empty() {
            shard.remove(room);
            return true;
        }
        false
    }

    /// Whether `room` has members here.
    pub(crate) fn has(&self, room: &str) -> bool {
        self.shard(room)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(room)
    }

    /// Rooms with members here.
    pub(crate) fn names(&self) -> Vec<String> {
        self.shards
            .iter()
            .flat_map(|shard| {
                shard
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The sockets a broadcast to `rooms` (every socket when empty) reaches here, each once,
    /// without `except`. Collected before anything is sent: a send can close a slow session,
    /// which takes its socket out of these maps.
    pub(crate) fn targets(&self, rooms: &[String], except: Option<SocketId>) -> Vec<Arc<Socket>> {
        let keep = |socket: &&Arc<Socket>| Some(socket.id()) != except;
        match rooms {
            [] => self
                .sockets
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .filter(keep)
                .cloned()
                .collect(),
            [room] => self
                .shard(room)
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(room)
                .map(|members| members.values().filter(keep).cloned().collect())
                .unwrap_or_default(),
            rooms => {
                let mut found: Members = HashMap::new();
                for room in rooms {
                    if let Some(members) = self
                        .shard(room)
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get(room)
                    {
                        for (id, socket) in members {
                            if Some(*id) != except {
                                found.entry(*id).or_insert_with(|| Arc::clone(socket));
                            }
                        }
                    }
                }
                found.into_values().collect()
            }
        }
    }
}
