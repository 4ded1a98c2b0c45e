//! Session ids that name the replica holding the session, so that a request arriving at
//! another replica can be forwarded to it (`crate::cluster`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::str::FromStr;

/// Characters of a [`NodeId`].
const NODE_LEN: usize = 8;
/// Characters of the random part of a [`Sid`]: 96 bits.
const RANDOM_LEN: usize = 16;

fn url_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

fn random_chars<const N: usize>() -> [u8; N] {
    // 3 random bytes per 4 characters.
    let bytes: Vec<u8> = (0..N.div_ceil(4) * 3)
        .map(|_| rand::random::<u8>())
        .collect();
    let encoded = URL_SAFE_NO_PAD.encode(bytes);
    let mut out = [b'A'; N];
    out.copy_from_slice(&encoded.as_bytes()[..N]);
    out
}

/// One replica of the server, named at start.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId([u8; NODE_LEN]);

impl NodeId {
    /// A fresh random name.
    #[must_use]
    pub fn random() -> Self {
        Self(random_chars())
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for NodeId {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Self, BadId> {
        let bytes = s.as_bytes();
        if bytes.len() != NODE_LEN || !bytes.iter().copied().all(url_safe) {
            return Err(BadId);
        }
        let mut id = [0; NODE_LEN];
        id.copy_from_slice(bytes);
        Ok(Self(id))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.as_str())
    }
}

/// An Engine.IO session id: the node's name, then 96 random bits, url-safe.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; NODE_LEN + RANDOM_LEN]);

impl Sid {
    /// A new session id on `node`.
    #[must_use]
    pub fn new(node: NodeId) -> Self {
        let mut id = [0; NODE_LEN + RANDOM_LEN];
        id[..NODE_LEN].copy_from_slice(&node.0);
        id[NODE_LEN..].copy_from_slice(&random_chars::<RANDOM_LEN>());
        Self(id)
    }

    /// The replica holding the session.
    #[must_use]
    pub fn node(&self) -> NodeId {
        let mut node = [0; NODE_LEN];
        node.copy_from_slice(&self.0[..NODE_LEN]);
        NodeId(node)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Not a session or node id of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct BadId;

impl FromStr for Sid {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Self, BadId> {
        let bytes = s.as_bytes();
        if bytes.len() != NODE_LEN + RANDOM_LEN || !bytes.iter().copied().all(url_safe) {
            return Err(BadId);
        }
        let mut id = [0; NODE_LEN + RANDOM_LEN];
        id.copy_from_slice(bytes);
        Ok(Self(id))
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sid_names_its_node_and_reads_back() {
        let node = NodeId::random();
        let sid = Sid::new(node);
        assert_eq!(sid.node(), node);
        assert_eq!(sid.as_str().len(), 24);
        assert!(sid.as_str().starts_with(node.as_str()));
        assert_eq!(sid.as_str().parse::<Sid>(), Ok(sid));
        assert_ne!(Sid::new(node), sid, "random");
    }

    #[test]
    fn foreign_ids_are_refused() {
        for bad in [
            "",
            "short",
            "lv_VI97HAXpY6yYWAAAC",
            "abcdefgh/bcdefghijklmnop",
            "é",
        ] {
            assert_eq!(bad.parse::<Sid>(), Err(BadId), "{bad}");
        }
        assert!("abcdefgh".parse::<NodeId>().is_ok());
        assert!("abcdefg".parse::<NodeId>().is_err());
    }
}
