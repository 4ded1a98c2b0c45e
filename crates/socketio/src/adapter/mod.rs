//! How a room spans replicas. Every broadcast is delivered to this replica's sockets first, then
//! handed to the adapter, which sends it to the other replicas; they deliver it to theirs.

pub mod redis;

use crate::engine::Outgoing;

/// Carries broadcasts between replicas.
pub trait Adapter: Send + Sync + 'static {
    /// `room` of namespace `nsp` has its first socket on this replica.
    fn joined(&self, _nsp: &str, _room: &str) {}
    /// `room` of `nsp` has no socket on this replica any more.
    fn left(&self, _nsp: &str, _room: &str) {}
    /// Sends `packet`, broadcast to `rooms` of `nsp` (every socket when empty), to the other
    /// replicas. Must not wait: it is called on the broadcasting task.
    fn publish(&self, _nsp: &str, _rooms: &[String], _packet: &Outgoing) {}
}

/// One replica alone: rooms are this replica's sockets.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalAdapter;

impl Adapter for LocalAdapter {}
