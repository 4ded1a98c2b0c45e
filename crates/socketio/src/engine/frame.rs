//! Engine.IO packets on the wire: what the server sends (encoded once, shared by every
//! recipient of a broadcast) and the long-polling payloads in both directions.
//!
//! Inbound packets are parsed by `engineioxide-core` (socketioxide's transport-free Engine.IO
//! crate); outbound ones are written here, straight into the text of the frame.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use bytestring::ByteString;
use engineioxide_core::{Packet, PacketParseError, ProtocolVersion, Str};
use std::sync::Arc;
use std::time::Instant;

/// The record separator between packets of a long-polling payload.
pub const SEPARATOR: char = '\x1e';

/// One outbound packet: its text frame and, for a Socket.IO packet with binary attachments,
/// the attachments that must follow it with nothing in between. Cloning shares the encoded
/// bytes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The whole Engine.IO packet: `4` and the Socket.IO packet, or `2` (ping), `6` (noop)...
    pub text: ByteString,
    pub attachments: Option<Arc<[Bytes]>>,
    /// When the packet was published, for the fan-out latency histogram; `None` for the
    /// protocol's own packets (pings).
    pub published: Option<Instant>,
}

impl Outgoing {
    /// A protocol packet without a publication time (ping, noop).
    #[must_use]
    pub fn control(text: &'static str) -> Self {
        Self {
            text: ByteString::from_static(text),
            attachments: None,
            published: None,
        }
    }

    /// An Engine.IO `message` carrying `socketio` (a Socket.IO packet, already encoded).
    #[must_use]
    pub fn message(socketio: &str, attachments: Vec<Bytes>) -> Self {
        let mut text = String::with_capacity(socketio.len() + 1);
        text.push('4');
        text.push_str(socketio);
        Self::from_text(text, attachments)
    }

    /// A lone binary packet (Engine.IO carries raw binary messages besides Socket.IO's
    /// attachments).
    #[must_use]
    pub fn binary(data: Bytes) -> Self {
        Self {
            text: ByteString::new(),
            attachments: Some(Arc::from([data])),
            published: Some(Instant::now()),
        }
    }

    /// A packet whose whole text (`4` prefix included) was written by the caller.
    #[must_use]
    pub fn from_text(text: String, attachments: Vec<Bytes>) -> Self {
        Self {
            text: ByteString::from(text),
            attachments: (!attachments.is_empty()).then(|| attachments.into()),
            published: Some(Instant::now()),
        }
    }

    /// Bytes this packet takes in a long-polling payload (separators excluded).
    fn polling_len(&self) -> usize {
        self.text.len()
            + self.attachments.as_deref().map_or(0, |bins| {
                bins.iter()
                    .map(|bin| 1 + base64::encoded_len(bin.len(), true).unwrap_or(usize::MAX / 4))
                    .sum()
            })
    }
}

pub const PING: &str = "2";
pub const PONG_PROBE: &str = "3probe";
pub const NOOP: &str = "6";
pub const CLOSE: &str = "1";

/// Appends `packets` to a long-polling payload: text as is, binary as `b` and base64, each
/// separated by `\x1e`. (`maxPayload` bounds what clients send; the server's answers are
/// bounded by the number of packets a poll takes.)
pub fn encode_payload(out: &mut String, packets: &[Outgoing]) {
    out.reserve(packets.iter().map(|packet| packet.polling_len() + 1).sum());
    for packet in packets {
        if !packet.text.is_empty() {
            if !out.is_empty() {
                out.push(SEPARATOR);
            }
            out.push_str(&packet.text);
        }
        for bin in packet.attachments.as_deref().unwrap_or_default() {
            if !out.is_empty() {
                out.push(SEPARATOR);
            }
            out.push('b');
            STANDARD.encode_string(bin, out);
        }
    }
}

/// Why an inbound payload was refused (the session is closed for it).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the payload is not UTF-8")]
    NotUtf8,
    #[error("the payload is empty")]
    Empty,
    #[error("invalid packet: {0}")]
    Packet(#[from] PacketParseError),
}

/// The packets of a long-polling request body.
pub fn decode_payload(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    text.split(SEPARATOR).map(decode_text).collect()
}

/// One Engine.IO packet from its text (a WebSocket text frame, or one part of a payload).
pub fn decode_text(text: &str) -> Result<Packet, DecodeError> {
    Ok(Packet::parse(
        ProtocolVersion::V4,
        Str::copy_from_slice(text),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_join_packets_with_the_record_separator_and_binary_in_base64() {
        let packets = [
            Outgoing::message("hello", vec![]),
            Outgoing::control(PING),
            Outgoing::message(
                "51-[\"x\",{\"_placeholder\":true,\"num\":0}]",
                vec![Bytes::from_static(&[1, 2, 3, 4])],
            ),
            Outgoing::binary(Bytes::from_static(&[5])),
        ];
        let mut out = String::new();
        encode_payload(&mut out, &packets);
        assert_eq!(
            out,
            "4hello\x1e2\x1e451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==\x1ebBQ=="
        );
    }

    #[test]
    fn inbound_payloads_decode_every_packet_type_and_refuse_garbage() {
        let packets = decode_payload(b"4hello\x1e3\x1ebAQIDBA==\x1e1").unwrap();
        assert_eq!(
            packets,
            [
                Packet::Message("hello".into()),
                Packet::Pong,
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Close
            ]
        );
        assert!(decode_payload(b"abc").is_err());
        assert!(decode_payload(b"").is_err());
        assert!(decode_payload(b"4ok\x1e").is_err(), "an empty packet");
        assert!(decode_payload(&[0x34, 0xff]).is_err());
        assert_eq!(decode_text("2probe").unwrap(), Packet::PingUpgrade);
    }
}
